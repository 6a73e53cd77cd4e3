"""The engine clock and the plan's calendar.

``WORKFLOW_NOW`` (ISO 8601) fixes the clock for simulation and tests; a value without an
offset is read in the default plan timezone. A due date means the end of that day in the plan's
timezone: a task is overdue from the first moment of the next day.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from workflow.errors import UsageError
from workflow.i18n import _

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def read_iso(value: str, tz: str = DEFAULT_TIMEZONE) -> datetime | None:
    """An ISO 8601 date or date-time (``Z`` allowed; naive read in ``tz``), or None."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def parse_instant(value: str, *, what: str = "WORKFLOW_NOW") -> datetime:
    """ISO 8601 date or date-time; naive values are read in Asia/Ho_Chi_Minh."""
    moment = read_iso(value)
    if moment is None:
        raise UsageError(_("{what}={value!r} is not an ISO 8601 time; write e.g. "
                           "2024-05-01T09:00:00+07:00 or 2024-05-01").format(what=what,
                                                                              value=value))
    if not 1900 <= moment.year <= 2199:  # as plan dates: deadlines must stay on the calendar
        raise UsageError(_("{what}={value!r} is not between 1900 and 2199").format(
            what=what, value=value))
    return moment


def now() -> datetime:
    fixed = os.environ.get("WORKFLOW_NOW")
    if fixed:
        return parse_instant(fixed)
    return datetime.now(UTC)


def to_utc(moment: datetime) -> datetime:
    """Times are stored and compared as aware UTC (a naive value is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def start_of_day(day: date, tz: str) -> datetime:
    """The first moment of ``day`` in ``tz``, in UTC."""
    return to_utc(datetime.combine(day, time.min, tzinfo=zone(tz)))


def end_of_day(day: date, tz: str) -> datetime:
    """The first moment after ``day`` in ``tz``, in UTC (overdue from then on)."""
    return start_of_day(day + timedelta(days=1), tz)


def local(moment: datetime, tz: str) -> datetime:
    """A stored UTC time shown in the plan's timezone."""
    return to_utc(moment).astimezone(zone(tz))


def today(moment: datetime, tz: str) -> date:
    return local(moment, tz).date()


ONE_US = timedelta(microseconds=1)


def parse_moment(value: str | datetime | date, tz: str, *, what: str,
                 end: bool = True) -> datetime:
    """An ISO date-time (naive: in the plan's timezone), an ISO date or d/m/yyyy, in UTC.

    A date means its last moment (``end``, for --at and --until) or its first (--since), in
    the plan's timezone.
    """
    if isinstance(value, datetime):
        return to_utc(value)
    day = value if isinstance(value, date) else read_date(value, what)
    try:
        if day is not None:
            return (end_of_day(day, tz) - ONE_US) if end else start_of_day(day, tz)
        moment = read_iso(value, tz)
        if moment is None:
            raise UsageError(_("{what} {value!r} is not a date or time; write e.g. 2024-05-01, "
                               "1/5/2024 or 2024-05-01T09:00:00+07:00").format(what=what,
                                                                               value=value))
        return to_utc(moment)
    except OverflowError:  # 0001-01-01 or 9999-12-31: its day does not fit in UTC
        raise UsageError(_("{what} {value!r} is beyond the calendar; give a date between 1900 "
                           "and 2199").format(what=what, value=value)) from None


def read_date(text: str, what: str = "date") -> date | None:
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        raise UsageError(_("{what} {value!r} is not a date in the calendar").format(
            what=what, value=text)) from None
    return None
