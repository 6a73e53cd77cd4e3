"""The operations the CLI calls. Each write is one database transaction.

A move reads the task, lets the state machine judge it, then writes in a second, locking
transaction only if the task's version is still the one it judged: otherwise nothing is
written and the caller gets a conflict (exit 6). The task's new state, its history event and
any escalation raised or resolved by the move commit together or not at all.
"""

from __future__ import annotations

import difflib
import json
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Row

from workflow import bulk, clock, delivery, escalation, logs, members, transport
from workflow.audit import Appender, loaded_at, refuse_backwards
from workflow.errors import ConflictError, MoveRefusedError, NotFoundError, UsageError
from workflow.machine import Move, fire
from workflow.models import PLAN_ROW, AgencyRow, DependencyRow, PlanRow, TaskRow, UnitRow
from workflow.names import cached_index, numbering
from workflow.store import Store
from workflow.text import control_char, describe

if TYPE_CHECKING:
    from workflow.definitions import Plan

log = logs.get_logger("workflow")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
PLAN, TASK, AGENCY, DEP, UNIT = (PlanRow.__table__, TaskRow.__table__, AgencyRow.__table__,
                                 DependencyRow.__table__, UnitRow.__table__)


# --------------------------------------------------------------------------- lookups


def select_plan(conn: Connection, plan_id: str | None) -> Row:
    if plan_id:
        row = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == nfc(plan_id.strip()))).one_or_none()
        if row is None:
            known = conn.execute(select(PLAN.c.id).order_by(PLAN.c.id)).scalars().all()
            raise NotFoundError(f"no plan {plan_id!r}; loaded plans: "
                                f"{', '.join(known) or 'none (workflow load FILE)'}")
        return row
    rows = conn.execute(select(*PLAN_ROW).order_by(PLAN.c.id).limit(2)).all()
    if not rows:
        raise NotFoundError("no plan is loaded; load one first: workflow load FILE")
    if len(rows) > 1:
        known = conn.execute(select(PLAN.c.id).order_by(PLAN.c.id)).scalars().all()
        raise UsageError(f"several plans are loaded ({', '.join(known)}); choose one with "
                         "--plan ID or WORKFLOW_PLAN")
    return rows[0]


