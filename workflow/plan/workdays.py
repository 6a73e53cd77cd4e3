"""Vietnam's working days as a table: weekends, public holidays (lunar ones computed), and
a plan's swaps; and reading a plan's ``calendar:`` block against it.

Public holidays come from the maintained ``holidays`` package (country "VN"): Tết Dương lịch,
Tết Nguyên đán and Giỗ Tổ Hùng Vương from the Vietnamese lunar calendar, 30/4, 1/5, Quốc khánh
(two days since 2021), days off in lieu when a holiday falls on a weekend, and the government's
announced swaps (a weekday off, a Saturday worked in exchange). A plan adds its own swaps:
``calendar: {days_off: [2/5/2025], working_days: [26/4/2025]}``.

Arithmetic is a lookup: for the years in use the calendar keeps a sorted array of working days
and a prefix count per day, so each question is an index or a bisect, whatever the distance.
"""

from __future__ import annotations

import datetime
import re
from array import array
from collections.abc import Iterable

import holidays
from holidays.countries.vietnam import VietnamStaticHolidays

from workflow.i18n import _
from workflow.plan.dates import DateParseError, parse_date

__all__ = ["VIETNAM", "CalendarError", "WorkingCalendar", "dmy", "read_calendar"]

Date = datetime.date
_ONE_DAY = datetime.timedelta(days=1)
_DAY = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIRST_YEAR, _LAST_YEAR = 1995, 2199  # observed days and swaps are known from 1995 on


class CalendarError(ValueError):
    """A plan's ``calendar:`` block is wrong; str(err) says which day and why."""


