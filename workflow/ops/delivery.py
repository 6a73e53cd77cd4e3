"""The escalation outbox: raised and climbed escalations are delivered to a command or webhook.

Each raised or climbed escalation is written to the outbox in the transaction that records it,
so it cannot be lost. Delivery happens after that transaction commits (never inside it): the
command gets the escalation as JSON on standard input, the webhook as a JSON POST. A failure
(non-zero exit, HTTP error, timeout) is recorded and retried later with a growing delay; it
never stops a sweep or undoes anything. Delivery is at least once: a receiver should use the
``id`` in the payload to ignore repeats.

Targets come from the plan's ``notify: {command: ..., webhook: ...}``, else from the
environment (``WORKFLOW_NOTIFY_COMMAND``, ``WORKFLOW_NOTIFY_WEBHOOK``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from workflow import logs
from workflow.clock import to_utc
from workflow.store.models import DeliveryRow, PlanRow

log = logs.get_logger("workflow.delivery")
OUTBOX, PLAN = DeliveryRow.__table__, PlanRow.__table__
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(hours=1), timedelta(hours=6)]
TIMEOUT_S = 20
LEASE = timedelta(minutes=2)  # a claimed row is not taken by another sweeper meanwhile


def targets(notify: dict | None) -> dict[str, str]:
    found = {k: v for k, v in (notify or {}).items() if v}
    if not found:
        env = {"command": os.environ.get("WORKFLOW_NOTIFY_COMMAND"),
               "webhook": os.environ.get("WORKFLOW_NOTIFY_WEBHOOK")}
        found = {k: v for k, v in env.items() if v}
    return found


def plan_notify(conn: Connection, plan_id: str, cache: dict) -> dict | None:
    if plan_id not in cache:
        text = conn.execute(select(PLAN.c.definition).where(PLAN.c.id == plan_id)).scalar()
        cache[plan_id] = (json.loads(text) if text else {}).get("notify")
    return cache[plan_id]


def enqueue(conn: Connection, *, plan_id: str, seq: int, payload: dict[str, Any],
            now: datetime) -> None:
    conn.execute(OUTBOX.insert().values(
        plan_id=plan_id, event_seq=seq, task_id=payload["task"],
        payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), attempts=0,
        next_attempt_at=to_utc(now)))


@dataclass
class Outcome:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0  # no target configured: stays in the outbox


def deliver_pending(store, now: datetime, limit: int = 200) -> Outcome:
    """Delivers what is due; each row is claimed and settled in its own short transaction."""
    now_u = to_utc(now)
    outcome = Outcome()
    with store.read() as conn:
        due = conn.execute(select(OUTBOX.c.id, OUTBOX.c.next_attempt_at).where(
            OUTBOX.c.delivered_at.is_(None), OUTBOX.c.next_attempt_at <= now_u)
            .order_by(OUTBOX.c.id).limit(limit)).all()
    for row_id, was in due:
        with store.write() as conn:  # claim: only one sweeper delivers a row at a time
            claimed = conn.execute(update(OUTBOX).where(
                OUTBOX.c.id == row_id, OUTBOX.c.next_attempt_at == was,
                OUTBOX.c.delivered_at.is_(None)).values(next_attempt_at=now_u + LEASE))
            if claimed.rowcount != 1:
                continue
            row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == row_id)).one()
        payload = json.loads(row.payload)
        to = targets(payload.get("notify"))
        if not to:
            outcome.skipped += 1
            with store.write() as conn:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(
                    next_attempt_at=was))
            continue
        error = _send(to, {k: v for k, v in payload.items() if k != "notify"} | {"id": row_id})
        with store.write() as conn:
            if error is None:
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(
                    delivered_at=now_u, attempts=row.attempts + 1, last_error=None))
                outcome.delivered += 1
            else:
                wait = BACKOFF[min(row.attempts, len(BACKOFF) - 1)]
                conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(
                    attempts=row.attempts + 1, last_error=error[:2000],
                    next_attempt_at=now_u + wait))
                outcome.failed += 1
                log.warning("delivery_failed", outbox=row_id, task=row.task_id,
                            attempt=row.attempts + 1, error=error[:200],
                            retry_in_s=int(wait.total_seconds()))
    if due:
        log.info("delivery_ran", delivered=outcome.delivered, failed=outcome.failed,
                 skipped=outcome.skipped)
    return outcome


def _send(to: dict[str, str], payload: dict[str, Any]) -> str | None:
    """Delivers one payload to every target; returns an error text, or None."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    errors = []
    if "command" in to:
        try:
            done = subprocess.run(shlex.split(to["command"]), input=body, capture_output=True,
                                  timeout=TIMEOUT_S, check=False,
                                  env={**os.environ, "WORKFLOW_ESCALATION": body.decode()})
            if done.returncode:
                tail = done.stderr.decode(errors="replace").strip()[-300:]
                errors.append(f"command exited {done.returncode}: {tail}")
        except (OSError, ValueError, subprocess.TimeoutExpired) as err:
            errors.append(f"command failed: {err}")
    if "webhook" in to:
        request = urllib.request.Request(to["webhook"], data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                if response.status >= 300:
                    errors.append(f"webhook answered {response.status}")
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"webhook failed: {err}")
    return "; ".join(errors) or None
