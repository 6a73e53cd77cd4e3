"""Reading Vietnamese deadline phrases: every accepted form, both kinds, and every refusal."""

from __future__ import annotations

import contextlib
import datetime
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.plan.dates import DateParseError, normalize_text, parse_date, parse_duration

D = datetime.date
HINT = (
    'write e.g. 2024-04-20, 20/4/2024, "trước ngày 16/5/2024", "Quý III/2024", '
    '"Tháng 11 - 12/2025", "2026 - 2030" or "trước ngày 20 hằng tháng"'
)
NO_DATE = (
    'or leave due out for a task with no date ("Thường xuyên", "Theo tiến độ ...", '
    '"Theo lộ trình ...", "Theo kế hoạch ...", "Khi có phát sinh", "Sau khi có ...")'
)

# (text, due, start): one row per form; start is None where "trước" makes a start meaningless.
CASES = [
    # single days, every separator and the written-out form
    ("2024-04-20", D(2024, 4, 20), D(2024, 4, 20)),
    ("2024/04/20", D(2024, 4, 20), D(2024, 4, 20)),
    ("20/4/2024", D(2024, 4, 20), D(2024, 4, 20)),
    ("20/04/2024", D(2024, 4, 20), D(2024, 4, 20)),
    ("20-4-2024", D(2024, 4, 20), D(2024, 4, 20)),
    ("20.4.2024", D(2024, 4, 20), D(2024, 4, 20)),
    ("29/2/2024", D(2024, 2, 29), D(2024, 2, 29)),
    ("ngày 15 tháng 6 năm 2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("Ngày 15 tháng 6 năm 2024.", D(2024, 6, 15), D(2024, 6, 15)),
    # inclusive lead words
    ("ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("vào ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("trong ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("đến ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("hạn 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("Hạn chót: 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("chậm nhất 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("Chậm nhất là 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("chậm nhất ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("chậm nhất là ngày 15/6/2024;", D(2024, 6, 15), D(2024, 6, 15)),
    ("không quá ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("hoàn thành ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("hoàn thành trong ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("thời hạn 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("Thời gian hoàn thành: 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("xong 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("dự kiến 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    ("muộn nhất ngày 15/6/2024", D(2024, 6, 15), D(2024, 6, 15)),
    # exclusive "before": the day before, and no start
    ("trước ngày 16/5/2024", D(2024, 5, 15), None),
    ("trước 16/5/2024", D(2024, 5, 15), None),
    ("Trước ngày 16/5/2024.", D(2024, 5, 15), None),
    ("hoàn thành trước ngày 16/5/2024", D(2024, 5, 15), None),
    ("chậm nhất trước ngày 16/5/2024", D(2024, 5, 15), None),
    ("đến trước ngày 16/5/2024", D(2024, 5, 15), None),
    ("truoc ngay 16/5/2024", D(2024, 5, 15), None),
    ("trước ngày 1/1/2025", D(2024, 12, 31), None),
    ("trước ngày 1/3/2024", D(2024, 2, 29), None),
    # months
    ("tháng 6/2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("tháng 06/2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("tháng 6 năm 2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("trong tháng 01/2026", D(2026, 1, 31), D(2026, 1, 1)),
    ("cuối tháng 6/2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("tháng 2/2024", D(2024, 2, 29), D(2024, 2, 1)),
    ("6/2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("2024-06", D(2024, 6, 30), D(2024, 6, 1)),
    ("trước tháng 7/2024", D(2024, 6, 30), None),
    ("trước tháng 1/2025", D(2024, 12, 31), None),
    # quarters
    ("Quý III/2024", D(2024, 9, 30), D(2024, 7, 1)),
    ("quý 3/2024", D(2024, 9, 30), D(2024, 7, 1)),
    ("Quý III năm 2024", D(2024, 9, 30), D(2024, 7, 1)),
    ("trong Quý I/2025", D(2025, 3, 31), D(2025, 1, 1)),
    ("quý IV 2024", D(2024, 12, 31), D(2024, 10, 1)),
    ("Quý II/2024", D(2024, 6, 30), D(2024, 4, 1)),
    ("quy III/2024", D(2024, 9, 30), D(2024, 7, 1)),
    ("dự kiến Quý III/2024", D(2024, 9, 30), D(2024, 7, 1)),
    ("trước quý III/2024", D(2024, 6, 30), None),
    # half years
    ("6 tháng đầu năm 2024", D(2024, 6, 30), D(2024, 1, 1)),
    ("6 tháng cuối năm 2024", D(2024, 12, 31), D(2024, 7, 1)),
    ("nửa đầu năm 2024", D(2024, 6, 30), D(2024, 1, 1)),
    ("nửa cuối năm 2024", D(2024, 12, 31), D(2024, 7, 1)),
    ("trong 6 tháng đầu năm 2024", D(2024, 6, 30), D(2024, 1, 1)),
    # years
    ("năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("trong năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("Chậm nhất năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("cuối năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("đến hết năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("hết năm 2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("2025", D(2025, 12, 31), D(2025, 1, 1)),
    ("trước năm 2026", D(2025, 12, 31), None),
    # ranges: due is the end, start the beginning
    ("từ ngày 20/5/2024 đến ngày 30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("từ 20/5/2024 - 30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("20/5/2024 - 30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("20/5/2024 – 30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("20/5/2024-30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("20-5-2024 - 30-5-2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("từ ngày 20/5 đến ngày 30/5/2024", D(2024, 5, 30), D(2024, 5, 20)),
    ("Từ ngày 27/5/2024 đến trước ngày 31/5/2024", D(2024, 5, 30), D(2024, 5, 27)),
    ("kể từ ngày 1/6/2024 cho đến ngày 30/6/2024", D(2024, 6, 30), D(2024, 6, 1)),
    ("từ ngày 20 - 25/5/2024", D(2024, 5, 25), D(2024, 5, 20)),
    ("từ tháng 5 đến tháng 6/2024", D(2024, 6, 30), D(2024, 5, 1)),
    ("2024 - 2025", D(2025, 12, 31), D(2024, 1, 1)),
    # normalisation: markdown, brackets, quotes, spacing, case, dashes
    ("**20/4/2024**", D(2024, 4, 20), D(2024, 4, 20)),
    ("*20/4/2024*", D(2024, 4, 20), D(2024, 4, 20)),
    ("_Quý III/2024_", D(2024, 9, 30), D(2024, 7, 1)),
    ("(20/4/2024)", D(2024, 4, 20), D(2024, 4, 20)),
    ("(trước ngày 16/5/2024).", D(2024, 5, 15), None),
    ("“20/4/2024”", D(2024, 4, 20), D(2024, 4, 20)),
    ("  20/4/2024 ,", D(2024, 4, 20), D(2024, 4, 20)),
    ("20\u00a0/\u00a04/2024", D(2024, 4, 20), D(2024, 4, 20)),
    ("trước\u00a0ngày   16/5/2024", D(2024, 5, 15), None),
    ("\ufeff20/4/2024\u200b", D(2024, 4, 20), D(2024, 4, 20)),
    ("TRƯỚC NGÀY 16/5/2024", D(2024, 5, 15), None),
    ("QUÝ IV/2024", D(2024, 12, 31), D(2024, 10, 1)),
    (unicodedata.normalize("NFD", "trước ngày 16/5/2024"), D(2024, 5, 15), None),
    (unicodedata.normalize("NFD", "Quý III năm 2024"), D(2024, 9, 30), D(2024, 7, 1)),
]


@pytest.mark.parametrize(("text", "due", "start"), CASES)
def test_due(text: str, due: datetime.date, start: datetime.date | None) -> None:
    assert parse_date(text) == due
    assert parse_date(text, kind="due") == due


@pytest.mark.parametrize(("text", "due", "start"), [c for c in CASES if c[2] is not None])
def test_start(text: str, due: datetime.date, start: datetime.date) -> None:
    assert parse_date(text, kind="start") == start


@pytest.mark.parametrize(("text", "due", "start"), [c for c in CASES if c[2] is None])
def test_before_has_no_start(text: str, due: datetime.date, start: None) -> None:
    with pytest.raises(DateParseError, match=r"names a deadline, not a start"):
        parse_date(text, kind="start")


@pytest.mark.parametrize(
    "text",
    [
        "thường xuyên",
        "Thường xuyên",
        "liên tục",
        "thường xuyên, liên tục",
        "Thường xuyên và liên tục.",
        "hằng năm",
        "hàng năm",
        "định kỳ",
        "thực hiện thường xuyên",
        "thuong xuyen",
        unicodedata.normalize("NFD", "hằng năm"),
        "định kỳ hằng quý",
        "Theo lộ trình thực hiện cải cách chính sách tiền lương",
    ],
)
@pytest.mark.parametrize("kind", ["due", "start"])
def test_ongoing_is_none(text: str, kind: str) -> None:
    assert parse_date(text, kind=kind) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (D(2024, 4, 20), D(2024, 4, 20)),
        (datetime.datetime(2024, 4, 20, 23, 59), D(2024, 4, 20)),
        (2025, D(2025, 12, 31)),  # YAML reads "due: 2025" as an int
    ],
)
def test_non_string_values(value: object, expected: datetime.date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "trước ngày 15/01",
            f'cannot read "trước ngày 15/01" as a date: no year; {HINT}',
        ),
        ("31/2/2024", '"31/2/2024" is not a real day (February 2024 has 29 days)'),
        ("29/2/2023", '"29/2/2023" is not a real day (February 2023 has 28 days)'),
        ("31-4-2024", '"31-4-2024" is not a real day (April 2024 has 30 days)'),
        (
            "20/4/24",
            f'cannot read "20/4/24" as a date: the two-digit year "24" is ambiguous; {HINT}',
        ),
        (
            "tháng 13/2024",
            f'cannot read "tháng 13/2024" as a date: there is no month 13; {HINT}',
        ),
        (
            "Quý V/2024",
            'cannot read "Quý V/2024" as a date: there is no quarter V (quarters are I–IV); '
            + HINT,
        ),
        (
            "sớm",
            f'cannot read "sớm" as a date: not a deadline form this reads; {HINT}; {NO_DATE}',
        ),
        ("", f'cannot read "" as a date: it is empty; {HINT}'),
        ("   ", f'cannot read "" as a date: it is empty; {HINT}'),
        (
            unicodedata.normalize("NFD", "trước ngày 15/01"),
            f'cannot read "trước ngày 15/01" as a date: no year; {HINT}',
        ),
    ],
)
def test_error_messages(text: str, message: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_date(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "kind", "why"),
    [
        ("15/01", "due", "no year"),
        ("ngày 15 tháng 6", "due", "no year"),
        ("tháng 6", "due", "no year"),
        ("Quý III", "due", "no year"),
        ("20", "due", "no month or year"),
        ("20-4-24", "due", "two-digit year"),
        ("năm 24", "due", "two-digit year"),
        ("tháng 6/24", "due", "two-digit year"),
        ("20/4/202", "due", "not a year"),
        ("1/1/1800", "due", "not a year"),
        ("0/5/2024", "due", "not a real day"),
        ("31-2-2024", "due", "not a real day"),
        ("2024-02-30", "due", "not a real day"),
        ("2024-13-01", "due", "no month 13"),
        ("20/13/2024", "due", "no month 13"),
        ("tháng 0/2024", "due", "no month 0"),
        ("quý 5/2024", "due", "no quarter 5"),
        ("quý 0/2024", "due", "no quarter 0"),
        ("Quý IIII/2024", "due", "no quarter IIII"),
        ("sớm", "start", "not a deadline form"),
        ("đầu tháng 7/2024", "due", "not a deadline form"),
        ("trong vòng 30 ngày", "due", "not a deadline form"),
        ("hằng năm trước ngày 15/12", "due", "recurring deadline (recurring: yearly, due 14/12)"),
        ("trước ngày 20 hằng tháng", "due", "give it as repeat: {monthly: 19, from: ...}"),
        ("trước ngày 01/6 và 15/11 hằng năm", "due", "repeat: {yearly: [31/5, 14/11], from"),
        ("thứ Sáu hằng tuần", "due", "repeat: {weekly: friday, from: ...}"),
        ("ASAP", "due", "not a deadline form"),
        ("**", "due", "no date in it"),
        ("()", "due", "no date in it"),
        ("từ ngày 20/5/2024", "due", "no deadline"),
        ("từ 30/5/2024 đến 20/5/2024", "due", "ends before it starts"),
        ("từ 15/12 đến 15/1/2025", "due", "ends before it starts"),
        ("từ ngày 20/5/2024 đến ngày 30/5", "due", "no year"),
        ("từ 15/01 - 20/01", "start", "no year"),
        ("từ 30/2/2024 đến 5/3/2024", "start", "not a real day"),
        ("trước 20/5/2024 - 30/5/2024", "due", "not a deadline form"),
        ("trước ngày 20/5/2024 - 30/5/2024", "start", "not a deadline form"),
        ("x" * 10_000, "due", "too long to be a date (10000 characters)"),
    ],
)
def test_refused(text: str, kind: str, why: str) -> None:
    with pytest.raises(DateParseError, match=re.escape(why)) as info:
        parse_date(text, kind=kind)
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 420


def test_start_only_from() -> None:
    assert parse_date("từ ngày 20/5/2024", kind="start") == D(2024, 5, 20)


@pytest.mark.parametrize("value", [1.5, True, [2024], b"20/4/2024", datetime.time(12)])
def test_other_types_refused(value: object) -> None:
    with pytest.raises(DateParseError, match="as a date: give text"):
        parse_date(value)


def test_error_is_value_error() -> None:
    assert issubclass(DateParseError, ValueError)


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match='kind must be "due" or "start"') as info:
        parse_date("20/4/2024", kind="end")
    assert not isinstance(info.value, DateParseError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  a\u00a0 b\n\tc  ", "a b c"),
        (unicodedata.normalize("NFD", "Quý  III"), "Quý III"),
        ("", ""),
        ("\u00a0\u2009", ""),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", datetime.timedelta(days=7)),
        ("36h", datetime.timedelta(hours=36)),
        ("2w", datetime.timedelta(weeks=2)),
        (" 7D ", datetime.timedelta(days=7)),
        ("1H", datetime.timedelta(hours=1)),
    ],
)
def test_parse_duration(value: str, expected: datetime.timedelta) -> None:
    assert parse_duration(value) == expected


DURATION_HELP = "durations are a whole number with h, d or w, e.g. 7d, 36h, 2w"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0d", f'cannot read "0d" as a duration: it must be more than zero; {DURATION_HELP}'),
        (7, f"cannot read 7 as a duration: {DURATION_HELP}"),
        ("7", f'cannot read "7" as a duration: {DURATION_HELP}'),
        ("7 d", f'cannot read "7 d" as a duration: {DURATION_HELP}'),
        ("1.5d", f'cannot read "1.5d" as a duration: {DURATION_HELP}'),
        ("-3d", f'cannot read "-3d" as a duration: {DURATION_HELP}'),
        ("3m", f'cannot read "3m" as a duration: {DURATION_HELP}'),
        ("", f'cannot read "" as a duration: {DURATION_HELP}'),
        ("9" * 30 + "w", f'cannot read "{"9" * 30}w" as a duration: {DURATION_HELP}'),
        (None, f"cannot read None as a duration: {DURATION_HELP}"),
        (datetime.timedelta(days=1), f"cannot read {datetime.timedelta(days=1)!r} as a duration"),
    ],
)
def test_parse_duration_refused(value: object, message: str) -> None:
    with pytest.raises(DateParseError) as info:
        parse_duration(value)
    assert str(info.value).startswith(message)


def _returns_or_refuses(text: str, kind: str) -> None:
    try:
        result = parse_date(text, kind=kind)
    except DateParseError as err:
        assert "\n" not in str(err)
    else:
        assert result is None or type(result) is datetime.date


FRAGMENTS = [
    "trước", "ngày", "tháng", "quý", "năm", "từ", "đến", "hết", "cuối", "đầu", "6 tháng", "nửa",
    "thường xuyên", "III", "V", "0", "1", "15", "31", "13", "2024", "24", "/", "-", "–", ".", ",",
    "**", "(", ")", ":", " ", "\u00a0", "20/5", "16/5/2024", "31/2/2024", "hoàn thành", "chậm nhất",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["due", "start"]))
def test_any_text_returns_or_refuses(text: str, kind: str) -> None:
    _returns_or_refuses(text, kind)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.sampled_from(["due", "start"]),
)
def test_date_like_text_returns_or_refuses(text: str, kind: str) -> None:
    _returns_or_refuses(text, kind)
    _returns_or_refuses(text.replace(" ", ""), kind)
    _returns_or_refuses(unicodedata.normalize("NFD", text), kind)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_duration_returns_or_refuses(text: str) -> None:
    with contextlib.suppress(DateParseError):
        assert parse_duration(text) > datetime.timedelta(0)
