"""A task's escalation clocks as the engine runs them: its own ``stall_after``, ``step_after``
and ``remind_before`` (``wf_task.clock``), else the plan's (``escalation:``), in calendar time
or in working days on the plan's calendar (Vietnam's holidays and the plan's swaps).

``plan_clocks(settings)`` reads a plan's settings (a ``wf_plan`` row, or the settings an as-of
replay has in force): the seconds columns, and the ``definition`` JSON that holds what no
column does (``stall_rule``/``step_rule``/``remind_before`` texts and ``calendar``, under the
keys ``Plan.canonical()`` gives them, so a load event's definition reads the same way).
``effective(clock, plan, dated=...)`` is the one place that decides a task's durations; each is
a ``Span`` that says when it runs out from a moment (``after``), how many whole lengths have
run since one (``count``) and why it stood still (``paused``).

Pure and cached: a plan of 100,000 tasks shares a handful of ``Clocks`` values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from workflow import clock as wclock
from workflow.plan.datevalues import NEVER, Duration
from workflow.plan.durations import read_duration
from workflow.plan.model import Plan
from workflow.rules.calendar import VIETNAM, WorkingCalendar, pause_reason

__all__ = ["Clocks", "PlanClocks", "Span", "effective", "plan_clocks", "plan_settings",
           "task_clock"]

# The keys of ``Plan.canonical()`` (and of ``wf_plan.definition``) the clocks read.
SETTING_KEYS = ("stall_rule", "step_rule", "remind_before", "calendar")
CLOCK_KEYS = ("stall_after", "step_after", "remind_before")


@dataclass(frozen=True, eq=False)
class Span:
    """A length on a plan's clock: fixed (``length``) or ``days`` working days, which skip
    weekends, public holidays and the plan's days off, and keep the time of day."""

    duration: Duration
    calendar: WorkingCalendar
    timezone: str
    length: timedelta | None = None  # a fixed length; None for working days

    @property
    def working_days(self) -> bool:
        return self.length is None

    def after(self, moment: datetime, times: int = 1) -> datetime:
        """When ``times`` lengths from ``moment`` have run (UTC)."""
        if self.length is not None:
            return wclock.to_utc(moment) + self.length * times
        return _working_after(self, moment, times)

    def count(self, since: datetime, now: datetime) -> int:
        """How many whole lengths have run from ``since`` to ``now`` (0 before ``since``)."""
        since, now = wclock.to_utc(since), wclock.to_utc(now)
        if now <= since:
            return 0
        if self.length is not None:
            return int((now - since) // self.length) if self.length > timedelta(0) else 0
        start, end = wclock.local(since, self.timezone), wclock.local(now, self.timezone)
        days = self.calendar.between(start.date(), end.date())
        if days and self.calendar.is_working_day(end.date()) and end.time() < start.time():
            days -= 1  # today's working day has not reached the hour it started at
        return days // self.duration.amount

    def paused(self, start: datetime, end: datetime) -> str | None:
        """Why this clock stood still between ``start`` and ``end`` ("paused for Tết
        Nguyên Đán: no working day 14/2/2026–22/2/2026 (9 days)"), or None: only a clock
        in working days stops for holidays."""
        if self.length is not None or end <= start:
            return None
        return pause_reason(wclock.today(start, self.timezone), wclock.today(end, self.timezone),
                            self.calendar)

    def __str__(self) -> str:
        return str(self.duration)


@lru_cache(maxsize=4096)
def _working_after(span: Span, moment: datetime, times: int) -> datetime:
    """Cached: a load or an upgrade starts thousands of clocks at one moment."""
    here = wclock.local(moment, span.timezone)
    day = span.calendar.add(here.date(), span.duration.amount * times)
    return _at(day, here.time(), span.timezone)


def _at(day: date, at: time, tz: str) -> datetime:
    return wclock.to_utc(datetime.combine(day, at, tzinfo=wclock.zone(tz)))


@dataclass(frozen=True, eq=False)
class PlanClocks:
    """A plan's own clocks: ``stall_after`` (None: never), ``step_after``, ``remind_before``."""

    stall_after: Duration
    step_after: Duration
    remind_before: Duration | None
    calendar: WorkingCalendar
    timezone: str

    def span(self, duration: Duration | None) -> Span | None:
        if duration is None or duration.never:
            return None
        if duration.working_days:
            return Span(duration, self.calendar, self.timezone)
        return Span(duration, self.calendar, self.timezone, duration.timedelta())


@dataclass(frozen=True, eq=False)
class Clocks:
    """A task's clocks in force: ``stall`` None never stalls, ``remind`` None never reminds."""

    stall: Span | None
    step: Span
    remind: Span | None


# --------------------------------------------------------------------------- plans


def plan_settings(plan: Plan) -> dict[str, Any]:
    """What ``wf_plan.definition`` keeps of the plan's clocks, as ``Plan.canonical()`` writes
    them: only the keys the plan uses, so a plan without them keeps the row it had."""
    out: dict[str, Any] = {k: str(v) for k, v in (
        ("stall_rule", plan.stall_rule), ("step_rule", plan.step_rule),
        ("remind_before", plan.remind_before)) if v is not None}
    if plan.days_off or plan.working_days:
        out["calendar"] = {"days_off": [d.isoformat() for d in plan.days_off],
                           "working_days": [d.isoformat() for d in plan.working_days]}
    return out


def plan_clocks(settings: Any) -> PlanClocks:
    """The clocks of a plan row (or replayed settings): ``timezone``, ``stall_after`` and
    ``step_after`` in seconds, and ``definition`` (JSON text or a dict) for the rest."""
    last = _LAST[0]
    if last is not None and last[0] is settings:  # a load asks thousands of times for one row
        return last[1]
    definition = getattr(settings, "definition", None)
    if isinstance(definition, dict):
        definition = json.dumps({k: definition[k] for k in SETTING_KEYS if k in definition},
                                sort_keys=True)
    found = _plan_clocks(settings.timezone, int(settings.stall_after), int(settings.step_after),
                         definition or "{}")
    _LAST[0] = (settings, found)  # one tuple, swapped whole: safe across threads; rows and
    return found                  # replayed settings are never changed in place


_LAST: list[tuple[Any, PlanClocks] | None] = [None]


@lru_cache(maxsize=256)
def _plan_clocks(tz: str, stall: int, step: int, definition: str) -> PlanClocks:
    d = json.loads(definition) if definition else {}
    d = d if isinstance(d, dict) else {}
    cal = d.get("calendar") or {}
    return PlanClocks(
        stall_after=_text(d.get("stall_rule")) or _seconds(stall),
        step_after=_text(d.get("step_rule")) or _seconds(step),
        remind_before=_text(d.get("remind_before")),
        calendar=_calendar(tuple(cal.get("days_off") or ()), tuple(cal.get("working_days") or ())),
        timezone=tz)


def _seconds(seconds: int) -> Duration:
    """A plan column in seconds as a Duration (whole days or hours, as a plan writes them)."""
    if seconds % 86400 == 0:
        return Duration(seconds // 86400, "d")
    if seconds % 3600 == 0:
        return Duration(seconds // 3600, "h")
    return _Seconds(seconds, "s")


@dataclass(frozen=True)
class _Seconds(Duration):
    """A stored length in seconds no definition writes (older rows, tests): fixed, exact."""

    def timedelta(self) -> timedelta:
        return timedelta(seconds=self.amount)


def _text(value: object) -> Duration | None:
    return read_duration(value, never=True) if isinstance(value, str) and value else None


@lru_cache(maxsize=64)
def _calendar(days_off: tuple[str, ...], working_days: tuple[str, ...]) -> WorkingCalendar:
    if not days_off and not working_days:
        return VIETNAM
    return WorkingCalendar([date.fromisoformat(d) for d in days_off],
                           [date.fromisoformat(d) for d in working_days])


# --------------------------------------------------------------------------- tasks


def task_clock(stall_after: Duration | None, step_after: Duration | None,
               remind_before: Duration | None) -> str | None:
    """``wf_task.clock`` for a task's own durations: JSON of their texts, None if it has none."""
    own = {k: str(v) for k, v in zip(CLOCK_KEYS, (stall_after, step_after, remind_before),
                                      strict=True) if v is not None}
    return json.dumps(own, sort_keys=True) if own else None


def effective(clock: str | dict | None, plan: PlanClocks, *, dated: bool) -> Clocks:
    """The clocks in force for a task: its own (``wf_task.clock``) over the plan's. A task
    without a due date (an ongoing duty, a deadline still waiting for another task) does not
    stall unless its own ``stall_after`` says so; ``never`` never stalls."""
    if isinstance(clock, dict):
        clock = json.dumps(clock, sort_keys=True)
    return _effective(clock or "", plan, dated)


@lru_cache(maxsize=4096)
def _effective(clock: str, plan: PlanClocks, dated: bool) -> Clocks:
    own = json.loads(clock) if clock else {}
    own = own if isinstance(own, dict) else {}
    stall = _text(own.get("stall_after"))
    if stall is None:
        stall = plan.stall_after if dated else NEVER
    step = _text(own.get("step_after")) or plan.step_after
    remind = _text(own.get("remind_before")) or plan.remind_before
    step_span = plan.span(step)
    assert step_span is not None  # step_after is never "never" (the reader refuses it)
    return Clocks(stall=plan.span(stall), step=step_span, remind=plan.span(remind))
