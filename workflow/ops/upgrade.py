"""Applying a changed definition to a loaded plan (``workflow load FILE --upgrade``).

What may change: titles, deadlines, agencies, support, approvers, escalation settings, new
tasks, and dependencies of tasks that have not started. What may not: removing a task that has
any history, or giving a started task a dependency that is not yet approved; those refuse the
whole upgrade and write nothing. The upgrade is an event in the history with what changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import ConflictError
from workflow.plan.definitions import Plan
from workflow.store import expand
from workflow.store.audit import Appender
from workflow.store.models import (
    PLAN_ROW,
    AgencyRow,
    DependencyRow,
    EventRow,
    PlanRow,
    TaskRow,
    UnitRow,
)

PLAN, TASK, AGENCY, DEP, EVENT, UNIT = (
    PlanRow.__table__, TaskRow.__table__, AgencyRow.__table__, DependencyRow.__table__,
    EventRow.__table__, UnitRow.__table__)


def upgrade_plan(conn: Connection, store, existing: Row, plan: Plan, *, now: datetime,
                 actor: str | None):
    from workflow.ops import (
        move as engine,  # engine imports us lazily; this keeps the cycle one-way
    )

    now_u = clock.to_utc(now)
    rows = {r.task_id: r for r in conn.execute(select(TASK).where(TASK.c.plan_id == plan.id))}
    plan_row = SimpleNamespace(**{**existing._asdict(), **engine.plan_columns(plan)})
    wanted = {v["task_id"]: v for v in expand.task_rows(plan, plan_row, now_u)}
    recurring = {t.id for t in plan.tasks.values() if t.repeat is not None}
    # Occurrences already created stay while their task still recurs.
    removed = [t for t, r in rows.items() if t not in wanted
               and not (r.kind == "instance" and r.parent in recurring and "/" in t
                        and t.split("/")[0] in recurring and r.unit and r.unit[:1].isdigit())]
    added = [t for t in wanted if t not in rows]
    with_history = set(conn.execute(select(EVENT.c.task_id).where(
        EVENT.c.plan_id == plan.id, EVENT.c.task_id.in_(removed),
        EVENT.c.event != "created").distinct()).scalars()) if removed else set()
    problems = [f"{t} has history and cannot be removed" for t in removed if t in with_history]
    states = {t: r.state for t, r in rows.items()}
    for task_id, values in wanted.items():
        row = rows.get(task_id)
        if row is None or row.state == "assigned":
            continue
        old = set(json.loads(row.depends_on))
        for dep in json.loads(values["depends_on"]):
            if dep not in old and states.get(dep) != "approved":
                problems.append(f"{task_id} is {row.state}; it cannot gain dependency {dep}, "
                                "which is not approved")
    if problems:
        raise ConflictError(f"cannot upgrade plan {plan.id}: {problems[0]}; nothing was "
                            "written", details=problems[1:])

    conn.execute(update(PLAN).where(PLAN.c.id == plan.id).values(
        **{k: v for k, v in engine.plan_columns(plan).items() if k != "id"}))
    plan_row = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)).one()
    for table in (AGENCY, UNIT, DEP):
        conn.execute(delete(table).where(table.c.plan_id == plan.id))
    engine.insert_agencies(conn, plan)
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
    approved = {t for t, s in states.items() if s == "approved"}
    changed: list[str] = []
    fixed = ("plan_id", "task_id", "state", "version", "last_move_at", "next_create_at")
    for task_id, values in wanted.items():
        row = rows.get(task_id)
        deps = json.loads(values["depends_on"])
        values["open_deps"] = sum(1 for d in deps if d not in approved)
        if row is None:
            values["stall_at"] = engine.stall_at("assigned", values["open_deps"],
                                                 values["start"], now_u, plan_row)
            conn.execute(TASK.insert().values(**values))
            continue
        for key in fixed:
            values.pop(key)
        if row.state == "approved" or row.kind == "group":
            values["overdue_at"] = None
        if row.kind == "group":
            values["stall_at"] = None
        else:
            values["stall_at"] = engine.stall_at(row.state, values["open_deps"],
                                                 values["start"], row.last_move_at, plan_row)
        if any(getattr(row, k) != v for k, v in values.items() if k != "position"):
            changed.append(task_id)
        conn.execute(update(TASK).where(TASK.c.pk == row.pk).values(**values))
    from workflow.views.asof import row_changes  # what it records lets history replay it

    after = {r.task_id: r for r in conn.execute(select(TASK).where(TASK.c.plan_id == plan.id))}
    events = Appender(conn, plan.id, store.person(conn))
    changes = {"added": added, "removed": removed, "changed": changed}
    events.add(event="upgrade", at=now, actor=actor,
               note=f"upgraded from {plan.source}: {len(added)} added, {len(removed)} removed, "
                    f"{len(changed)} changed",
               data={"digest": plan.digest, "previous_digest": existing.digest, **changes,
                     "definition": plan.canonical(), "rows": row_changes(rows, after)})
    # Deadlines, leads or steps may have changed under open escalations: recheck them now.
    from workflow.rules import escalation
    escalation.recheck_open(conn, events, plan_row, now)
    events.flush()
    return engine.LoadResult(plan.id, "upgraded", len(plan.tasks), changes)
