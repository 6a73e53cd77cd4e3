"""Applying a changed definition to a loaded plan (``workflow load FILE --upgrade``).

What may change: titles, deadlines, agencies, support, approvers, escalation settings, new
tasks, and dependencies of tasks that have not started. What may not: removing a task that has
any history, or giving a started task a dependency that is not yet approved; those refuse the
whole upgrade and write nothing. The upgrade is an event in the history with what changed.

It runs in the load's transaction, which holds the plan's lock from its first read: a move
of the same plan waits for it, then judges the upgraded plan.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import ConflictError
from workflow.i18n import _
from workflow.ops.escalate import recheck_open
from workflow.plan.definitions import Plan
from workflow.rules.kinds import EventKind, Kind, State, state_word
from workflow.rules.lifecycle import Task, due_changes, follower_due, new_task, stall_at
from workflow.store import expand, lookup
from workflow.store.audit import Appender
from workflow.store.models import AGENCY, DEP, EVENT, PLAN, PLAN_ROW, TASK, UNIT
from workflow.store.rows import field_changes, row_changes
from workflow.store.tasks import extensions
from workflow.store.timeorder import refuse_backwards

# Columns an upgrade never rewrites: what the task's moves made of it.
MOVED = ("plan_id", "task_id", "state", "version", "last_move_at", "next_create_at",
         "blocked_from", "blocked_by", "reported_at", "approved_at", "on_time", "reminded_for")


def upgrade_plan(conn: Connection, person: str, existing: Row, plan: Plan, *, now: datetime,
                 actor: str | None, note: str | None = None) -> dict[str, list]:
    """Returns what changed: {"added": [...], "removed": [...], "changed": [...], "fields":
    [{task, field, old, new}, ...]}. Its event records the same (``fields`` as ``changes``),
    who (``actor``, an agency of the upgraded plan) and why (``note``)."""
    # An upgrade changes what every task's later moves mean: none may be recorded after it.
    refuse_backwards(conn, existing, None, now,
                     _("the upgrade of plan {plan}").format(plan=plan.id), every_task=True)
    now_u = clock.to_utc(now)
    rows = {r.task_id: r for r in conn.execute(select(TASK).where(TASK.c.plan_id == plan.id))}
    columns = expand.plan_columns(plan)
    settings = SimpleNamespace(**{**existing._asdict(), **columns},
                               **lookup.settings_from(json.loads(columns["definition"])))
    wanted = {v["task_id"]: v for v in expand.task_rows(plan, settings, now_u)}
    removed = _removed(plan, rows, wanted)
    added = [t for t in wanted if t not in rows]
    _refuse(conn, plan, rows, wanted, removed)
    plan_row = _replace_plan(conn, plan, rows, wanted, removed)
    who = lookup.find_agency(conn, plan_row, actor) if actor else None
    changed = _write_tasks(conn, plan_row, rows, wanted, now_u)
    after = {r.task_id: r for r in conn.execute(select(TASK).where(TASK.c.plan_id == plan.id))}
    events = Appender(conn, plan.id, person, head=existing)
    changes = {"added": added, "removed": removed, "changed": changed}
    fields = field_changes(rows, after)
    events.add(event=EventKind.UPGRADE, at=now, actor=who,
               note=note or f"upgraded from {plan.source}: {len(added)} added, "
                            f"{len(removed)} removed, {len(changed)} changed",
               data={"digest": plan.digest, "previous_digest": existing.digest, **changes,
                     "changes": fields, "source": plan.source,
                     "definition": plan.canonical(), "rows": row_changes(rows, after)})
    # Deadlines, leads or steps may have changed under open escalations: recheck them now.
    recheck_open(conn, events, plan_row, now)
    events.flush()
    return {**changes, "fields": fields}


def _removed(plan: Plan, rows: dict[str, Row], wanted: dict[str, Any]) -> list[str]:
    """Tasks the new definition no longer has. Occurrences already created stay while their
    task still recurs."""
    recurring = {t.id for t in plan.tasks.values() if t.repeat is not None}
    return [t for t, r in rows.items() if t not in wanted
            and not (r.kind == Kind.INSTANCE and r.parent in recurring and "/" in t
                     and t.split("/")[0] in recurring and r.unit and r.unit[:1].isdigit())]


def _refuse(conn: Connection, plan: Plan, rows: dict[str, Row], wanted: dict[str, Any],
            removed: list[str]) -> None:
    with_history = set(conn.execute(select(EVENT.c.task_id).where(
        EVENT.c.plan_id == plan.id, EVENT.c.task_id.in_(removed),
        EVENT.c.event != EventKind.CREATED).distinct()).scalars()) if removed else set()
    problems = [_("{task} has history and cannot be removed").format(task=t)
                for t in removed if t in with_history]
    states = {t: r.state for t, r in rows.items()}
    for task_id, values in wanted.items():
        row = rows.get(task_id)
        if row is None or row.state == State.ASSIGNED:
            continue
        old = set(json.loads(row.depends_on))
        for dep in json.loads(values["depends_on"]):
            if dep not in old and states.get(dep) != State.APPROVED:
                problems.append(_("{task} is {state}; it cannot gain dependency {dependency}, "
                                  "which is not approved").format(
                    task=task_id, state=state_word(row.state), dependency=dep))
    if problems:
        raise ConflictError(_("cannot upgrade plan {plan}: {problem}; nothing was written")
                            .format(plan=plan.id, problem=problems[0]), details=problems[1:])


def _replace_plan(conn: Connection, plan: Plan, rows: dict[str, Row], wanted: dict[str, Any],
                  removed: list[str]) -> Row:
    """The plan row, its agencies, units and dependency edges as the new definition says."""
    conn.execute(update(PLAN).where(PLAN.c.id == plan.id).values(
        **{k: v for k, v in expand.plan_columns(plan).items() if k != "id"}))
    plan_row = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)).one()
    for table in (AGENCY, UNIT, DEP):
        conn.execute(delete(table).where(table.c.plan_id == plan.id))
    conn.execute(AGENCY.insert(), expand.agency_rows(plan))
    if plan.units:
        conn.execute(UNIT.insert(), expand.unit_rows(plan))
    for batch in expand.batches(expand.dependency_rows(plan)):
        conn.execute(DEP.insert(), batch)
    kept_occurrences = [r for t, r in rows.items() if t not in wanted and t not in removed]
    occ_edges = [{"plan_id": plan.id, "task_id": r.task_id, "depends_on": d}
                 for r in kept_occurrences for d in plan.tasks[r.parent].depends_on]
    if occ_edges:
        conn.execute(DEP.insert(), occ_edges)
    if removed:
        conn.execute(delete(TASK).where(TASK.c.plan_id == plan.id, TASK.c.task_id.in_(removed)))
    return plan_row


def _write_tasks(conn: Connection, plan_row: Row, rows: dict[str, Row], wanted: dict[str, Any],
                 now_u: datetime) -> list[str]:
    """Inserts the new tasks, rewrites the definition columns of the others; returns the ids
    of those that changed."""
    settings = lookup.plan_settings(conn, plan_row)
    approved = {t: r.approved_at for t, r in rows.items() if r.state == State.APPROVED}
    extended = {t: max(to for _at, to in e) for t, e in extensions(conn, plan_row.id).items()}
    changed: list[str] = []
    for task_id, values in wanted.items():
        row = rows.get(task_id)
        open_deps = sum(1 for d in json.loads(values["depends_on"]) if d not in approved)
        if values["due_after"]:  # no date until its task is approved; then that long after
            after = approved.get(values["due_after"])
            values["due"] = after and follower_due(after, values["due_within"], settings)
        if row is None:
            values.update(new_task(kind=values["kind"], due=values["due"],
                                   start=values["start"], open_deps=open_deps, at=now_u,
                                   settings=settings, clock=values["clock"]))
            conn.execute(TASK.insert().values(**values))
            continue
        for key in MOVED:
            values.pop(key)
        values["open_deps"] = open_deps
        due = values["due"]
        if task_id in extended and due is not None:
            # A definition change never takes back an extension; one giving more time wins.
            due = max(due, extended[task_id])
        values.update(due_changes(Task(row._mapping, open_deps=open_deps, start=values["start"],
                                       clock=values["clock"]),
                                  due, settings))
        if any(getattr(row, k) != v for k, v in values.items() if k != "position"):
            changed.append(task_id)
        conn.execute(update(TASK).where(TASK.c.pk == row.pk).values(**values))
    return changed + _occurrence_clocks(conn, plan_row, rows, wanted)


def _occurrence_clocks(conn: Connection, plan_row: Row, rows: dict[str, Row],
                       wanted: dict[str, Any]) -> list[str]:
    """Occurrences already created run on their recurring task's clocks: a changed
    ``stall_after``/``step_after``/``remind_before`` reaches them too."""
    recurring = {t: v["clock"] for t, v in wanted.items() if v.get("rule")}
    changed = []
    for task_id, row in rows.items():
        if task_id in wanted or row.parent not in recurring or row.clock == recurring[row.parent]:
            continue
        own = recurring[row.parent]
        conn.execute(update(TASK).where(TASK.c.pk == row.pk).values(clock=own, stall_at=stall_at(
            row.state, row.open_deps, row.start, row.last_move_at, plan_row, due=row.due,
            own_clock=own)))
        changed.append(task_id)
    return changed


def fill_words(conn: Connection, plan: Plan) -> int:
    """``load --upgrade`` of the definition already loaded: tasks loaded before revision 0004
    get their deadline words (which no stored definition kept). Only NULL words are written,
    nothing a move depends on changes, so no event is needed; returns the rows filled."""
    filled = 0
    for t in plan.tasks.values():
        if not t.due_text:
            continue
        mine = TASK.c.task_id == t.id
        if t.repeat is None:  # a fanned-out task's instances share its words
            mine = or_(mine, TASK.c.parent == t.id)
        filled += conn.execute(update(TASK).where(
            TASK.c.plan_id == plan.id, mine, TASK.c.due_text.is_(None))
            .values(due_text=t.due_text)).rowcount
    return filled