class WorkingCalendar:
    """Working days: not Saturday or Sunday, not a public holiday, unless swapped.

    ``days_off`` and ``working_days`` are the plan's swaps (a day off the law does not give,
    a Saturday worked); they win over the built-in calendar.
    """

    def __init__(self, days_off: Iterable[Date] = (), working_days: Iterable[Date] = ()) -> None:
        self.days_off, self.working_days = frozenset(days_off), frozenset(working_days)
        both = self.days_off & self.working_days
        if both:
            raise CalendarError(_("{day} is both a day off and a working day").format(
                day=dmy(min(both))))
        self._lo = self._hi = 0  # years covered by the arrays below
        self._base = 0  # ordinal of 1 January of year _lo
        self._prefix = array("l")  # _prefix[i]: working days before day _base + i
        self._working = array("l")  # ordinals of the working days, ascending
        self._names: dict[Date, str] = {}

    # ---------------------------------------------------------------- questions

    def is_working_day(self, day: Date) -> bool:
        i = self._index(day)
        return self._prefix[i + 1] > self._prefix[i]

    def holiday(self, day: Date) -> str | None:
        """The name of the public holiday or swap that makes ``day`` a day off, if any."""
        self._index(day)
        return self._names.get(day)

    def add(self, day: Date, n: int) -> Date:
        """The n-th working day after ``day`` (before it when n < 0); ``day`` itself for 0."""
        if n == 0:
            return day
        while True:
            i = self._index(day)
            k = self._prefix[i + 1] + n - 1 if n > 0 else self._prefix[i] + n
            if 0 <= k < len(self._working):
                return Date.fromordinal(self._working[k])
            if (self._hi if n > 0 else -self._lo) >= (_LAST_YEAR if n > 0 else -_FIRST_YEAR):
                raise CalendarError(_("{n} working days from {day} leave the calendar "
                                      "({first}–{last})").format(
                    n=n, day=dmy(day), first=_FIRST_YEAR, last=_LAST_YEAR))
            # Cover about n working days more (200 a year), but never past the calendar's end:
            # an answer in its last year must not be refused for the jump overshooting it.
            year = self._hi + 1 + n // 200 if n > 0 else self._lo - 1 + n // 200
            self._cover(min(max(year, _FIRST_YEAR), _LAST_YEAR))

    def between(self, start: Date, end: Date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if end < start)."""
        self._index(end)  # covering a year may move the base: index ``start`` after it
        i, j = self._index(start), self._index(end)
        return self._prefix[j + 1] - self._prefix[i + 1]

    def days_off_between(self, start: Date, end: Date) -> list[tuple[Date, str]]:
        """The holidays and swapped days off after ``start`` up to ``end``, with their names."""
        self._index(start)
        self._index(end)
        return sorted((d, name) for d, name in self._names.items() if start < d <= end
                      and not self.is_working_day(d))

    # ---------------------------------------------------------------- the arrays

    def _index(self, day: Date) -> int:
        if not self._lo <= day.year <= self._hi:
            self._cover(day.year)
        return day.toordinal() - self._base

    def _cover(self, year: int) -> None:
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise CalendarError(_("{year} is outside the working-day calendar ({first}–{last})")
                                .format(year=year, first=_FIRST_YEAR, last=_LAST_YEAR))
        lo, hi = (min(year, self._lo), max(year, self._hi)) if self._lo else (year, year)
        lo, hi = max(_FIRST_YEAR, lo - 1), min(_LAST_YEAR, hi + 1)  # a year's margin each side
        self._names = _public_days_off(lo, hi)
        made_up = _made_up_saturdays(lo, hi)
        for d in self.days_off:
            self._names[d] = "ngày nghỉ theo kế hoạch (calendar.days_off)"
        base, last = Date(lo, 1, 1).toordinal(), Date(hi, 12, 31).toordinal()
        prefix, working, count = array("l", [0]), array("l"), 0
        for ordinal in range(base, last + 1):
            day = Date.fromordinal(ordinal)
            if day in self.working_days or (day in made_up and day not in self.days_off):
                on = True
            else:
                on = day.weekday() < 5 and day not in self._names
            if on:
                count += 1
                working.append(ordinal)
            prefix.append(count)
        self._lo, self._hi, self._base = lo, hi, base
        self._prefix, self._working = prefix, working


def _public_days_off(lo: int, hi: int) -> dict[Date, str]:
    return dict(holidays.country_holidays("VN", years=range(lo, hi + 1), language="vi"))


def _made_up_saturdays(lo: int, hi: int) -> set[Date]:
    """Weekend days worked in exchange for a day off the government moved (swaps).

    ``holidays`` lists the day off of each swap as a holiday; the day worked in exchange sits in
    its table of special days as (month off, day off, month worked, day worked[, year worked]).
    """
    worked: set[Date] = set()
    for year, entries in getattr(VietnamStaticHolidays, "special_public_holidays", {}).items():
        if not (lo <= year <= hi and isinstance(entries, tuple) and entries):
            continue
        for entry in entries if isinstance(entries[0], tuple) else (entries,):
            try:
                _m_off, _d_off, m_on, d_on, *rest = entry
                worked.add(Date(rest[0] if rest else year, m_on, d_on))
            except (TypeError, ValueError):
                continue  # an entry of another shape: the plan's calendar can still add it
    return worked


def dmy(day: Date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


VIETNAM = WorkingCalendar()


def read_calendar(value: object) -> WorkingCalendar:
    """A plan's ``calendar:`` mapping: {days_off: [d/m/yyyy, ...], working_days: [...]}."""
    if value is None:
        return VIETNAM
    if not isinstance(value, dict) or set(value) - {"days_off", "working_days"}:
        raise CalendarError(_("calendar must be a mapping with days_off and/or working_days, "
                              "e.g. {days_off: [2/5/2025], working_days: [26/4/2025]}"))
    days = {key: [_one_day(key, v) for v in (value.get(key) or [])]
            for key in ("days_off", "working_days")}
    for day in days["days_off"]:
        if not VIETNAM.is_working_day(day):
            why = VIETNAM.holiday(day) or _("a weekend day")
            raise CalendarError("calendar.days_off: " + _(
                "{day} is already a day off ({why})").format(day=dmy(day), why=why))
    for day in days["working_days"]:
        if VIETNAM.is_working_day(day):
            raise CalendarError("calendar.working_days: " + _(
                "{day} is already a working day").format(day=dmy(day)))
    return WorkingCalendar(days["days_off"], days["working_days"])


def _one_day(key: str, value: object) -> Date:
    if isinstance(value, Date):
        return value
    text = value if isinstance(value, str) else ""
    if not _DAY.fullmatch(text.strip()):
        raise CalendarError(f"calendar.{key}: " + _(
            "{value!r} is not one day; write e.g. 2/5/2025 or 2025-05-02").format(value=value))
    try:
        day = parse_date(text.strip())
    except DateParseError as err:
        raise CalendarError(f"calendar.{key}: {err}") from None
    assert day is not None  # a d/m/yyyy or ISO text always names a day
    return day