def find_task(conn: Connection, plan: Row, ref: str) -> Row:
    """A task by id (in any case), or by the document's numbering (``ref``: "1", "1." and "1)"
    alike) when that names one task; ``REF/UNIT`` is the instance for UNIT of the task ``REF``
    numbers (``1/phu-quoc``)."""
    ref = nfc(ref.strip())
    row = _task_by_id(conn, plan, ref) or _task_by_ref(conn, plan, ref)
    if row is None and "/" in ref:
        numbered, unit = ref.rsplit("/", 1)
        group = _task_by_ref(conn, plan, numbered)
        if group is not None:
            row = _task_by_id(conn, plan, f"{group.task_id}/{unit.strip()}")
    if row is not None:
        return row
    ids = conn.execute(select(TASK.c.task_id).where(TASK.c.plan_id == plan.id)
                       .limit(20000)).scalars().all()
    close = difflib.get_close_matches(ref.lower(), ids, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; list them with workflow tasks"
    raise NotFoundError(f"no task {ref!r} in plan {plan.id}{hint}")


def _task_by_id(conn: Connection, plan: Row, task_id: str) -> Row | None:
    rows = {r.task_id: r for r in conn.execute(select(TASK).where(  # ids are lower case
        TASK.c.plan_id == plan.id, TASK.c.task_id.in_({task_id, task_id.lower()})))}
    return rows.get(task_id) or rows.get(task_id.lower())


def _task_by_ref(conn: Connection, plan: Row, ref: str) -> Row | None:
    """The task the document numbers ``ref`` (its group, not its instances, which share the
    ref), or None; several tasks numbered alike are refused, naming them."""
    rows = conn.execute(select(TASK).where(
        TASK.c.plan_id == plan.id, TASK.c.ref.in_(numbering(ref)),
        TASK.c.kind != "instance").order_by(TASK.c.position).limit(6)).all()
    if len(rows) > 1:
        shown = ", ".join(r.task_id for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise UsageError(f"{ref!r} numbers several tasks of plan {plan.id} ({shown}); "
                         "give the task id")
    return rows[0] if rows else None


def find_agency(conn: Connection, plan: Row, ref: str) -> str:
    """An agency by id, name or alias, written as people write them (workflow.names)."""
    exact = conn.execute(select(AGENCY.c.id).where(  # the usual case: the id as it is
        AGENCY.c.plan_id == plan.id, AGENCY.c.id == ref)).scalar_one_or_none()
    if exact is not None:
        return exact
    index = cached_index((plan.id, plan.digest), lambda: (  # agencies change with the digest
        (r.id, r.name, json.loads(r.aliases)) for r in conn.execute(
            select(AGENCY).where(AGENCY.c.plan_id == plan.id).order_by(AGENCY.c.id))))
    return index.resolve(ref, f"plan {plan.id}")


# --------------------------------------------------------------------------- timing


def stall_at(state: str, open_deps: int, start, moved: datetime, plan: Row) -> datetime | None:
    """When the task stalls if nothing moves it; None while it cannot stall (waiting, done)."""
    if state not in ("assigned", "in_progress", "reported"):
        return None
    clock_from = moved
    if state == "assigned":
        if open_deps:
            return None  # waiting on dependencies: the clock starts when they are approved
        if start is not None:
            clock_from = max(clock_from, clock.start_of_day(start, plan.timezone))
    return clock_from + timedelta(seconds=plan.stall_after)


# --------------------------------------------------------------------------- loading


@dataclass
class LoadResult:
    plan: str
    status: str  # created | unchanged | upgraded
    tasks: int
    changes: dict[str, list[str]] = field(default_factory=dict)


def load_plan(store: Store, plan: Plan, *, now: datetime, actor: str | None = None,
              upgrade: bool = False) -> LoadResult:
    from workflow import expand, recurrence  # loading only: moves need neither
    now_u = clock.to_utc(now)
    with store.write() as conn:
        existing = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)).one_or_none()
        if existing is not None:
            if existing.digest == plan.digest:
                return LoadResult(plan.id, "unchanged", len(plan.tasks))
            if not upgrade:
                raise ConflictError(
                    f"plan {plan.id} is already loaded from a different definition (stored "
                    f"{existing.digest[:12]}, file {plan.digest[:12]}); nothing was written. "
                    f"To apply the changes: workflow load {plan.source} --upgrade")
            from workflow.upgrade import upgrade_plan  # only this rare path needs it
            return upgrade_plan(conn, store, existing, plan, now=now, actor=actor)
        conn.execute(PLAN.insert().values(**plan_columns(plan), loaded_at=now_u,
                                          head_seq=0, head_hash=""))
        insert_agencies(conn, plan)
        row = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)).one()
        count = 0
        for batch in expand.batches(expand.task_rows(plan, row, now_u)):
            bulk.insert(conn, TASK, batch)
            count += len(batch)
        for batch in expand.batches(expand.dependency_rows(plan)):
            bulk.insert(conn, DEP, batch)
        if plan.units:
            conn.execute(UNIT.insert(), expand.unit_rows(plan))
        events = Appender(conn, plan.id, store.person(conn))
        events.add(event="load", at=now, actor=actor,
                   note=f"loaded {plan.source} ({len(plan.tasks)} tasks, {count} rows)",
                   data={"digest": plan.digest, "source": plan.source,
                         "tasks": len(plan.tasks), "definition": plan.canonical()})
        recurrence.create_due(conn, events, row, now)
        events.flush()
    log.info("plan_loaded", plan=plan.id, tasks=len(plan.tasks), digest=plan.digest[:12])
    return LoadResult(plan.id, "created", len(plan.tasks))


