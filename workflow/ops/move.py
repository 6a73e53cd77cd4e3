"""A move (start, report, approve, return, block, unblock): judged and written in one
transaction.

The transaction begins by taking the plan's lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
the plan row ``FOR UPDATE``), then reads the task, the person's membership and the open
dependencies, lets the state machine judge, and writes: the task's new state, its history
event, the dependants it releases, its group's roll-up and any escalation it resolves or
raises. Loads, upgrades and membership changes take the same lock, so none of them can slip
between judging and writing: a move sees the plan whole, before or after them.

``move_many`` is the same move in a loop, for every task a pattern names, in one transaction:
each judged as the moves before it left the plan, all written or none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Row

from workflow import clock, logs
from workflow.errors import MoveRefusedError, UsageError
from workflow.i18n import _
from workflow.ops import escalate, members
from workflow.rules import lifecycle
from workflow.rules.escalation import Action, cause_of, chain_for
from workflow.rules.kinds import EventKind, Kind, State, Trigger, move_word, state_word
from workflow.rules.leads import co_leads
from workflow.rules.machine import Move, fire
from workflow.store import lookup
from workflow.store.audit import Appender
from workflow.store.db import Store
from workflow.store.models import DependencyRow, TaskRow
from workflow.store.tasks import TaskTable, extensions
from workflow.store.timeorder import refuse_backwards
from workflow.text import control_char, describe, nfc

TASK, DEP = TaskRow.__table__, DependencyRow.__table__
log = logs.get_logger("workflow")

_OPEN_DEPENDENCIES = (
    select(TASK.c.task_id, TASK.c.state)
    .join(DEP, (DEP.c.plan_id == TASK.c.plan_id) & (DEP.c.depends_on == TASK.c.task_id))
    .where(DEP.c.plan_id == bindparam("plan_id"), DEP.c.task_id == bindparam("task_id"),
           TASK.c.state != State.APPROVED)
    .order_by(TASK.c.position))
_FIRST_INSTANCE = (select(TASK.c.task_id)
                   .where(TASK.c.plan_id == bindparam("plan_id"),
                          TASK.c.parent == bindparam("task_id"))
                   .order_by(TASK.c.pk).limit(1))


@dataclass
class MoveResult:
    plan: str
    task: str
    trigger: str
    from_state: str
    to_state: str
    actor: str
    events: list[dict[str, Any]]
    escalations: list[Action]

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "task": self.task, "event": self.trigger,
                "from": self.from_state, "to": self.to_state, "actor": self.actor,
                "seq": self.events[0]["seq"], "escalations": [a.as_dict() for a in
                                                              self.escalations]}


@dataclass
class Refusal:
    task: str
    state: str
    reason: str


@dataclass
class Batch:
    """What a pattern's moves did (or, ``dry_run``, would do), task by task: all moved, or
    none."""

    plan: str
    trigger: str
    actor: str
    dry_run: bool
    outcomes: list[Any] = field(default_factory=list)  # MoveResult (or Extension) | Refusal

    @property
    def refused(self) -> list[Refusal]:
        return [o for o in self.outcomes if isinstance(o, Refusal)]

    @property
    def moved(self) -> list[Any]:
        return [o for o in self.outcomes if not isinstance(o, Refusal)]

    def rows(self) -> list[dict[str, Any]]:
        """One move result per task, in the document's order; a dry run's have no ``seq``
        (nothing was written) and a refusal has ``to`` null and ``refused``, the reason."""
        return [self._row(o) for o in self.outcomes]

    def _row(self, o: Any) -> dict[str, Any]:
        if isinstance(o, Refusal):
            return {"plan": self.plan, "task": o.task, "event": self.trigger, "from": o.state,
                    "to": None, "actor": self.actor, "seq": None, "escalations": [],
                    "dry_run": self.dry_run, "refused": o.reason}
        row = dict(o.as_dict(), dry_run=self.dry_run)
        return dict(row, seq=None) if self.dry_run else row

    def error(self) -> MoveRefusedError:
        refused = self.refused
        return MoveRefusedError(
            _("{refused} of {tasks} tasks cannot {move}; {done}").format(
                refused=len(refused), tasks=len(self.outcomes), move=move_word(self.trigger),
                done=_("nothing was extended") if self.trigger == EventKind.EXTEND
                else _("nothing was moved")) + (_(" (a dry run)") if self.dry_run else ""),
            details=[] if self.dry_run else [f"{r.task} ({state_word(r.state)}): {r.reason}"
                                             for r in refused])


def move(store: Store, *, plan_id: str | None, task: str, trigger: str, actor: str | None,
         note: str | None, now: datetime) -> MoveResult:
    if not actor:
        raise UsageError(_("say who {move}s: --as AGENCY (or WORKFLOW_ACTOR)").format(
            move=move_word(trigger)))
    note = clean_note(note)
    with store.write() as conn:
        plan = lookup.select_plan(conn, plan_id, lock=True)
        row = lookup.find_task(conn, plan, task)
        who = lookup.find_agency(conn, plan, actor)
        person = store.person(conn)
        members.check(conn, plan, person, who)
        m = judge(conn, plan, row, trigger, who, note, now)
        result = write_move(conn, plan, row, m, m.state, now, person)
    log.info("task_moved", plan=plan.id, task=row.task_id, trigger=trigger, src=row.state,
             dest=result.to_state, actor=who)
    # No delivery here: a move never waits for a receiver. Its escalation is in the outbox
    # now; the sweep (escalate, watch) delivers it at its next pass.
    return result


def move_many(store: Store, *, plan_id: str | None, pattern: str, trigger: str,
              actor: str | None, note: str | None, now: datetime,
              dry_run: bool = False) -> Batch:
    """Every task ``pattern`` names (``lookup.match_tasks``; one task when it has no ``*``)
    moves in one transaction, or none does. Each is judged and written as ``move`` does, on the
    plan as the moves before it left it (approving one may let the next start). When any is
    refused, MoveRefusedError lists each refusal and nothing is written; a dry run is judged
    and written alike, then rolled back."""
    if not actor:
        raise UsageError(_("say who {move}s: --as AGENCY (or WORKFLOW_ACTOR)").format(
            move=move_word(trigger)))
    note = clean_note(note)

    def one(conn: Connection, plan: Row, row: Row, who: str, person: str) -> MoveResult:
        m = judge(conn, plan, row, trigger, who, note, now)
        return write_move(conn, plan, row, m, m.state, now, person)

    batch = each_match(store, plan_id=plan_id, pattern=pattern, trigger=trigger, actor=actor,
                       dry_run=dry_run, act=one)
    for r in batch.moved if not dry_run else []:
        log.info("task_moved", plan=r.plan, task=r.task, trigger=trigger, src=r.from_state,
                 dest=r.to_state, actor=r.actor)
    return batch


def each_match(store: Store, *, plan_id: str | None, pattern: str, trigger: str, actor: str,
               dry_run: bool, act: Callable[[Connection, Row, Row, str, str], Any]) -> Batch:
    """``act(conn, plan, row, agency, person)`` for every task ``pattern`` names, in one
    transaction: all written, or none (each refusal listed). A TASK without ``*`` is one task,
    and its refusal is its own error. Moves and extensions share it."""
    with store.write() as conn:
        plan = lookup.select_plan(conn, plan_id, lock=True)
        ids = [r.task_id for r in (lookup.match_tasks(conn, plan, pattern) if "*" in pattern
                                   else [lookup.find_task(conn, plan, pattern)])]
        who = lookup.find_agency(conn, plan, actor)
        person = store.person(conn)
        members.check(conn, plan, person, who)
        batch = Batch(plan.id, trigger, who, dry_run)
        savepoint = conn.begin_nested()
        for task_id in ids:
            row = lookup.find_task(conn, plan, task_id)  # as the moves before it left it
            try:
                batch.outcomes.append(act(conn, plan, row, who, person))
            except MoveRefusedError as err:
                if "*" not in pattern and not dry_run:
                    raise
                batch.outcomes.append(Refusal(task_id, row.state, str(err)))
                continue
            plan = lookup.select_plan(conn, plan.id)  # the history's new head
        (savepoint.rollback if batch.refused or dry_run else savepoint.commit)()
    if batch.refused and not dry_run:
        raise batch.error()
    return batch


def clean_note(note: str | None) -> str | None:
    """A note is text: newlines and tabs, but no control character (an ESC sequence in a
    note would rewrite the terminal of whoever reads the history)."""
    note = nfc(note).strip() if note else None
    bad = control_char(note) if note else None
    if bad is not None:
        raise MoveRefusedError(_("the note contains the control character {char}; a note is "
                                 "text, with newlines and tabs but no other control "
                                 "characters: remove it").format(char=describe(bad)))
    return note


def judge(conn: Connection, plan: Row, row: Row, trigger: str, actor: str,
          note: str | None, now: datetime) -> Move:
    """The move as the machine sees it, fired: its ``state`` is the new state, or it raises
    MoveRefusedError saying which rule refused it."""
    if row.kind == Kind.GROUP:
        _refuse_group(conn, plan, row, trigger)
    open_deps = conn.execute(_OPEN_DEPENDENCIES, {"plan_id": plan.id, "task_id": row.task_id}
                             ).all() if trigger == Trigger.START else []
    m = Move(task=row.task_id, state=row.state, trigger=trigger, actor=actor, lead=row.lead,
             co_leads=tuple(co_leads(row)), support=tuple(json.loads(row.support)),
             approver=row.approver,
             coordinator=plan.coordinator, issuer=plan.issuer, note=note,
             blocked_from=row.blocked_from, open_dependencies=[tuple(d) for d in open_deps],
             start=row.start, today=clock.today(now, plan.timezone))
    fire(m)
    return m


def write_move(conn: Connection, plan: Row, row: Row, m: Move, new_state: str, now: datetime,
               person: str) -> MoveResult:
    """Writes a judged move in the caller's transaction. The task is updated only at the
    version it was judged at: a task moved meanwhile is a conflict (exit 6), nothing written."""
    now_u = clock.to_utc(now)
    events = Appender(conn, plan.id, person, head=plan)
    refuse_backwards(conn, plan, row.task_id, now, f"{m.trigger} {row.task_id}")
    task = lifecycle.Task(row._mapping)
    extended = (extensions(conn, plan.id, row.task_id).get(row.task_id, [])
                if m.trigger == Trigger.APPROVE and row.due != row.original_due else ())
    fixed = lifecycle.apply_move(TaskTable(conn, plan.id, doing=m.trigger), task, m.trigger,
                                 m.actor, new_state, now_u, lookup.plan_settings(conn, plan),
                                 extended)
    event = events.add(event=m.trigger, at=now, task_id=row.task_id, from_state=row.state,
                       to_state=new_state, actor=m.actor, note=m.note)
    record_fixed(events, fixed, now, m.actor)
    actions = escalate.resolve_open(conn, events, task, now,
                                    f"resolved by {m.trigger} from {m.actor}")
    if m.trigger == Trigger.BLOCK:
        chain = chain_for(task, plan)
        cause = cause_of(task, chain, now_u)
        actions += escalate.raise_escalation(
            conn, events, task, chain, cause,
            lifecycle.task_clocks(task.get("clock"), task.due, plan), now)
    events.flush()
    return MoveResult(plan.id, row.task_id, m.trigger, row.state, new_state, m.actor,
                      [event], actions)


def record_fixed(events: Appender, fixed: list[lifecycle.Task], now: datetime,
                 actor: str | None) -> None:
    """A ``due_fixed`` event for each deadline an approval fixed, so the history (and the
    as-of views) say when it got its date."""
    for t in fixed:
        events.add(event=EventKind.DUE_FIXED, at=now, task_id=t.task_id, from_state=t.state,
                   to_state=t.state, actor=actor,
                   note=f"due {t.due.isoformat()}: {t.due_within} after {t.due_after} "
                        "was approved",
                   data={"due": t.due.isoformat(), "after": t.due_after,
                         "within": t.due_within})


def _refuse_group(conn: Connection, plan: Row, row: Row, trigger: str) -> None:
    first = conn.execute(_FIRST_INSTANCE, {"plan_id": plan.id,
                                           "task_id": row.task_id}).scalar_one_or_none()
    said = {"task": row.task_id, "move": trigger, "first": first}
    raise MoveRefusedError((
        (_("{task} recurs: move its instances ({task}/...), e.g. workflow {move} {first}; "
           "list them with workflow tasks '{task}/*'") if first else
         _("{task} recurs: move its instances ({task}/...); list them with workflow tasks "
           "'{task}/*'")) if row.rule else
        (_("{task} is fanned out over units: move its instances ({task}/...), e.g. workflow "
           "{move} {first}; list them with workflow tasks '{task}/*'") if first else
         _("{task} is fanned out over units: move its instances ({task}/...); list them with "
           "workflow tasks '{task}/*'"))).format(**said))
