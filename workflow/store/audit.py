"""Appending history events to a plan's hash chain (``workflow.store.verify`` checks it).

Each event's hash covers its own canonical content and the previous event's hash, so altering,
deleting, inserting or reordering any event breaks the chain from that event on. The plan row
holds the head (last seq and hash); bumping it is also what serialises concurrent writers of
one plan on PostgreSQL (the UPDATE takes the row lock until commit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from json.encoder import encode_basestring  # the encoder's own, ensure_ascii=False
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Row

from workflow.clock import to_utc
from workflow.errors import NotFoundError
from workflow.i18n import _
from workflow.store.models import EventRow, PlanRow

GENESIS = "0" * 64
EVENT = EventRow.__table__
PLAN = PlanRow.__table__
PIECE = 1 << 16  # characters: a longer text is hashed in pieces of this size
HASHED = ("plan_id", "seq", "task_id", "event", "from_state", "to_state", "actor", "person",
          "at", "note", "escalated_to", "level", "reason", "data")


def utc_text(moment: datetime) -> str:
    """How a time enters a hash: UTC, microseconds, no offset (as every database returns it)."""
    return to_utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 of the previous hash, a newline and the event's compact, key-sorted JSON."""
    content = {}
    for key in HASHED:
        value = fields.get(key)
        if isinstance(value, datetime):
            value = utc_text(value)
        content[key] = value
    if not any(isinstance(v, str) and len(v) > PIECE for v in content.values()):
        body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()
    # A load or upgrade event carries the whole definition (tens of MB on a big plan): the
    # same bytes are hashed in pieces, without building the JSON text and its encoded copy.
    h = hashlib.sha256(f"{prev_hash}\n".encode())
    for i, key in enumerate(sorted(content)):
        h.update(f'{"," if i else "{"}"{key}":'.encode())
        value = content[key]
        if not (isinstance(value, str) and len(value) > PIECE):
            h.update(json.dumps(value, ensure_ascii=False, sort_keys=True,
                                separators=(",", ":")).encode())
            continue
        h.update(b'"')
        for start in range(0, len(value), PIECE):  # escaping is per character
            h.update(encode_basestring(value[start:start + PIECE])[1:-1].encode())
        h.update(b'"')
    h.update(b"}")
    return h.hexdigest()


class Encoded:
    """JSON text already written, for an event's data: a plan's canonical definition, in
    pieces (``Plan.canonical_json``), so that it is never held as a dict and as text at once."""

    __slots__ = ("pieces",)

    def __init__(self, pieces: Iterable[str]) -> None:
        self.pieces = pieces


def data_text(data: dict[str, Any]) -> str:
    """``json.dumps(data, ensure_ascii=False, sort_keys=True)``, with each Encoded value's
    pieces written in place (gathered as UTF-8, about half the size of the text's pieces)."""
    if not any(isinstance(v, Encoded) for v in data.values()):
        return json.dumps(data, ensure_ascii=False, sort_keys=True)
    out = bytearray()
    for i, key in enumerate(sorted(data)):
        out += f'{", " if i else "{"}{json.dumps(key, ensure_ascii=False)}: '.encode()
        value = data[key]
        if isinstance(value, Encoded):
            for piece in value.pieces:
                out += piece.encode()
        else:
            out += json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    out += b"}"
    return out.decode()


class Appender:
    """Appends events to one plan's chain inside the caller's transaction."""

    def __init__(self, conn: Connection, plan_id: str, person: str,
                 head: Row | None = None) -> None:
        """``head``: the plan row the transaction locked (``lookup.select_plan(lock=True)``);
        without it the plan's row is locked and read here."""
        self.conn = conn
        self.plan_id = plan_id
        self.person = person
        if head is None:
            # Bumping head_seq by 0 takes the plan's row lock on PostgreSQL before we read it.
            conn.execute(update(PLAN).where(PLAN.c.id == plan_id)
                         .values(head_seq=PLAN.c.head_seq))
            head = conn.execute(select(PLAN.c.head_seq, PLAN.c.head_hash)
                                .where(PLAN.c.id == plan_id)).one_or_none()
            if head is None:
                raise NotFoundError(_("no plan {plan!r}").format(plan=plan_id))
        self.seq, self.hash = head.head_seq, head.head_hash or GENESIS
        self.pending: list[dict[str, Any]] = []
        self.cache: dict[str, Any] = {}  # per-transaction lookups (e.g. agency names)
        self.deferred: dict[Any, list[dict[str, Any]]] = {}  # table -> rows, with the events

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
            "data": data_text(data) if data else None,
            "prev_hash": self.hash,
        }
        row["hash"] = self.hash = event_hash(self.hash, row)
        self.pending.append(row)
        return row

    def defer(self, table, row: dict[str, Any]) -> None:
        """A row that goes with this transaction's events (an outbox item): one bulk insert."""
        self.deferred.setdefault(table, []).append(row)

    def flush(self) -> None:
        for table, rows in self.deferred.items():
            self.conn.execute(table.insert(), rows)
        self.deferred = {}
        if not self.pending:
            return
        self.conn.execute(EVENT.insert(), self.pending)
        self.conn.execute(update(PLAN).where(PLAN.c.id == self.plan_id)
                          .values(head_seq=self.seq, head_hash=self.hash))
        self.pending = []