def plan_columns(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id, "title": plan.title, "issuer": plan.issuer,
        "coordinator": plan.coordinator, "timezone": plan.timezone,
        "stall_after": int(plan.stall_after.total_seconds()),
        "step_after": int(plan.step_after.total_seconds()), "digest": plan.digest,
        # Only the settings no column holds. The whole canonical definition is in the load and
        # upgrade events; kept here it made every update of this row rewrite megabytes.
        "definition": json.dumps({"notify": plan.notify} if plan.notify else {},
                                 ensure_ascii=False, sort_keys=True),
        "source": plan.source,
    }


def insert_agencies(conn: Connection, plan: Plan) -> None:
    conn.execute(AGENCY.insert(), [
        {"plan_id": plan.id, "id": a.id, "name": a.name,
         "aliases": json.dumps(list(a.aliases), ensure_ascii=False)}
        for a in plan.agencies.values()])


# --------------------------------------------------------------------------- moves


@dataclass
class MoveResult:
    plan: str
    task: str
    trigger: str
    from_state: str
    to_state: str
    actor: str
    events: list[dict[str, Any]]
    escalations: list[escalation.Action]


def move(store: Store, *, plan_id: str | None, task: str, trigger: str, actor: str | None,
         note: str | None, now: datetime) -> MoveResult:
    if not actor:
        raise UsageError(f"say who {trigger}s: --as AGENCY (or WORKFLOW_ACTOR)")
    note = _note(note)
    with store.read() as conn:
        plan = select_plan(conn, plan_id)
        row = find_task(conn, plan, task)
        who = find_agency(conn, plan, actor)
        members.check(conn, plan, store.person(conn), who)
        if row.kind == "group":
            _refuse_group(conn, plan, row, trigger)
        open_deps = conn.execute(
            select(TASK.c.task_id, TASK.c.state)
            .join(DEP, (DEP.c.plan_id == TASK.c.plan_id) & (DEP.c.depends_on == TASK.c.task_id))
            .where(DEP.c.plan_id == plan.id, DEP.c.task_id == row.task_id,
                   TASK.c.state != "approved")
            .order_by(TASK.c.position)).all() if trigger == "start" else []
    m = Move(task=row.task_id, state=row.state, trigger=trigger, actor=who, lead=row.lead,
             support=tuple(json.loads(row.support)), approver=row.approver,
             coordinator=plan.coordinator, issuer=plan.issuer, note=note,
             blocked_from=row.blocked_from, open_dependencies=[tuple(d) for d in open_deps],
             start=row.start, today=clock.today(now, plan.timezone))
    new_state = fire(m)
    return _commit_move(store, plan, row, m, new_state, now)


def _note(note: str | None) -> str | None:
    """A note is text: newlines and tabs, but no control character (an ESC sequence in a
    note would rewrite the terminal of whoever reads the history)."""
    note = nfc(note).strip() if note else None
    bad = control_char(note) if note else None
    if bad is not None:
        raise MoveRefusedError(f"the note contains the control character {describe(bad)}; a "
                               "note is text, with newlines and tabs but no other control "
                               "characters: remove it")
    return note


