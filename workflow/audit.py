"""Appending history events to a plan's hash chain, and verifying the chain.

Each event's hash covers its own canonical content and the previous event's hash, so altering,
deleting, inserting or reordering any event breaks the chain from that event on. The plan row
holds the head (last seq and hash); bumping it is also what serialises concurrent writers of
one plan on PostgreSQL (the UPDATE takes the row lock until commit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.errors import AuditError, NotFoundError
from workflow.models import EventRow, PlanRow

GENESIS = "0" * 64
EVENT = EventRow.__table__
PLAN = PlanRow.__table__
HASHED = ("plan_id", "seq", "task_id", "event", "from_state", "to_state", "actor", "person",
          "at", "note", "escalated_to", "level", "reason", "data")


def utc_text(moment: datetime) -> str:
    """How a time enters a hash: UTC, microseconds, no offset (as every database returns it)."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    content = {}
    for key in HASHED:
        value = fields.get(key)
        if isinstance(value, datetime):
            value = utc_text(value)
        content[key] = value
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


class Appender:
    """Appends events to one plan's chain inside the caller's transaction."""

    def __init__(self, conn: Connection, plan_id: str, person: str) -> None:
        self.conn = conn
        self.plan_id = plan_id
        self.person = person
        # Bumping head_seq by 0 first takes the plan's row lock on PostgreSQL before we read it.
        conn.execute(update(PLAN).where(PLAN.c.id == plan_id).values(head_seq=PLAN.c.head_seq))
        head = conn.execute(select(PLAN.c.head_seq, PLAN.c.head_hash)
                            .where(PLAN.c.id == plan_id)).one_or_none()
        if head is None:
            raise NotFoundError(f"no plan {plan_id!r}")
        self.seq, self.hash = head.head_seq, head.head_hash or GENESIS
        self.pending: list[dict[str, Any]] = []

    def add(self, *, event: str, at: datetime, task_id: str | None = None,
            from_state: str | None = None, to_state: str | None = None,
            actor: str | None = None, note: str | None = None,
            escalated_to: str | None = None, level: int | None = None,
            reason: str | None = None, data: dict | None = None) -> dict[str, Any]:
        self.seq += 1
        row = {
            "plan_id": self.plan_id, "seq": self.seq, "task_id": task_id, "event": event,
            "from_state": from_state, "to_state": to_state, "actor": actor,
            "person": self.person, "at": to_utc(at), "note": note,
            "escalated_to": escalated_to, "level": level, "reason": reason,
            "data": json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None,
            "prev_hash": self.hash,
        }
        row["hash"] = self.hash = event_hash(self.hash, row)
        self.pending.append(row)
        return row

    def flush(self) -> None:
        if not self.pending:
            return
        self.conn.execute(EVENT.insert(), self.pending)
        self.conn.execute(update(PLAN).where(PLAN.c.id == self.plan_id)
                          .values(head_seq=self.seq, head_hash=self.hash))
        self.pending = []


@dataclass(frozen=True)
class Verification:
    plan_id: str
    events: int
    head_hash: str
    head_seq: int


def verify(conn: Connection, plan_id: str, head: str | None = None) -> Verification:
    """Recomputes the chain; raises AuditError naming the first event that does not match."""
    plan = conn.execute(select(PLAN.c.head_seq, PLAN.c.head_hash)
                        .where(PLAN.c.id == plan_id)).one_or_none()
    if plan is None:
        raise NotFoundError(f"no plan {plan_id!r}")
    prev, expected_seq, count, head_found = GENESIS, 1, 0, head is None
    cols = [EVENT.c[k] for k in (*HASHED, "prev_hash", "hash", "id")]
    result = conn.execution_options(yield_per=2000).execute(
        select(*cols).where(EVENT.c.plan_id == plan_id).order_by(EVENT.c.seq))
    for row in result:
        fields = row._asdict()
        where = f"plan {plan_id}: event seq {fields['seq']}"
        if fields["seq"] != expected_seq:
            missing = "missing" if fields["seq"] > expected_seq else "duplicated"
            raise AuditError(f"{where}: expected seq {expected_seq}; an event is {missing} "
                             f"(history altered at or before seq {expected_seq})")
        if fields["prev_hash"] != prev:
            raise AuditError(f"{where}: its link to the previous event is broken (an event "
                             "before it was removed, inserted or changed)")
        if event_hash(prev, fields) != fields["hash"]:
            raise AuditError(f"{where} ({fields['event']}"
                             f"{' on ' + fields['task_id'] if fields['task_id'] else ''}): "
                             "its content does not match its hash (the event was altered)")
        prev = fields["hash"]
        count += 1
        expected_seq += 1
        if head is not None and prev.startswith(head.lower()):
            head_found = True
    if count != plan.head_seq or (count and prev != plan.head_hash):
        raise AuditError(f"plan {plan_id}: the history ends at seq {count} but the plan records "
                         f"{plan.head_seq} events (events were removed from the end)")
    if not head_found:
        raise AuditError(f"plan {plan_id}: head {head} is not in the history; the history "
                         "written before that head was altered or the hash is wrong")
    return Verification(plan_id, count, prev, count)
