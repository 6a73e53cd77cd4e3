"""Recurring tasks: occurrences are created as time reaches them, never all at once.

A recurring task is a group row holding its rule; each occurrence is an instance
``task-id/YYYY-MM-DD`` due that day. The sweep (``workflow.ops.occurrences``) creates every
occurrence whose day is within the rule's look-ahead (``ahead``, default 7 days) of now, so
after a week without sweeps the missed ones are created at once, already overdue: missed, not
skipped.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from workflow import clock
from workflow.plan.model import Repeat


def rule_json(rep: Repeat) -> str:
    return json.dumps(rep.canonical(), sort_keys=True)


def rule_from_json(text: str) -> Repeat:
    d = json.loads(text)
    return Repeat(d["every"], weekday=d["weekday"], day=d["day"],
                  days=tuple(tuple(x) for x in d["days"]),
                  first=date.fromisoformat(d["from"]) if d["from"] else None,
                  until=date.fromisoformat(d["until"]) if d["until"] else None,
                  ahead=timedelta(seconds=d["ahead"]))


def occurrences(rep: Repeat, after: date | None = None) -> Iterator[date]:
    """The rule's days in order, from its first day (or the day after ``after``)."""
    day = max(rep.first or date.min, (after + timedelta(days=1)) if after else date.min)
    while rep.until is None or day <= rep.until:
        if rep.every == "weekly":
            day += timedelta(days=(rep.weekday - day.weekday()) % 7)
            nxt = day
        elif rep.every == "monthly":
            last = calendar.monthrange(day.year, day.month)[1]
            nxt = date(day.year, day.month, min(rep.day, last))
            if nxt < day:
                month = day.month % 12 + 1
                year = day.year + (day.month == 12)
                nxt = date(year, month, min(rep.day, calendar.monthrange(year, month)[1]))
        else:
            candidates = [_safe_date(y, m, d) for y in (day.year, day.year + 1)
                          for d, m in rep.days]
            nxt = min(c for c in candidates if c is not None and c >= day)
        if rep.until is not None and nxt > rep.until:
            return
        yield nxt
        day = nxt + timedelta(days=1)


def _safe_date(year: int, month: int, day: int) -> date | None:
    if day == 31:  # the last day of the month ("hằng quý", "trước ngày 01/7 hằng năm")
        return date(year, month, calendar.monthrange(year, month)[1])
    try:
        return date(year, month, day)
    except ValueError:  # 29/2 in a common year
        return None


def next_create_at(rep: Repeat, after: date | None, tz: str) -> datetime | None:
    nxt = next(occurrences(rep, after), None)
    return None if nxt is None else clock.start_of_day(nxt - rep.ahead_days(), tz)
