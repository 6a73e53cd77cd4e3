"""History never runs backwards: an event on a task is never dated before that task's last
event nor before the plan's load and upgrades; a plan-level event (a member change, an
upgrade) never before the plan's last plan-level event. Both are read in the writer's
transaction, after the plan's lock was taken, from the (plan_id, task_id, seq) index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from workflow.clock import local, to_utc
from workflow.errors import MoveRefusedError
from workflow.i18n import _
from workflow.store.models import EventRow

EVENT = EventRow.__table__
PLAN_EVENTS = ("load", "upgrade")


def _max_at(conn: Connection, *where) -> datetime | None:
    moment = conn.execute(select(func.max(EVENT.c.at)).where(*where)).scalar()
    return None if moment is None else to_utc(moment)


def loaded_at(conn: Connection, plan_id: str) -> datetime | None:
    """When the plan was last loaded or upgraded: nothing in it may be dated before that."""
    return _max_at(conn, EVENT.c.plan_id == plan_id, EVENT.c.task_id.is_(None),
                   EVENT.c.event.in_(PLAN_EVENTS))


def task_last_at(conn: Connection, plan_id: str, task_id: str) -> datetime | None:
    return _max_at(conn, EVENT.c.plan_id == plan_id, EVENT.c.task_id == task_id)


def latest_at(conn: Connection, plan_id: str, task_id: str | None, *,
              every_task: bool = False) -> datetime | None:
    """The latest time a new event on ``task_id`` (None: on the plan) must not precede;
    ``every_task``: the latest event of the whole plan (an upgrade changes every task)."""
    if every_task:
        return _max_at(conn, EVENT.c.plan_id == plan_id)
    if task_id is None:
        return _max_at(conn, EVENT.c.plan_id == plan_id, EVENT.c.task_id.is_(None))
    times = [loaded_at(conn, plan_id), task_last_at(conn, plan_id, task_id)]
    known = [t for t in times if t is not None]
    return max(known) if known else None


def refuse_backwards(conn: Connection, plan: Any, task_id: str | None, at: datetime,
                     what: str, *, every_task: bool = False) -> None:
    """MoveRefusedError (exit 4) if an event at ``at`` would precede the history before it."""
    last = latest_at(conn, plan.id, task_id, every_task=every_task)
    if last is None or to_utc(at) >= last:
        return
    whose = (_("task {task}'s last event").format(task=task_id) if task_id else
             _("plan {plan}'s last event").format(plan=plan.id) if every_task else
             _("plan {plan}'s last change").format(plan=plan.id))

    def shown(moment: datetime) -> str:
        return local(moment, plan.timezone).isoformat(timespec="seconds")

    raise MoveRefusedError(_("{what} at {at} is dated before {whose} ({last}); history never "
                             "runs backwards: use a time after it (check the clock, or "
                             "WORKFLOW_NOW)").format(what=what, at=shown(at), whose=whose,
                                                     last=shown(last)))
