"""The escalation sweep (``workflow escalate``, and ``workflow watch`` on a schedule).

Each plan in its own transaction, under the plan's lock: recurring occurrences whose day has
come are created (their groups roll up), then open escalations climb or close and tasks that
need one get one, then reminders whose moment has come are sent (``remind``). Delivery runs
after the transactions commit (moves never deliver: the next sweep, or watch's delivery pass,
sends what they raised).
"""

from __future__ import annotations

import threading
from datetime import datetime

from workflow import clock, logs
from workflow.ops import delivery, transport
from workflow.ops.escalate import sweep_plan
from workflow.ops.move import record_fixed
from workflow.ops.occurrences import create_due
from workflow.ops.remind import remind_due
from workflow.rules import lifecycle
from workflow.rules.escalation import Action
from workflow.rules.kinds import Step
from workflow.store import lookup
from workflow.store.audit import Appender
from workflow.store.db import Store
from workflow.store.tasks import TaskTable
from workflow.store.timeorder import loaded_at

log = logs.get_logger("workflow")


def sweep(store: Store, *, plan_id: str | None, now: datetime,
          stop: threading.Event = transport.NEVER) -> list[Action]:
    """One escalation sweep over one plan, or every plan, each plan in its own transaction;
    then one delivery pass (bounded by its budget; ``stop`` ends it early)."""
    with store.read() as conn:
        ids = [lookup.select_plan(conn, plan_id).id] if plan_id else lookup.plan_ids(conn)
    actions: list[Action] = []
    for pid in ids:
        with store.write() as conn:
            plan = lookup.select_plan(conn, pid, lock=True)
            loaded = loaded_at(conn, pid)
            if loaded is not None and loaded > clock.to_utc(now):
                log.warning("sweep_skipped", plan=pid, why="the clock is before the plan's "
                            "load or upgrade", loaded=loaded.isoformat())
                continue
            events = Appender(conn, pid, store.person(conn), head=plan)
            settings = lookup.plan_settings(conn, plan)
            created = create_due(conn, events, settings, now)
            tasks = TaskTable(conn, pid)
            for parent in dict.fromkeys(c.rsplit("/", 1)[0] for c in created):
                record_fixed(events, lifecycle.roll_up(tasks, parent, clock.to_utc(now),
                                                       settings), now, None)
            found = sweep_plan(conn, events, plan, now) + remind_due(conn, events, settings,
                                                                      now)
            events.flush()
        actions += found
    counts = {step.value: sum(1 for x in actions if x.action == step) for step in Step}
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
