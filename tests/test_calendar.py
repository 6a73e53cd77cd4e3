"""Vietnam's working days: the holidays of 2024-2026 as officially announced, swaps, arithmetic."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.rules.calendar import (
    VIETNAM,
    CalendarError,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    pause_reason,
    read_calendar,
    working_days_between,
)

D = datetime.date


def _days(first: D, last: D) -> list[D]:
    return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]


# Official schedules for officials and public employees: Tết 2025 nine days 25/1-2/2 (Văn phòng
# Chính phủ 8726/VPCP-KGVX, 26/11/2024), Tết 2026 nine days 14/2-22/2 (Bộ Nội vụ 9441/TB-BNV,
# 16/10/2025); 2/5/2025 off for Saturday 26/4/2025; 31/8/2026 off for Saturday 22/8/2026.
@pytest.mark.parametrize(
    ("first", "last"),
    [
        (D(2025, 1, 25), D(2025, 2, 2)),  # Tết Ất Tỵ
        (D(2026, 2, 14), D(2026, 2, 22)),  # Tết Bính Ngọ
        (D(2025, 4, 30), D(2025, 5, 4)),  # 30/4, 1/5 and the swapped 2/5
        (D(2026, 8, 29), D(2026, 9, 2)),  # Quốc khánh 2026 with the swapped 31/8
        (D(2025, 8, 30), D(2025, 9, 2)),  # Quốc khánh 2025: 1/9 and 2/9
    ],
)
def test_official_breaks(first: D, last: D) -> None:
    assert not any(is_working_day(d) for d in _days(first, last))
    assert is_working_day(first - datetime.timedelta(days=1))
    assert is_working_day(last + datetime.timedelta(days=1))


@pytest.mark.parametrize(
    "day",
    [
        D(2025, 1, 1), D(2026, 1, 1),  # Tết Dương lịch
        D(2024, 4, 18), D(2025, 4, 7),  # Giỗ Tổ Hùng Vương, 10/3 âm lịch
        D(2026, 4, 27),  # Giỗ Tổ 2026 falls on Sunday 26/4: Monday off in lieu
        D(2024, 4, 30), D(2024, 5, 1), D(2024, 9, 2), D(2024, 9, 3),
    ],
)  # fmt: skip
def test_public_holidays_are_days_off(day: D) -> None:
    assert not is_working_day(day)
    assert VIETNAM.holiday(day)


@pytest.mark.parametrize("day", [D(2025, 4, 26), D(2026, 8, 22)])
def test_saturdays_worked_for_a_swap_are_working_days(day: D) -> None:
    assert day.weekday() == 5
    assert is_working_day(day)


def test_weekends_and_ordinary_days() -> None:
    assert not is_working_day(D(2025, 3, 8))  # Saturday
    assert not is_working_day(D(2025, 3, 9))  # Sunday
    assert is_working_day(D(2025, 3, 10))


def test_add_working_days_skips_tet() -> None:
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 23)
    assert add_working_days(D(2026, 2, 23), -1) == D(2026, 2, 13)
    assert add_working_days(D(2026, 2, 10), 5) == D(2026, 2, 24)
    assert add_working_days(D(2026, 2, 15), 0) == D(2026, 2, 15)
    assert working_days_between(D(2026, 2, 13), D(2026, 2, 23)) == 1
    assert working_days_between(D(2026, 2, 23), D(2026, 2, 13)) == -1


def test_pause_reason_names_the_holiday_and_the_break() -> None:
    assert pause_reason(D(2026, 2, 10), D(2026, 2, 25)) == (
        "paused for Tết Nguyên Đán: no working day 14/2/2026–22/2/2026 (9 days)"
    )
    assert pause_reason(D(2025, 3, 3), D(2025, 3, 14)) is None  # weekends only


def test_plan_swaps() -> None:
    cal = read_calendar({"days_off": ["2/1/2026"], "working_days": ["2026-01-10"]})
    assert not cal.is_working_day(D(2026, 1, 2))
    assert cal.is_working_day(D(2026, 1, 10))
    assert add_working_days(D(2026, 1, 1), 1, cal) == D(2026, 1, 5)
    assert "calendar.days_off" in (pause_reason(D(2026, 1, 1), D(2026, 1, 6), cal) or "")
    assert is_working_day(D(2026, 1, 2))  # the built-in calendar is not changed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"days_off": ["1/1/2026"]}, "calendar.days_off: 1/1/2026 is already a day off"),
        ({"days_off": ["3/1/2026"]}, "3/1/2026 is already a day off (a weekend day)"),
        ({"working_days": ["5/1/2026"]}, "5/1/2026 is already a working day"),
        ({"days_off": ["Quý I/2026"]}, "calendar.days_off: 'Quý I/2026' is not one day"),
        ({"days_off": ["30/2/2026"]}, "calendar.days_off:"),
        ({"holidays": ["2/1/2026"]}, "calendar must be a mapping with days_off"),
        (["2/1/2026"], "calendar must be a mapping"),
    ],
)
def test_calendar_errors(value: object, message: str) -> None:
    with pytest.raises(CalendarError) as info:
        read_calendar(value)
    assert message in str(info.value)


def test_a_day_cannot_be_both() -> None:
    with pytest.raises(CalendarError, match="both a day off and a working day"):
        WorkingCalendar([D(2026, 1, 3)], [D(2026, 1, 3)])


@settings(max_examples=300, deadline=None)
# 400 working days are about 19 months: from 1997 on they stay inside the calendar (1995-2199)
@given(st.dates(D(1997, 1, 1), D(2198, 1, 1)), st.integers(-400, 400))
def test_add_and_between_agree(day: D, n: int) -> None:
    cal = WorkingCalendar()
    later = cal.add(day, n)
    # Counting back, the |n|-1 working days between them and ``day`` itself lie in (later, day].
    expected = n if n >= 0 else n + 1 - cal.is_working_day(day)
    assert cal.between(day, later) == expected
    if n:
        assert cal.is_working_day(later)
        assert (later > day) == (n > 0)


@settings(max_examples=200, deadline=None)
@given(st.dates(D(1996, 1, 1), D(2198, 1, 1)), st.integers(0, 60))
def test_between_counts_working_days(day: D, span: int) -> None:
    end = day + datetime.timedelta(days=span)
    expected = sum(VIETNAM.is_working_day(d) for d in _days(day, end)[1:])
    assert working_days_between(day, end) == expected
