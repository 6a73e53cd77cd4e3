"""A plan as the engine holds it: frozen, validated, in NFC; its canonical form and digest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

DEFAULT_STALL_AFTER = timedelta(days=7)
DEFAULT_STEP_AFTER = timedelta(days=3)
DEFAULT_AHEAD = timedelta(days=7)
LEAD_EACH = "each"  # `lead: each`: each unit leads its own instance; a group's stored lead


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    agency: str  # the agency acting for it: its own `agency`, else one named like the unit


@dataclass(frozen=True)
class Repeat:
    """weekly (weekday 0-6), monthly (day 1-31) or yearly ((day, month), ...) occurrences."""

    every: str
    weekday: int | None = None
    day: int | None = None
    days: tuple[tuple[int, int], ...] = ()
    first: date | None = None
    until: date | None = None
    ahead: timedelta = DEFAULT_AHEAD

    def ahead_days(self) -> timedelta:
        return timedelta(days=self.ahead.days)

    def canonical(self) -> dict[str, Any]:
        return {"every": self.every, "weekday": self.weekday, "day": self.day,
                "days": [list(d) for d in self.days],
                "from": self.first.isoformat() if self.first else None,
                "until": self.until.isoformat() if self.until else None,
                "ahead": int(self.ahead.total_seconds())}


@dataclass(frozen=True)
class TaskDef:
    id: str
    title: str
    lead: str
    support: tuple[str, ...]
    approver: str
    approver_named: bool
    depends_on: tuple[str, ...]
    due: date | None
    start: date | None
    ref: str | None = None
    note: str | None = None
    due_text: str | None = None
    line: int | None = None
    for_each: str | None = None  # a unit list id: one instance per unit
    lead_each: bool = False  # each unit's agency leads its own instance
    repeat: Repeat | None = None
    # Joint leads after the first (``lead: [a, b]``). Validated here; until the engine acts on
    # them, moves and escalation use ``lead`` (the first) only.
    co_leads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    id: str
    title: str
    issuer: str
    coordinator: str
    timezone: str
    stall_after: timedelta
    step_after: timedelta
    agencies: dict[str, Agency]
    tasks: dict[str, TaskDef]
    units: dict[str, dict[str, Unit]] = field(default_factory=dict)
    notify: dict[str, str] = field(default_factory=dict)
    document: str | None = None
    source: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def canonical(self) -> dict[str, Any]:
        """The plan's meaning as plain data: what the digest covers and the store keeps."""
        return {
            "id": self.id,
            "title": self.title,
            "document": self.document,
            "issuer": self.issuer,
            "coordinator": self.coordinator,
            "timezone": self.timezone,
            "stall_after": int(self.stall_after.total_seconds()),
            "step_after": int(self.step_after.total_seconds()),
            "agencies": {a.id: {"name": a.name, "aliases": list(a.aliases)}
                         for a in self.agencies.values()},
            "units": {lid: {u.id: {"name": u.name, "agency": u.agency} for u in us.values()}
                      for lid, us in self.units.items()},
            "tasks": {t.id: task_canonical(t) for t in self.tasks.values()},
        } | ({"notify": self.notify} if self.notify else {})

    @cached_property
    def digest(self) -> str:
        text = json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def task_canonical(t: TaskDef) -> dict[str, Any]:
    return {
        "title": t.title, "ref": t.ref, "note": t.note, "lead": t.lead,
        "support": list(t.support), "approver": t.approver if t.approver_named else None,
        "depends_on": list(t.depends_on),
        "due": t.due.isoformat() if t.due else None,
        "start": t.start.isoformat() if t.start else None,
        "for_each": t.for_each, "lead_each": t.lead_each,
        "repeat": t.repeat.canonical() if t.repeat else None,
    } | ({"co_leads": list(t.co_leads)} if t.co_leads else {})  # older digests unchanged