def _commit_move(store: Store, plan: Row, row: Row, m: Move, new_state: str,
                 now: datetime) -> MoveResult:
    now_u = clock.to_utc(now)
    values: dict[str, Any] = {"state": new_state, "version": row.version + 1,
                              "last_move_at": now_u,
                              "stall_at": stall_at(new_state, row.open_deps, row.start, now_u,
                                                   plan)}
    if m.trigger == "block":
        values.update(blocked_from=row.state, blocked_by=m.actor)
    elif m.trigger == "unblock":
        values.update(blocked_from=None, blocked_by=None)
    elif m.trigger == "report":
        values["reported_at"] = now_u
    elif m.trigger == "approve":
        due_end = clock.end_of_day(row.due, plan.timezone) if row.due else None
        values.update(approved_at=now_u, overdue_at=None,
                      on_time=due_end is None or (row.reported_at or now_u) < due_end)
    with store.write() as conn:
        events = Appender(conn, plan.id, store.person(conn))
        refuse_backwards(conn, plan, row.task_id, now, f"{m.trigger} {row.task_id}")
        done = conn.execute(update(TASK).where(TASK.c.pk == row.pk,
                                               TASK.c.version == row.version).values(**values))
        if done.rowcount != 1:
            _raise_changed(conn, row, m)
        event = events.add(event=m.trigger, at=now, task_id=row.task_id, from_state=row.state,
                           to_state=new_state, actor=m.actor, note=m.note)
        moved = conn.execute(select(TASK).where(TASK.c.pk == row.pk)).one()
        if moved.open_deps != row.open_deps:  # an approval elsewhere released it meanwhile
            conn.execute(update(TASK).where(TASK.c.pk == row.pk).values(stall_at=stall_at(
                new_state, moved.open_deps, row.start, now_u, plan)))
            moved = conn.execute(select(TASK).where(TASK.c.pk == row.pk)).one()
        actions = escalation.resolve_open(conn, events, moved, now,
                                          f"resolved by {m.trigger} from {m.actor}")
        if m.trigger == "block":
            chain = escalation.escalation_chain(moved.lead, moved.approver, plan.coordinator,
                                                plan.issuer)
            cause = escalation.cause_of(moved, chain, now_u)
            actions += escalation.raise_escalation(conn, events, moved, chain, cause,
                                                   timedelta(seconds=plan.step_after), now)
        if m.trigger == "approve":
            _release_dependents(conn, plan, row.task_id, now_u)
        if row.parent is not None:
            _roll_up(conn, plan, row.parent, now_u)
        events.flush()
    log.info("task_moved", plan=plan.id, task=row.task_id, trigger=m.trigger, src=row.state,
             dest=new_state, actor=m.actor)
    # No delivery here: a move never waits for a receiver. Its escalation is in the outbox
    # now; the sweep (escalate, watch) delivers it at its next pass.
    return MoveResult(plan.id, row.task_id, m.trigger, row.state, new_state, m.actor,
                      [event], actions)


def _refuse_group(conn: Connection, plan: Row, row: Row, trigger: str) -> None:
    first = conn.execute(select(TASK.c.task_id).where(
        TASK.c.plan_id == plan.id, TASK.c.parent == row.task_id).order_by(TASK.c.pk)
        .limit(1)).scalar_one_or_none()
    what = "recurs" if row.rule else "is fanned out over units"
    example = f", e.g. workflow {trigger} {first}" if first else ""
    raise MoveRefusedError(f"{row.task_id} {what}: move its instances ({row.task_id}/...)"
                           f"{example}; list them with workflow tasks '{row.task_id}/*'")


def roll_up_state(counts: dict[str, int], finished: bool = True) -> str:
    """A group's state from its instances': blocked while any is, approved when all are."""
    total = sum(counts.values())
    if counts.get("blocked"):
        return "blocked"
    if total and counts.get("approved", 0) == total:
        return "approved" if finished else "in_progress"
    if counts.get("assigned", 0) == total:
        return "assigned"
    if counts.get("reported", 0) + counts.get("approved", 0) == total:
        return "reported"
    return "in_progress"


def _roll_up(conn: Connection, plan: Row, parent: str, now_u: datetime) -> None:
    group = conn.execute(select(TASK).where(TASK.c.plan_id == plan.id,
                                            TASK.c.task_id == parent)).one()
    counts = dict(conn.execute(select(TASK.c.state, func.count()).where(
        TASK.c.plan_id == plan.id, TASK.c.parent == parent).group_by(TASK.c.state)).all())
    state = roll_up_state(counts, finished=group.rule is None or group.next_create_at is None)
    if state == group.state:
        return
    conn.execute(update(TASK).where(TASK.c.pk == group.pk).values(
        state=state, version=group.version + 1, last_move_at=now_u,
        approved_at=now_u if state == "approved" else None))
    if state == "approved":
        _release_dependents(conn, plan, parent, now_u)


