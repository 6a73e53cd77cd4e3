"""Extending a deadline (gia hạn): ``workflow extend TASK --to DATE --note REASON --as AGENCY``.

One transaction, as a move: the plan's lock, the task, the person's membership, the rules
(``workflow.rules.extension.judge``), then the task's new due and the clocks that follow it
(``lifecycle.extended``), the ``extend`` event (old and new due, whether it came in time) and
the task's open escalation rechecked (an overdue one ends when the new day is still ahead).
A TASK with ``*`` extends every match in one transaction, or none (``move.each_match``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Connection, Row

from workflow import logs
from workflow.errors import UsageError
from workflow.i18n import _
from workflow.ops import escalate
from workflow.ops.move import Batch, clean_note, each_match
from workflow.plan.dates import DateParseError, parse_deadline
from workflow.rules import extension, lifecycle
from workflow.rules.escalation import Action
from workflow.rules.kinds import EventKind
from workflow.store import lookup
from workflow.store.audit import Appender
from workflow.store.db import Store
from workflow.store.tasks import TaskTable, extensions
from workflow.store.timeorder import refuse_backwards
from workflow.text import nfc

log = logs.get_logger("workflow")


@dataclass
class Extension:
    plan: str
    task: str
    state: str
    actor: str
    old_due: date
    new_due: date
    original_due: date | None
    in_time: bool  # granted before the due day it replaces ended: counts for "on time"
    seq: int
    escalations: list[Action]

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "task": self.task, "event": EventKind.EXTEND.value,
                "from": self.state, "to": self.state, "actor": self.actor,
                "old_due": self.old_due.isoformat(), "new_due": self.new_due.isoformat(),
                "original_due": self.original_due.isoformat() if self.original_due else None,
                "in_time": self.in_time, "seq": self.seq,
                "escalations": [a.as_dict() for a in self.escalations]}


def read_day(text: str) -> date:
    """``--to``: one day, as ISO, d/m/yyyy or a plan's phrase naming one ("trước ngày 1/7/2024")."""
    try:
        deadline = parse_deadline(nfc(text))
    except DateParseError:
        deadline = None
    if deadline is None or deadline.due is None or deadline.recurrence is not None:
        raise UsageError(_("--to {value}: name one day, e.g. 2024-09-30, 30/9/2024 or "
                           "\"trước ngày 1/10/2024\"").format(value=text))
    return deadline.due


def extend(store: Store, *, plan_id: str | None, pattern: str, to: str, actor: str | None,
           note: str | None, now: datetime, dry_run: bool = False) -> Batch:
    """Extends the task ``pattern`` names (or every match of a pattern with ``*``) to ``to``;
    MoveRefusedError (exit 4, nothing written) when a rule refuses it."""
    if not actor:
        raise UsageError(_("say who extends: --as AGENCY (or WORKFLOW_ACTOR)"))
    new_due = read_day(to)
    note = clean_note(note)

    def one(conn: Connection, plan: Row, row: Row, who: str, person: str) -> Extension:
        extension.judge(task=row.task_id, state=row.state, kind=row.kind, due=row.due,
                        new_due=new_due, actor=who, coordinator=plan.coordinator,
                        issuer=plan.issuer, note=note)
        return write_extension(conn, plan, row, who, new_due, note, now, person)

    batch = each_match(store, plan_id=plan_id, pattern=pattern, trigger=EventKind.EXTEND,
                       actor=actor, dry_run=dry_run, act=one)
    for r in batch.moved if not dry_run else []:
        log.info("task_extended", plan=r.plan, task=r.task, old=str(r.old_due),
                 new=str(r.new_due), in_time=r.in_time, actor=r.actor)
    return batch


def write_extension(conn: Connection, plan: Row, row: Row, who: str, new_due: date,
                    note: str | None, now: datetime, person: str) -> Extension:
    """Writes a judged extension in the caller's transaction."""
    refuse_backwards(conn, plan, row.task_id, now, f"extend {row.task_id}")
    events = Appender(conn, plan.id, person, head=plan)
    earlier = extensions(conn, plan.id, row.task_id).get(row.task_id, [])
    rated = extension.rated_due(row.original_due or row.due, earlier, plan.timezone)
    in_time = rated is not None and extension.in_time(now, rated, plan.timezone)
    task = lifecycle.Task(row._mapping)
    event = events.add(event=EventKind.EXTEND, at=now, task_id=row.task_id,
                       from_state=row.state, to_state=row.state, actor=who, note=note,
                       data={"old_due": row.due.isoformat(), "new_due": new_due.isoformat(),
                             "in_time": in_time})
    # The event first: on PostgreSQL a person's role changes a due day only right after its
    # own extend event (revision 0007's guard).
    events.flush()
    TaskTable(conn, plan.id, doing="extension").change(
        task, lifecycle.extended(task, new_due, lookup.plan_settings(conn, plan)))
    actions = escalate.recheck_task(conn, events, plan, row.pk, now)
    events.flush()
    return Extension(plan.id, row.task_id, row.state, who, row.due, new_due, task.original_due,
                     in_time, event["seq"], actions)
