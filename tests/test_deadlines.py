"""parse_deadline: SPEC's table of forms, what explain() says, recurrences and durations."""

from __future__ import annotations

import datetime

import pytest

from workflow.plan.dates import (
    DateParseError,
    Deadline,
    Recurrence,
    explain,
    parse_deadline,
    read_duration,
)
from workflow.plan.datevalues import MONTH_END, NEVER, Duration

D = datetime.date

# SPEC.md, "Definition files": every form of the table reads as shown.
SPEC = [
    ("Quý III và IV/2024", "due 2024-12-31"),
    ("Quý III, IV năm 2024", "due 2024-12-31"),
    ("Quý IV/2025 - Quý II/2026", "start 2025-10-01 due 2026-06-30"),
    ("Tháng 11 - 12/2025", "start 2025-11-01 due 2025-12-31"),
    ("Từ tháng 01/2024 đến hết 31/12/2025", "start 2024-01-01 due 2025-12-31"),
    ("2026 - 2030", "start 2026-01-01 due 2030-12-31"),
    ("Năm 2025 - 2026", "start 2025-01-01 due 2026-12-31"),
    ("Giai đoạn 2026-2030", "start 2026-01-01 due 2030-12-31"),
    ("Năm 2025", "due 2025-12-31"),
    ("2025", "due 2025-12-31"),
    ("Hoàn thành trong năm 2025", "due 2025-12-31"),
    ("Trong tháng 12/2025", "due 2025-12-31"),
    ("6 tháng đầu năm 2025", "due 2025-06-30"),
    ("6 tháng cuối năm 2025", "due 2025-12-31"),
    ("Từ 01/7/2025", "start 2025-07-01"),
    ("Từ tháng 11/2025 đến khi kết thúc Đề án", "start 2025-11-01"),
    ("trước ngày 20 hằng tháng", "monthly 19"),
    ("Tháng 12 hằng năm", "yearly end/12"),
    ("trước ngày 01/6 và 15/11 hằng năm", "yearly end/5 14/11"),
    ("định kỳ hằng quý", "quarterly end"),
    ("Hằng năm", "yearly end/12"),
    ("Thường xuyên", "no date: ongoing duty"),
    ("Nhiệm vụ thường xuyên hằng năm", "no date: ongoing duty"),
    ("Theo tiến độ triển khai dự án", "no date: follows the progress of other work"),
    ("Theo lộ trình thực hiện cải cách chính sách tiền lương", "no date: follows a roadmap"),
    ("Theo kế hoạch ...", "no date: follows another plan"),
    ("Khi có phát sinh", "no date: when the need arises"),
    ("Sau khi có Quyết định của UBND tỉnh", "no date: after another event"),
    # spellings of the same forms
    ("Quí III năm 2024", "due 2024-09-30"),
    ("quý 3 - 2024", "due 2024-09-30"),
    ("Quí IV-2025", "due 2025-12-31"),
    ("QUÝ III NĂM 2026.", "due 2026-09-30"),
    ("Chậm nhất năm 2025", "due 2025-12-31"),
    ("trước ngày 16/5/2024", "due 2024-05-15"),
    ("Trước ngày 01/3 hằng năm", "yearly end/2"),
    ("hằng năm (trước ngày 15 tháng 11)", "yearly 14/11"),
    ("vào thứ Sáu hằng tuần", "weekly fri"),
    ("Hằng năm, giai đoạn 2026-2030", "yearly end/12 from 2026-01-01 until 2030-12-31"),
    ("Giai đoạn 2026-2030 và những năm tiếp theo", "start 2026-01-01"),
    ("Thường xuyên, theo yêu cầu nhiệm vụ.", "no date: ongoing duty"),
    ("gửi Sở Tài chính trước ngày 16/5/2024", "due 2024-05-15"),
]


@pytest.mark.parametrize(("text", "reading"), SPEC)
def test_spec_forms(text: str, reading: str) -> None:
    assert parse_deadline(text).reading == reading


