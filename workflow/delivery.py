"""Delivering the outbox: one digest per recipient, on this host's channels, within a budget.

Escalations are written to the outbox by the transaction that raises or climbs them
(workflow.outbox). A delivery pass, run by the sweep (``escalate``, ``watch``), never by a
move, takes what is due and sends each recipient of each plan one message listing all its
items, on the channel this host configures for the plan (workflow.channels): nothing read from
the database chooses what runs or which URL is called. A plan whose channel this host does not
have keeps its rows pending until one is configured.

Items of one task go out in order: while an earlier item of a task waits (backing off after a
failure, or held by another sweeper), its later ones wait too. The whole pass ends by its
budget (``budget`` seconds, each exchange included) or when ``stop`` is set (SIGTERM); what is
left goes next time. A failure is recorded and retried with a growing delay; delivery is at
least once, and each item's ``id`` lets a receiver drop repeats.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from workflow import channels, logs, messages, transport
from workflow.clock import to_utc
from workflow.models import DeliveryRow, PlanRow

log = logs.get_logger("workflow.delivery")
OUTBOX, PLAN = DeliveryRow.__table__, PlanRow.__table__
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(hours=1), timedelta(hours=6)]
LEASE = timedelta(minutes=2)  # a claimed row is not taken by another sweeper meanwhile
SCAN = 1000  # pending rows looked at per pass, oldest first


@dataclass
class Outcome:
    delivered: int = 0  # items
    failed: int = 0
    messages: int = 0  # digests sent
    deferred: int = 0  # due, but the budget ran out or the process is stopping


def deliver_pending(store, now: datetime, *, config: channels.HostConfig | None = None,
                    stop: threading.Event = transport.NEVER, warn: bool = True) -> Outcome:
    """One delivery pass; returns within the budget (plus one short database write).

    ``warn``: log plans whose rows wait for a channel (the sweep does; watch's frequent
    passes between sweeps do not repeat it every few seconds)."""
    config = channels.host_config() if config is None else config
    deadline = time.monotonic() + config.budget_s
    outcome = Outcome()
    if not config.channels:
        return outcome  # nowhere to send: everything stays in the outbox
    now_u = to_utc(now)
    with store.read() as conn:
        routes = _routes(conn, config)
        rows = conn.execute(select(OUTBOX).where(
            OUTBOX.c.delivered_at.is_(None), OUTBOX.c.plan_id.in_(list(routes)))
            .order_by(OUTBOX.c.id).limit(SCAN)).all() if routes else []
        if warn:
            _warn_unrouted(conn, routes)
    failed_tasks: set[tuple[str, str]] = set()
    groups = _groups(_in_task_order(rows, now_u))
    for n, group in enumerate(groups):
        if stop.is_set() or time.monotonic() >= deadline:
            outcome.deferred += sum(len(g) for g in groups[n:])
            break
        group = [r for r in group if (r.plan_id, r.task_id) not in failed_tasks]
        claimed = _claim(store, group, now_u)
        if not claimed:
            continue
        items = [_item(r.payload) | {"id": r.id} for r in claimed]
        body = json.dumps(messages.digest(items, now), ensure_ascii=False).encode()
        error = _send(routes[claimed[0].plan_id], body, deadline, stop)
        _settle(store, claimed, now_u, error, released=error is not None and stop.is_set())
        if error is None:
            outcome.delivered += len(claimed)
            outcome.messages += 1
        else:
            outcome.failed += len(claimed)
            failed_tasks |= {(r.plan_id, r.task_id) for r in claimed}
    if rows:
        log.info("delivery_ran", delivered=outcome.delivered, messages=outcome.messages,
                 failed=outcome.failed, deferred=outcome.deferred)
    return outcome


def _routes(conn: Connection, config: channels.HostConfig) -> dict[str, channels.Channel]:
    """Plan id -> the channel this host has for it. The plan only names one (a dict key)."""
    routes = {}
    for plan_id, definition in conn.execute(select(PLAN.c.id, PLAN.c.definition)):
        notify = (json.loads(definition) if definition else {}).get("notify")
        # A plan loaded before channels were named may hold {command:, webhook:}: ignored.
        name = notify.get("channel") if isinstance(notify, dict) else None
        channel = config.channel(name if isinstance(name, str) else None)
        if channel is not None:
            routes[plan_id] = channel
    return routes


def _warn_unrouted(conn: Connection, routes: dict) -> None:
    waiting = conn.execute(select(OUTBOX.c.plan_id).where(
        OUTBOX.c.delivered_at.is_(None), OUTBOX.c.plan_id.not_in(list(routes)))
        .distinct().limit(20)).scalars().all()
    if waiting:
        log.warning("delivery_unrouted", plans=sorted(waiting),
                    why="the channel these plans name is not configured on this host; "
                        "their escalations stay in the outbox until it is")


def _in_task_order(rows: list, now_u: datetime) -> list:
    """The due rows whose task has no earlier row still waiting."""
    held: set[tuple[str, str]] = set()
    due = []
    for row in rows:
        key = (row.plan_id, row.task_id)
        if key in held:
            continue
        if to_utc(row.next_attempt_at) > now_u:
            held.add(key)
            continue
        due.append(row)
    return due


def _groups(rows: list) -> list[list]:
    """One group per (plan, recipient), in the order of each group's oldest item."""
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        recipient = _item(row.payload).get("escalated_to")
        groups.setdefault((row.plan_id, str(recipient)), []).append(row)
    return list(groups.values())


def _item(payload: str) -> dict:
    """A stored item, as data only: whatever it holds is shown, never run or fetched."""
    try:
        item = json.loads(payload)
    except ValueError:
        return {}
    return item if isinstance(item, dict) else {}


def _claim(store, rows: list, now_u: datetime) -> list:
    """The rows this pass now holds: each one only if no other sweeper took it meanwhile."""
    claimed = []
    with store.write() as conn:
        for row in rows:
            done = conn.execute(update(OUTBOX).where(
                OUTBOX.c.id == row.id, OUTBOX.c.next_attempt_at == row.next_attempt_at,
                OUTBOX.c.delivered_at.is_(None)).values(next_attempt_at=now_u + LEASE))
            if done.rowcount == 1:
                claimed.append(row)
    return claimed


def _send(channel: channels.Channel, body: bytes, deadline: float,
          stop: threading.Event) -> str | None:
    errors = []
    if channel.command:
        errors.append(transport.run_command(channel.command, body, deadline, stop))
    if channel.webhook:
        errors.append(transport.post_json(channel.webhook, body, deadline, stop))
    return "; ".join(e for e in errors if e) or None


def _settle(store, rows: list, now_u: datetime, error: str | None, *, released: bool) -> None:
    with store.write() as conn:
        for row in rows:
            if error is None:
                values = {"delivered_at": now_u, "attempts": row.attempts + 1,
                          "last_error": None}
            elif released:  # stopped by SIGTERM: not the receiver's fault, no back-off
                values = {"next_attempt_at": row.next_attempt_at}
            else:
                wait = BACKOFF[min(row.attempts, len(BACKOFF) - 1)]
                values = {"attempts": row.attempts + 1, "last_error": error[:2000],
                          "next_attempt_at": now_u + wait}
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))
    if error is not None and not released:
        log.warning("delivery_failed", plan=rows[0].plan_id, items=[r.id for r in rows],
                    tasks=sorted({r.task_id for r in rows}), error=error[:200])
