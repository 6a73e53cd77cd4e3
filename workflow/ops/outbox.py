"""Writing escalations (and reminders) to the outbox, in the transaction that records them.

Every raise and climb is written, whatever the environment of the process that made it: which
channel carries it is decided later, by the host that delivers (workflow.channels). An item
holds what a person needs to act, resolved now, while the transaction sees the plan: the plan
and task by name, the agencies by name, the reason, the level, the block note, and the times
in the plan's own timezone. It holds no target: nothing in it is ever run or fetched.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.clock import local, to_utc
from workflow.rules.leads import co_leads, leads
from workflow.store.audit import Appender
from workflow.store.models import AgencyRow, DeliveryRow, EventRow, PlanRow

OUTBOX, PLAN, AGENCY, EVENT = (DeliveryRow.__table__, PlanRow.__table__, AgencyRow.__table__,
                               EventRow.__table__)


def enqueue(log: Appender, task, *, event: dict[str, Any], action: str, level: int | None,
            to: str, reason: str, must_act: str, now: datetime) -> None:
    """One outbox row for one raised or climbed escalation, or a reminder (``action``
    "reminder", no level): ``event`` is its history event."""
    plan = _plan(log)
    names = plan["agencies"]
    tz = plan["timezone"]

    def who(agency: str | None) -> dict[str, str | None]:
        return {"id": agency, "name": names.get(agency, agency) if agency else None}

    item = {
        "plan": task.plan_id, "plan_title": plan["title"], "timezone": tz,
        "task": task.task_id, "ref": task.ref, "title": task.title,
        "action": action, "level": level, "reason": reason, "state": task.state,
        "escalated_to": to, "escalated_to_name": who(to)["name"],
        "must_act": must_act, "must_act_name": who(must_act)["name"],
        # Joint leads: ``lead`` heads the chain; the message names them all ("chủ trì").
        "lead": task.lead, "co_leads": co_leads(task),
        "lead_name": ", ".join(str(who(a)["name"]) for a in leads(task)),
        "blocked_by": None, "blocked_by_name": None, "note": None,
        "due": task.due.isoformat() if task.due else None,
        "at": local(now, tz).isoformat(), "seq": event["seq"],
    }
    if reason == "blocked":
        item.update(blocked_by=task.blocked_by, blocked_by_name=who(task.blocked_by)["name"],
                    note=_block_note(log, task.task_id))
    log.defer(OUTBOX, {  # inserted with the events, in this transaction
        "plan_id": task.plan_id, "event_seq": event["seq"], "task_id": task.task_id,
        "payload": json.dumps(item, ensure_ascii=False, sort_keys=True), "attempts": 0,
        "delivered_at": None, "last_error": None, "next_attempt_at": to_utc(now)})


def _plan(log: Appender) -> dict[str, Any]:
    """The plan's title, timezone and agency names, read once per transaction."""
    key = "outbox_plan"
    if key not in log.cache:
        conn: Connection = log.conn
        row = conn.execute(select(PLAN.c.title, PLAN.c.timezone)
                           .where(PLAN.c.id == log.plan_id)).one()
        agencies = dict(conn.execute(select(AGENCY.c.id, AGENCY.c.name)
                                     .where(AGENCY.c.plan_id == log.plan_id)).all())
        log.cache[key] = {"title": row.title, "timezone": row.timezone, "agencies": agencies}
    return log.cache[key]


def _block_note(log: Appender, task_id: str) -> str | None:
    """The note of the task's latest block: this transaction's, else the stored history's."""
    for event in reversed(log.pending):
        if event["task_id"] == task_id and event["event"] == "block":
            return event["note"]
    return log.conn.execute(
        select(EVENT.c.note).where(EVENT.c.plan_id == log.plan_id, EVENT.c.task_id == task_id,
                                   EVENT.c.event == "block")
        .order_by(EVENT.c.seq.desc()).limit(1)).scalar_one_or_none()