@pytest.mark.parametrize(
    ("text", "explained"),
    [
        ("Quý IV/2024", "due 2024-12-31 (end of Quý IV/2024)"),
        ("Quý IV/2025 - Quý II/2026",
         "window 2025-10-01 → 2026-06-30 (Quý IV/2025 to Quý II/2026)"),
        ("trước ngày 20 hằng tháng", "recurring: monthly, due the 19th"),
        ("trước ngày 01/6 và 15/11 hằng năm", "recurring: yearly, due end of May and 14/11"),
        ("Thường xuyên", "no date: ongoing duty (Thường xuyên)"),
        ("Từ 01/7/2025", "starts 2025-07-01, no due date (from 1/7/2025, open-ended)"),
        ("trước ngày 16/5/2024", "due 2024-05-15 (the day before 16/5/2024)"),
        ("Từ tháng 11/2025 đến khi kết thúc Đề án",
         "starts 2025-11-01, no due date (from tháng 11/2025, open-ended: đến khi kết thúc Đề án)"),
        ("gửi Sở Tài chính trước ngày 16/5/2024",
         "due 2024-05-15 (the day before 16/5/2024 for “gửi Sở Tài chính”)"),
    ],
)
def test_explain(text: str, explained: str) -> None:
    assert explain(parse_deadline(text)) == explained


def test_deadline_is_a_small_frozen_value() -> None:
    d = parse_deadline("  Quý  IV/2025 -  Quý II/2026 ")
    assert d == Deadline("Quý IV/2025 - Quý II/2026", D(2025, 10, 1), D(2026, 6, 30),
                         basis="Quý IV/2025 to Quý II/2026")
    with pytest.raises(AttributeError):
        d.due = None  # type: ignore[misc]


def test_unreadable_phrase_lists_forms_and_no_date_phrases() -> None:
    with pytest.raises(DateParseError) as info:
        parse_deadline("sớm nhất có thể")
    message = str(info.value)
    assert message.startswith('cannot read "sớm nhất có thể" as a date: not a deadline form')
    assert '"Quý III/2024"' in message and "leave due out" in message
    for phrase in ("Thường xuyên", "Theo lộ trình ...", "Khi có phát sinh", "Sau khi có ..."):
        assert phrase in message


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("trước ngày 20 hằng quý", "quarterly deadline is the end of each quarter"),
        ("ngày 10/6 hằng tháng", "monthly deadline names one day of the month"),
        ("ngày 10 hằng năm", "yearly deadline names a day and month"),
        ("Quý IV/2024; Thường xuyên", "joins a date with a phrase that has none"),
        ("từ 2030 đến 2026", "ends before it starts"),
    ],
)
def test_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(DateParseError, match=why):
        parse_deadline(text)


def test_recurrence_occurrences_and_repeat_fields() -> None:
    yearly = parse_deadline("trước ngày 01/3 hằng năm").recurrence
    assert yearly == Recurrence("yearly", days=((MONTH_END, 2),))
    assert list(yearly.occurrences(D(2023, 1, 1), D(2024, 12, 31))) == [D(2023, 2, 28),
                                                                          D(2024, 2, 29)]
    assert yearly.repeat_fields()["days"] == ((29, 2),)
    monthly = parse_deadline("hằng tháng").recurrence
    assert list(monthly.occurrences(D(2025, 1, 1), D(2025, 3, 31))) == [
        D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 31)]
    quarterly = parse_deadline("định kỳ hằng quý").recurrence
    assert quarterly.repeat_fields()["every"] == "yearly"
    assert len(list(quarterly.occurrences(D(2025, 1, 1), D(2025, 12, 31)))) == 4
    bounded = parse_deadline("Hằng năm, giai đoạn 2026-2030").recurrence
    assert len(list(bounded.occurrences(D(2000, 1, 1), D(2100, 1, 1)))) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", Duration(7, "d")), ("36h", Duration(36, "h")), ("2w", Duration(2, "w")),
        ("5wd", Duration(5, "wd")), (" 5 WD ", Duration(5, "wd")),
        ("15 ngày làm việc", Duration(15, "wd")), ("15 Ngày Làm Việc", Duration(15, "wd")),
        ("10 ngày", Duration(10, "d")), ("2 tuần", Duration(2, "w")),
    ],
)  # fmt: skip
def test_read_duration(text: str, expected: Duration) -> None:
    assert read_duration(text) == expected


def test_working_days_stay_apart_from_calendar_days() -> None:
    assert read_duration("5wd").working_days and not read_duration("5d").working_days
    assert read_duration("5d").timedelta() == datetime.timedelta(days=5)
    with pytest.raises(ValueError, match="no fixed length"):
        read_duration("5wd").timedelta()


def test_never_only_where_allowed() -> None:
    assert read_duration("never", never=True) is NEVER
    assert str(NEVER) == "never"
    with pytest.raises(DateParseError, match=r"wd \(working days\)"):
        read_duration("never")


@pytest.mark.parametrize("text", ["0wd", "5 days", "-3d", "1.5wd", "", "99999w"])
def test_read_duration_refused(text: str) -> None:
    with pytest.raises(DateParseError, match="as a duration"):
        read_duration(text)
