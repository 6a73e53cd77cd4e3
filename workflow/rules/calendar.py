"""Working-day rules over the calendar table (``workflow.plan.workdays``, which a plan's
``calendar:`` block is checked against): adding and counting working days, relative deadlines,
and why a clock stood still."""

from __future__ import annotations

import datetime
from functools import lru_cache

from workflow import clock
from workflow.i18n import _, ngettext
from workflow.plan.dates import Duration
from workflow.plan.durations import read_duration
from workflow.plan.workdays import VIETNAM, CalendarError, WorkingCalendar, read_calendar
from workflow.plan.workdays import dmy as _dmy

__all__ = ["VIETNAM", "CalendarError", "WorkingCalendar", "add_working_days", "is_working_day",
           "pause_reason", "read_calendar", "relative_due", "remind_moment",
           "stored_duration", "working_days_between"]

Date = datetime.date
_ONE_DAY = datetime.timedelta(days=1)


def is_working_day(day: Date, cal: WorkingCalendar = VIETNAM) -> bool:
    return cal.is_working_day(day)


def add_working_days(day: Date, n: int, cal: WorkingCalendar = VIETNAM) -> Date:
    """The n-th working day after ``day`` ("15 ngày làm việc" after approval), or before it."""
    return cal.add(day, n)


def working_days_between(start: Date, end: Date, cal: WorkingCalendar = VIETNAM) -> int:
    return cal.between(start, end)


def relative_due(approved_day: Date, within: Duration, cal: WorkingCalendar = VIETNAM) -> Date:
    """The due day of ``due: {after: TASK, within: ...}`` once TASK was approved on
    ``approved_day``: that many working days (``wd``), days or weeks after it."""
    if within.unit == "wd":
        return cal.add(approved_day, within.amount)
    if within.unit in ("d", "w"):
        return approved_day + within.timedelta()
    raise ValueError(f"a relative deadline is counted in days, weeks or working days, not {within}")


@lru_cache(maxsize=256)
def stored_duration(text: str | None) -> Duration | None:
    """A duration as the store keeps it ("3wd", "2d"); None for none."""
    return read_duration(text) if text else None


def remind_moment(due: Date, before: Duration, timezone: str,
                  cal: WorkingCalendar = VIETNAM) -> datetime.datetime:
    """When a reminder ``before`` the end of the due day falls (UTC): ``3wd`` is the end of the
    working day three working days before the due day, so three working days are left."""
    if before.unit == "wd":
        return clock.end_of_day(cal.add(due, -before.amount), timezone)
    return clock.end_of_day(due, timezone) - before.timedelta()


def pause_reason(start: Date, end: Date, cal: WorkingCalendar = VIETNAM) -> str | None:
    """Why a clock running from ``start`` to ``end`` in working days stood still, or None.

    E.g. "paused for Tết Nguyên Đán: no working day 14/2/2026–22/2/2026 (9 days)".
    """
    off = cal.days_off_between(start, end)
    if not off:
        return None
    runs: list[list[tuple[Date, str]]] = []
    for day, name in off:
        if runs and cal.between(runs[-1][-1][0], day) == 0:
            runs[-1].append((day, name))  # only weekends or other days off between them
        else:
            runs.append([(day, name)])
    parts = []
    for run in runs:
        first = cal.add(run[0][0], -1) + _ONE_DAY  # the day after the last working day
        last = cal.add(run[-1][0], 1) - _ONE_DAY
        first, last = max(first, start + _ONE_DAY), min(last, end)
        names = list(dict.fromkeys(_family(n) for _, n in run))
        span = f"{_dmy(first)}–{_dmy(last)}" if first != last else _dmy(first)
        days = (last - first).days + 1
        parts.append(ngettext("{names}: no working day {span} ({days} day)",
                              "{names}: no working day {span} ({days} days)", days)
                     .format(names=", ".join(names), span=span, days=days))
    return _("paused for {reasons}").format(reasons="; ".join(parts))


def _family(name: str) -> str:
    """One name for the days of one holiday ("29 Tết", "Mùng hai Tết Nguyên Đán" -> Tết)."""
    if "Tết" in name and "Dương lịch" not in name:
        return "Tết Nguyên Đán"
    return name.removesuffix(" (nghỉ bù)")
