"""Applying a changed definition to a loaded plan (``workflow load FILE --upgrade``).

What may change: titles, deadlines, agencies, support, approvers, escalation settings, new
tasks, and dependencies of tasks that have not started. What may not: removing a task that has
any history, or giving a started task a dependency that is not yet approved; those refuse the
whole upgrade and write nothing. The upgrade is an event in the history with what changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.audit import Appender
from workflow.definitions import Plan
from workflow.errors import ConflictError
from workflow.models import AgencyRow, DependencyRow, EventRow, PlanRow, TaskRow

PLAN, TASK, AGENCY, DEP, EVENT = (PlanRow.__table__, TaskRow.__table__, AgencyRow.__table__,
                                  DependencyRow.__table__, EventRow.__table__)


def upgrade_plan(conn: Connection, store, existing: Row, plan: Plan, *, now: datetime,
                 actor: str | None):
    from workflow import engine  # engine imports us lazily; this keeps the cycle one-way

    now_u = clock.to_utc(now)
    rows = {r.task_id: r for r in conn.execute(select(TASK).where(TASK.c.plan_id == plan.id))}
    removed = [t for t in rows if t not in plan.tasks]
    added = [t for t in plan.tasks if t not in rows]
    with_history = set(conn.execute(select(EVENT.c.task_id).where(
        EVENT.c.plan_id == plan.id, EVENT.c.task_id.in_(removed)).distinct()).scalars())
    problems = [f"{t} has history and cannot be removed" for t in removed if t in with_history]
    states = {t: r.state for t, r in rows.items()}
    for t in plan.tasks.values():
        row = rows.get(t.id)
        if row is None or row.state == "assigned":
            continue
        old = set(json.loads(row.depends_on))
        for dep in t.depends_on:
            if dep not in old and states.get(dep) != "approved":
                problems.append(f"{t.id} is {row.state}; it cannot gain dependency {dep}, "
                                "which is not approved")
    if problems:
        raise ConflictError(f"cannot upgrade plan {plan.id}: {problems[0]}; nothing was "
                            "written", details=problems[1:])

    conn.execute(update(PLAN).where(PLAN.c.id == plan.id).values(
        **{k: v for k, v in engine.plan_columns(plan).items() if k != "id"}))
    plan_row = conn.execute(select(PLAN).where(PLAN.c.id == plan.id)).one()
    conn.execute(delete(AGENCY).where(AGENCY.c.plan_id == plan.id))
    engine.insert_agencies(conn, plan)
    conn.execute(delete(DEP).where(DEP.c.plan_id == plan.id))
    deps = [{"plan_id": plan.id, "task_id": t.id, "depends_on": d}
            for t in plan.tasks.values() for d in t.depends_on]
    if deps:
        conn.execute(DEP.insert(), deps)
    if removed:
        conn.execute(delete(TASK).where(TASK.c.plan_id == plan.id, TASK.c.task_id.in_(removed)))
    approved = {t for t, s in states.items() if s == "approved"}
    changed: list[str] = []
    for i, t in enumerate(plan.tasks.values()):
        values: dict[str, Any] = engine._task_values(t, plan_row, i, now_u)
        open_deps = sum(1 for d in t.depends_on if d not in approved)
        row = rows.get(t.id)
        if row is None:
            values.update(plan_id=plan.id, task_id=t.id, state="assigned", version=0,
                          last_move_at=now_u, open_deps=open_deps)
            values["stall_at"] = engine.stall_at("assigned", open_deps, t.start, now_u,
                                                 plan_row)
            conn.execute(TASK.insert().values(**values))
            continue
        if row.state == "approved":
            values["overdue_at"] = None
        values["open_deps"] = open_deps
        values["stall_at"] = engine.stall_at(row.state, open_deps, t.start, row.last_move_at,
                                             plan_row)
        if any(getattr(row, k) != v for k, v in values.items() if k != "position"):
            changed.append(t.id)
        conn.execute(update(TASK).where(TASK.c.pk == row.pk).values(**values))
    events = Appender(conn, plan.id, store.person(conn))
    changes = {"added": added, "removed": removed, "changed": changed}
    events.add(event="upgrade", at=now, actor=actor,
               note=f"upgraded from {plan.source}: {len(added)} added, {len(removed)} removed, "
                    f"{len(changed)} changed",
               data={"digest": plan.digest, "previous_digest": existing.digest, **changes})
    events.flush()
    return engine.LoadResult(plan.id, "upgraded", len(plan.tasks), changes)
