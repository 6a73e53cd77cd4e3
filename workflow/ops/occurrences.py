"""Creating a recurring task's occurrences as their days come near (part of the sweep).

The rule (which days, how far ahead) is ``workflow.rules.recurrence``; what a new occurrence
is (assigned, its stall clock and deadline) is ``workflow.rules.lifecycle.new_task``.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.rules.kinds import EventKind, Kind, State
from workflow.rules.lifecycle import new_task
from workflow.rules.recurrence import next_create_at, occurrences, rule_from_json
from workflow.store.audit import Appender
from workflow.store.models import DependencyRow, TaskRow

TASK, DEP = TaskRow.__table__, DependencyRow.__table__
MAX_PER_SWEEP = 1000  # per rule: a daily-ish rule left for years catches up over a few sweeps


def occurrence_row(group: Row, day: date, open_deps: int, now_u: datetime,
                   plan: Row) -> dict:
    """The row of the occurrence of ``group`` due on ``day``, created at ``now_u``."""
    return {
        "plan_id": plan.id, "task_id": f"{group.task_id}/{day.isoformat()}",
        "position": group.position, "kind": Kind.INSTANCE.value, "parent": group.task_id,
        "unit": day.isoformat(), "title": f"{group.title} ({day.day}/{day.month}/{day.year})",
        "ref": group.ref, "note": group.note, "lead": group.lead, "support": group.support,
        "approver": group.approver, "depends_on": group.depends_on, "due": day,
        # Its own day: the rule's words ("hằng tháng") stay on the group.
        "original_due": day, "due_text": None, "start": None, "clock": group.clock,
        **new_task(kind=Kind.INSTANCE, due=day, start=None, open_deps=open_deps, at=now_u,
                   settings=plan, clock=group.clock)}


def create_due(conn: Connection, log: Appender, plan: Row, now: datetime,
               group_pk: int | None = None) -> list[str]:
    """Creates every occurrence within its look-ahead of ``now``; returns their ids."""
    now_u = clock.to_utc(now)
    q = select(TASK).where(TASK.c.plan_id == plan.id, TASK.c.next_create_at.is_not(None),
                           TASK.c.next_create_at <= now_u)
    if group_pk is not None:
        q = q.where(TASK.c.pk == group_pk)
    created: list[str] = []
    for group in conn.execute(q.order_by(TASK.c.position)).all():
        created += _create_group(conn, log, plan, group, now)
    return created


def _create_group(conn: Connection, log: Appender, plan: Row, group: Row,
                  now: datetime) -> list[str]:
    now_u = clock.to_utc(now)
    rep = rule_from_json(group.rule)
    last = conn.execute(select(TASK.c.unit).where(TASK.c.plan_id == plan.id,
                                                  TASK.c.parent == group.task_id)
                        .order_by(TASK.c.unit.desc()).limit(1)).scalar_one_or_none()
    after = date.fromisoformat(last) if last else None
    deps = json.loads(group.depends_on)
    open_deps = len(conn.execute(select(TASK.c.task_id).where(
        TASK.c.plan_id == plan.id, TASK.c.task_id.in_(deps),
        TASK.c.state != State.APPROVED)).all()) if deps else 0
    horizon = clock.today(now, plan.timezone) + rep.ahead_days()
    rows, edges = [], []
    for day in occurrences(rep, after):
        if day > horizon or len(rows) >= MAX_PER_SWEEP:
            break
        rows.append(occurrence_row(group, day, open_deps, now_u, plan))
        edges += [{"plan_id": plan.id, "task_id": rows[-1]["task_id"], "depends_on": d}
                  for d in deps]
        after = day
    if rows:
        conn.execute(TASK.insert(), rows)
        if edges:
            conn.execute(DEP.insert(), edges)
        for row in rows:
            log.add(event=EventKind.CREATED, at=now, task_id=row["task_id"],
                    to_state=State.ASSIGNED, note=f"occurrence due {row['due'].isoformat()}")
    conn.execute(update(TASK).where(TASK.c.pk == group.pk).values(
        next_create_at=next_create_at(rep, after, plan.timezone)))
    return [r["task_id"] for r in rows]
