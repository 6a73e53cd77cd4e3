"""A plan as the engine holds it: frozen, validated, in NFC; its canonical form and digest.

New keys enter ``canonical()`` only when a plan uses them, so a plan written before them keeps
its digest (``load --upgrade`` sees no change).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, partial
from typing import Any

from workflow.plan.datevalues import Deadline, Duration

DEFAULT_STALL_AFTER = timedelta(days=7)
DEFAULT_STEP_AFTER = timedelta(days=3)
DEFAULT_AHEAD = timedelta(days=7)


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
    """weekly (weekday 0-6), monthly (day 1-31), yearly ((day, month), ...) occurrences, or
    quarterly (yearly days at the end of each quarter, from a phrase such as "hằng quý").

    A day of 31 in ``days`` is the last day of its month (a phrase's "cuối tháng 6"); a day the
    ``repeat:`` key wrote is always a real day of a leap year, so 31 never means anything else.
    """

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
    due_text: str | None = None  # the `due` phrase as written (NFC, spaces collapsed)
    line: int | None = None
    for_each: str | None = None  # a unit list id: one instance per unit
    lead_each: bool = False  # each unit's agency leads its own instance
    repeat: Repeat | None = None
    # Joint leads after the first (``lead: [a, b]``): each may make the lead's moves, none
    # approves; ``lead`` (the first) heads the escalation chain. Stored as ``wf_task.co_leads``.
    co_leads: tuple[str, ...] = ()
    # Why a task has no due date ("ongoing duty"), when its phrase says so ("Thường xuyên").
    no_date_reason: str | None = None
    # ``due: {after: TASK, within: 15wd}``: due ``due_within`` after TASK is approved.
    due_after: str | None = None
    due_within: Duration | None = None
    # Per-task escalation clocks, overriding the plan's ``escalation:`` block.
    stall_after: Duration | None = None
    step_after: Duration | None = None
    remind_before: Duration | None = None
    # What the phrase was read as (for ``validate --explain``); its dates are the fields above.
    deadline: Deadline | None = field(default=None, compare=False)


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
    # escalation: values a timedelta cannot hold (working days, never), and reminders
    stall_rule: Duration | None = None  # set when stall_after is in wd or never
    step_rule: Duration | None = None  # set when step_after is in wd
    remind_before: Duration | None = None
    # calendar: the government's yearly swaps on top of Vietnam's public holidays; the engine
    # builds the working days with ``calendar.WorkingCalendar(plan.days_off, plan.working_days)``
    days_off: tuple[date, ...] = ()
    working_days: tuple[date, ...] = ()
    # period: the plan's own span ("2026 - 2030"); recurring deadlines without a window of
    # their own start and end there
    period: Deadline | None = None

    def canonical(self) -> dict[str, Any]:
        """The plan's meaning as plain data: what the digest covers and the store keeps."""
        return self._canonical_head() | {
            "tasks": {t.id: task_canonical(t) for t in self.tasks.values()}}

    def canonical_json(self, separators: tuple[str, str] = (", ", ": ")) -> Iterator[str]:
        """``json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True,
        separators=separators)``, in pieces, one task at a time: the canonical dict of a
        100,000-task plan, and the encoder's copy of its text, are each hundreds of MB."""
        item, colon = separators
        dump = partial(json.dumps, ensure_ascii=False, sort_keys=True,
                                 separators=separators)
        head = self._canonical_head()
        for i, key in enumerate(sorted([*head, "tasks"])):
            yield ("{" if i == 0 else item) + dump(key) + colon
            if key != "tasks":
                yield dump(head[key])
                continue
            yield "{"
            for j, task_id in enumerate(sorted(self.tasks)):
                yield ((item if j else "") + dump(task_id) + colon
                       + dump(task_canonical(self.tasks[task_id])))
            yield "}"
        yield "}"

    def _canonical_head(self) -> dict[str, Any]:
        """``canonical()`` but its tasks."""
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
        } | ({"notify": self.notify} if self.notify else {}) | self._newer()

    def _newer(self) -> dict[str, Any]:
        """Keys added with issue 12, present only when the plan uses them."""
        out: dict[str, Any] = _durations(stall_rule=self.stall_rule, step_rule=self.step_rule,
                                         remind_before=self.remind_before)
        if self.days_off or self.working_days:
            out["calendar"] = {"days_off": [d.isoformat() for d in self.days_off],
                               "working_days": [d.isoformat() for d in self.working_days]}
        if self.period is not None:
            out["period"] = {"text": self.period.text, "start": _iso(self.period.start),
                             "due": _iso(self.period.due)}
        return out

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the compact canonical JSON, hashed piece by piece."""
        h = hashlib.sha256()
        for piece in self.canonical_json(separators=(",", ":")):
            h.update(piece.encode())
        return h.hexdigest()


def task_canonical(t: TaskDef) -> dict[str, Any]:
    out = {
        "title": t.title, "ref": t.ref, "note": t.note, "lead": t.lead,
        "support": list(t.support), "approver": t.approver if t.approver_named else None,
        "depends_on": list(t.depends_on),
        "due": _iso(t.due), "start": _iso(t.start),
        "for_each": t.for_each, "lead_each": t.lead_each,
        "repeat": t.repeat.canonical() if t.repeat else None,
    }
    if t.co_leads:  # older digests unchanged: these keys only when used
        out["co_leads"] = list(t.co_leads)
    if t.no_date_reason:
        out["no_date"] = {"reason": t.no_date_reason, "text": t.due_text}
    if t.due_after:
        out["due_after"] = {"task": t.due_after, "within": str(t.due_within)}
    return out | _durations(stall_after=t.stall_after, step_after=t.step_after,
                            remind_before=t.remind_before)


def _durations(**values: Duration | None) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v is not None}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