def _raise_changed(conn: Connection, row: Row, m: Move) -> None:
    now_row = conn.execute(select(TASK.c.state, TASK.c.version)
                           .where(TASK.c.pk == row.pk)).one_or_none()
    if now_row is None:  # an upgrade of the plan removed the task after the move was judged
        raise NotFoundError(f"{row.task_id} was removed from plan {row.plan_id} while you "
                            f"moved it (the plan was upgraded); nothing was written. Check "
                            f"with: workflow tasks")
    raise ConflictError(f"{row.task_id} changed while you moved it: it was {row.state}, it is "
                        f"now {now_row.state} (another {m.trigger} or move got there first); "
                        f"nothing was written. Check with: workflow show {row.task_id}")


def _release_dependents(conn: Connection, plan: Row, task_id: str, now_u: datetime) -> None:
    """An approval may end other tasks' wait: their stall clock starts now."""
    dependents = select(DEP.c.task_id).where(DEP.c.plan_id == plan.id,
                                             DEP.c.depends_on == task_id)
    conn.execute(update(TASK).where(TASK.c.plan_id == plan.id,
                                    TASK.c.task_id.in_(dependents))
                 .values(open_deps=TASK.c.open_deps - 1))
    ready = conn.execute(select(TASK.c.pk, TASK.c.state, TASK.c.start).where(
        TASK.c.plan_id == plan.id, TASK.c.task_id.in_(dependents), TASK.c.open_deps == 0,
        TASK.c.state == "assigned")).all()
    for r in ready:
        conn.execute(update(TASK).where(TASK.c.pk == r.pk).values(
            stall_at=stall_at("assigned", 0, r.start, now_u, plan)))


# --------------------------------------------------------------------------- sweep


def sweep(store: Store, *, plan_id: str | None, now: datetime,
          stop: threading.Event = transport.NEVER) -> list[escalation.Action]:
    """One escalation sweep over one plan, or every plan, each plan in its own transaction;
    then one delivery pass (bounded by its budget; ``stop`` ends it early)."""
    from workflow import recurrence
    with store.read() as conn:
        ids = ([select_plan(conn, plan_id).id] if plan_id else
               conn.execute(select(PLAN.c.id).order_by(PLAN.c.id)).scalars().all())
    actions: list[escalation.Action] = []
    for pid in ids:
        with store.write() as conn:
            events = Appender(conn, pid, store.person(conn))  # takes the plan's lock first
            loaded = loaded_at(conn, pid)
            if loaded is not None and loaded > clock.to_utc(now):
                log.warning("sweep_skipped", plan=pid, why="the clock is before the plan's "
                            "load or upgrade", loaded=loaded.isoformat())
                continue
            plan = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == pid)).one()
            created = recurrence.create_due(conn, events, plan, now)
            for parent in dict.fromkeys(c.rsplit("/", 1)[0] for c in created):
                _roll_up(conn, plan, parent, clock.to_utc(now))
            found = escalation.sweep_plan(conn, events, plan, now)
            events.flush()
        actions += found
    counts = {a: sum(1 for x in actions if x.action == a)
              for a in ("raised", "climbed", "resolved")}
    log.info("sweep_done", plans=len(ids), **counts)
    deliver(store, now, stop)
    return actions


def deliver(store: Store, now: datetime, stop: threading.Event = transport.NEVER, *,
            warn: bool = True) -> None:
    """Delivers the outbox after the sweep committed; a failure is only logged."""
    try:
        delivery.deliver_pending(store, now, stop=stop, warn=warn)
    except Exception as err:  # the escalations are committed; delivery retries next time
        log.error("delivery_error", error=f"{type(err).__name__}: {err}")
