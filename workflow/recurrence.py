"""Recurring tasks: occurrences are created as time reaches them, never all at once.

A recurring task is a group row holding its rule; each occurrence is an instance
``task-id/YYYY-MM-DD`` due that day. The sweep creates every occurrence whose day is within the
rule's look-ahead (``ahead``, default 7 days) of now, so after a week without sweeps the
missed ones are created at once, already overdue: missed, not skipped.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.audit import Appender
from workflow.definitions import Repeat
from workflow.models import DependencyRow, TaskRow

TASK, DEP = TaskRow.__table__, DependencyRow.__table__
MAX_PER_SWEEP = 1000  # per rule: a daily-ish rule left for years catches up over a few sweeps


def rule_json(rep: Repeat) -> str:
    return json.dumps(rep.canonical(), sort_keys=True)


def rule_from_json(text: str) -> Repeat:
    d = json.loads(text)
    return Repeat(d["every"], weekday=d["weekday"], day=d["day"],
                  days=tuple(tuple(x) for x in d["days"]),
                  first=date.fromisoformat(d["from"]) if d["from"] else None,
                  until=date.fromisoformat(d["until"]) if d["until"] else None,
                  ahead=timedelta(seconds=d["ahead"]))


def occurrences(rep: Repeat, after: date | None = None) -> Iterator[date]:
    """The rule's days in order, from its first day (or the day after ``after``)."""
    day = max(rep.first or date.min, (after + timedelta(days=1)) if after else date.min)
    while rep.until is None or day <= rep.until:
        if rep.every == "weekly":
            day += timedelta(days=(rep.weekday - day.weekday()) % 7)
            nxt = day
        elif rep.every == "monthly":
            last = calendar.monthrange(day.year, day.month)[1]
            nxt = date(day.year, day.month, min(rep.day, last))
            if nxt < day:
                month = day.month % 12 + 1
                year = day.year + (day.month == 12)
                nxt = date(year, month, min(rep.day, calendar.monthrange(year, month)[1]))
        else:
            candidates = [_safe_date(y, m, d) for y in (day.year, day.year + 1)
                          for d, m in rep.days]
            nxt = min(c for c in candidates if c is not None and c >= day)
        if rep.until is not None and nxt > rep.until:
            return
        yield nxt
        day = nxt + timedelta(days=1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    if day == 31:  # the last day of the month ("hằng quý", "trước ngày 01/7 hằng năm")
        return date(year, month, calendar.monthrange(year, month)[1])
    try:
        return date(year, month, day)
    except ValueError:  # 29/2 in a common year
        return None


def next_create_at(rep: Repeat, after: date | None, tz: str) -> datetime | None:
    nxt = next(occurrences(rep, after), None)
    return None if nxt is None else clock.start_of_day(nxt - rep.ahead_days(), tz)


def create_due(conn: Connection, log: Appender, plan: Row, now: datetime,
               group_pk: int | None = None) -> list[str]:
    """Creates every occurrence within its look-ahead of ``now``; returns their ids."""
    from workflow import engine  # stall_at lives with the other timing rules

    now_u = clock.to_utc(now)
    q = select(TASK).where(TASK.c.plan_id == plan.id, TASK.c.next_create_at.is_not(None),
                           TASK.c.next_create_at <= now_u)
    if group_pk is not None:
        q = q.where(TASK.c.pk == group_pk)
    created: list[str] = []
    for group in conn.execute(q.order_by(TASK.c.position)).all():
        rep = rule_from_json(group.rule)
        last = conn.execute(select(TASK.c.unit).where(TASK.c.plan_id == plan.id,
                                                      TASK.c.parent == group.task_id)
                            .order_by(TASK.c.unit.desc()).limit(1)).scalar_one_or_none()
        after = date.fromisoformat(last) if last else None
        deps = json.loads(group.depends_on)
        open_deps = len(conn.execute(select(TASK.c.task_id).where(
            TASK.c.plan_id == plan.id, TASK.c.task_id.in_(deps),
            TASK.c.state != "approved")).all()) if deps else 0
        horizon = clock.today(now, plan.timezone) + rep.ahead_days()
        rows, edges = [], []
        for day in occurrences(rep, after):
            if day > horizon or len(rows) >= MAX_PER_SWEEP:
                break
            task_id = f"{group.task_id}/{day.isoformat()}"
            rows.append({
                "plan_id": plan.id, "task_id": task_id, "position": group.position,
                "kind": "instance", "parent": group.task_id, "unit": day.isoformat(),
                "title": f"{group.title} ({day.day}/{day.month}/{day.year})", "ref": group.ref,
                "note": group.note, "lead": group.lead, "support": group.support,
                "approver": group.approver, "depends_on": group.depends_on, "due": day,
                "start": None, "state": "assigned", "version": 0, "last_move_at": now_u,
                "open_deps": open_deps,
                "stall_at": engine.stall_at("assigned", open_deps, None, now_u, plan),
                "overdue_at": clock.end_of_day(day, plan.timezone),
            })
            edges += [{"plan_id": plan.id, "task_id": task_id, "depends_on": d} for d in deps]
            after = day
        if rows:
            conn.execute(TASK.insert(), rows)
            if edges:
                conn.execute(DEP.insert(), edges)
            for row in rows:
                log.add(event="created", at=now, task_id=row["task_id"], to_state="assigned",
                        note=f"occurrence due {row['due'].isoformat()}")
            created += [r["task_id"] for r in rows]
        conn.execute(update(TASK).where(TASK.c.pk == group.pk).values(
            next_create_at=next_create_at(rep, after, plan.timezone)))
    return created
