"""Reminders (nhắc việc): before a task's due day ends, the agency that must act is reminded.

Each task row carries ``remind_at`` (when its reminder is due: precomputed by the rules on
every load, move and change of its due) and ``reminded_for`` (the due date last reminded for),
so the sweep reads one index range and reminds once per due date: an extension reminds again,
a second sweep does not. A reminder is a history event (``reminder``), not an escalation,
and goes to the outbox like one. A task already past its due day is not reminded: its overdue
escalation speaks for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.ops import outbox
from workflow.rules import lifecycle
from workflow.rules.escalation import Action
from workflow.rules.kinds import EventKind, Step
from workflow.store.audit import Appender
from workflow.store.models import TaskRow
from workflow.store.tasks import TaskTable
from workflow.store.timeorder import task_last_at

TASK = TaskRow.__table__
REASON = "due_soon"


def remind_due(conn: Connection, log: Appender, settings, now: datetime) -> list[Action]:
    """Sends every reminder whose moment has come, inside the sweep's transaction."""
    now_u = to_utc(now)
    rows = conn.execute(select(TASK).where(
        TASK.c.plan_id == settings.id, TASK.c.remind_at.is_not(None), TASK.c.remind_at <= now_u)
        .order_by(TASK.c.position, TASK.c.pk)).all()
    tasks = TaskTable(conn, settings.id, doing="reminder")
    actions = []
    for row in rows:
        if row.overdue_at is not None and row.overdue_at <= now_u:
            continue  # past its due day: the overdue escalation speaks for it
        last = task_last_at(conn, row.plan_id, row.task_id)
        if last is not None and last > now_u:
            continue  # a sweep with a clock behind the task's history: left to a later one
        task = lifecycle.Task(row._mapping)
        before = lifecycle.remind_before(row.clock, settings)
        event = log.add(event=EventKind.REMINDER, at=now, task_id=row.task_id,
                        from_state=row.state, to_state=row.state, escalated_to=row.lead,
                        reason=REASON, note=f"due {row.due.isoformat()} ({before} left)",
                        data={"due": row.due.isoformat(), "remind_before": str(before)})
        outbox.enqueue(log, task, event=event, action=EventKind.REMINDER, level=None,
                       to=row.lead, reason=REASON, must_act=row.lead, now=now)
        tasks.change(task, lifecycle.reminded(task))
        actions.append(Action(row.task_id, Step.REMINDED, 0, row.lead, REASON, row.plan_id))
    return actions
