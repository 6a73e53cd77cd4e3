"""The values a deadline phrase or a duration is read as, and how they are told in English.

Frozen and free of parsing, so the engine, the views and ``validate --explain`` share them.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

__all__ = ["MONTH_END", "NEVER", "DateParseError", "Deadline", "Duration", "Recurrence",
           "explain"]

MONTH_END = 31  # a day of 31 means "the last day of the month" in a Recurrence
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONE_DAY = datetime.timedelta(days=1)


class DateParseError(ValueError):
    """A deadline or duration could not be read.

    str(err) is one sentence: what was given, and the forms that are accepted.
    """


@dataclass(frozen=True)
class Recurrence:
    """One occurrence per period, as ``definitions.Repeat`` does.

    weekly: ``weekday`` 0-6 (Monday 0); monthly: ``day`` 1-31; yearly and quarterly: ``days``,
    (day, month) pairs. A day of 31 (MONTH_END) is the last day of whatever month it falls in.
    ``first``/``until`` bound the occurrences when the phrase names a window.
    """

    every: str
    weekday: int | None = None
    day: int | None = None
    days: tuple[tuple[int, int], ...] = ()
    first: datetime.date | None = None
    until: datetime.date | None = None

    def repeat_fields(self) -> dict[str, object]:
        """Keyword arguments for ``definitions.Repeat`` (quarterly becomes yearly days)."""
        every = "yearly" if self.every == "quarterly" else self.every
        days = tuple((min(d, calendar.monthrange(2024, m)[1]), m) for d, m in self.days)
        return {"every": every, "weekday": self.weekday, "day": self.day, "days": days,
                "first": self.first, "until": self.until}

    def occurrences(self, first: datetime.date, last: datetime.date):
        """The due days from ``first`` to ``last`` (both included), in order."""
        lo, hi = max(first, self.first or first), min(last, self.until or last)
        day = lo
        while day <= hi:
            if self.every == "weekly":
                if day.weekday() == self.weekday:
                    yield day
            elif self.every == "monthly":
                if day.day == min(self.day or MONTH_END, month_len(day.year, day.month)):
                    yield day
            elif any(day.month == m and day.day == min(d, month_len(day.year, m))
                     for d, m in self.days):
                yield day
            day += _ONE_DAY


@dataclass(frozen=True)
class Deadline:
    """What a deadline phrase was read as. ``text`` is the phrase (NFC, spaces collapsed);
    ``basis`` says in the plan's own terms what the dates come from ("Quý IV/2024")."""

    text: str
    start: datetime.date | None = None
    due: datetime.date | None = None
    recurrence: Recurrence | None = None
    no_date_reason: str | None = None
    basis: str = ""

    @property
    def reading(self) -> str:
        """A short canonical reading: "start 2025-10-01 due 2026-06-30", "yearly 31/5 14/11"."""
        if self.no_date_reason:
            return f"no date: {self.no_date_reason}"
        parts = [f"start {self.start}"] if self.start else []
        parts += [f"due {self.due}"] if self.due else []
        if r := self.recurrence:
            parts = [_recurrence_key(r)] + ([f"from {r.first}"] if r.first else []) + (
                [f"until {r.until}"] if r.until else [])
        return " ".join(parts)


@dataclass(frozen=True)
class Duration:
    """``amount`` of ``unit`` ("h", "d", "w" or "wd" for working days); "never" switches off."""

    amount: int
    unit: str

    @property
    def working_days(self) -> bool:
        return self.unit == "wd"

    @property
    def never(self) -> bool:
        return self.unit == "never"

    def timedelta(self) -> datetime.timedelta:
        """The calendar length; working days need a calendar (``calendar.add_working_days``)."""
        if self.unit in ("wd", "never"):
            raise ValueError(f"{self} has no fixed length")
        unit = {"h": "hours", "d": "days", "w": "weeks"}[self.unit]
        return datetime.timedelta(**{unit: self.amount})

    def __str__(self) -> str:
        return "never" if self.never else f"{self.amount}{self.unit}"


NEVER = Duration(0, "never")


def explain(deadline: Deadline) -> str:
    """One English line: "due 2024-12-31 (end of Quý IV/2024)", "no date: ongoing duty (...)"."""
    d, basis = deadline, f" ({deadline.basis})" if deadline.basis else ""
    if d.no_date_reason:
        return f"no date: {d.no_date_reason} ({d.text})"
    if d.recurrence:
        r = d.recurrence
        bounds = (f", from {r.first}" if r.first else "") + (f" until {r.until}" if r.until
                                                             else "")
        return f"recurring: {r.every}, due {_recurrence_text(r)}{bounds}{basis}"
    if d.start and d.due:
        return f"window {d.start} → {d.due}{basis}"
    if d.start:
        return f"starts {d.start}, no due date{basis}"
    return f"due {d.due}{basis}"


def _recurrence_key(r: Recurrence) -> str:
    if r.every == "weekly":
        return f"weekly {WEEKDAY_NAMES[r.weekday or 0][:3].lower()}"
    if r.every == "monthly":
        return f"monthly {'end' if r.day == MONTH_END else r.day}"
    if r.every == "quarterly":
        return "quarterly end"
    return "yearly " + " ".join(f"{'end' if d == MONTH_END else d}/{m}" for d, m in r.days)


def _recurrence_text(r: Recurrence) -> str:
    if r.every == "weekly":
        return f"each {WEEKDAY_NAMES[r.weekday or 0]}"
    if r.every == "monthly":
        return "the last day of the month" if r.day == MONTH_END else f"the {_ordinal(r.day)}"
    if r.every == "quarterly":
        return "the last day of each quarter"
    return " and ".join(f"end of {calendar.month_name[m]}" if d == MONTH_END else f"{d}/{m}"
                        for d, m in r.days)


def _ordinal(n: int | None) -> str:
    n = n or 0
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def month_len(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


