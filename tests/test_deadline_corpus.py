"""Every deadline cell of the real plans reads, as the fixture says; generated phrases read too.

``pytest -s tests/test_deadline_corpus.py`` prints what each cell became.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.deadline_corpus import SHARED, corpus_files, extract, fixture_rows
from workflow.plan.dates import DateParseError, explain, parse_date, parse_deadline

ROWS = fixture_rows()


@pytest.mark.parametrize(("file", "phrase", "count", "reading"), ROWS,
                         ids=[r[1][:40] for r in ROWS])
def test_every_corpus_cell_reads(file: str, phrase: str, count: int, reading: str) -> None:
    deadline = parse_deadline(phrase)
    print(f"\n{file} ({count} cells): {phrase!r}\n    -> {explain(deadline)}")
    assert deadline.reading == reading
    assert deadline.text == " ".join(phrase.split())


def test_fixture_covers_every_file() -> None:
    assert {r[0] for r in ROWS} >= {
        "01-dong-nai-kh179-kinh-te-so.txt", "03-bac-ninh-kh141-nang-luc-xay-dung-phap-luat.txt",
        "05-dong-thap-kh617-cds-doanh-nghiep.txt", "09-ha-noi-kh310-ha-tang-5g-iot.txt",
        "luc-yen-2026-ytcs.txt", "son-la-2024-ttyt.txt",
    }  # fmt: skip


@pytest.mark.skipif(SHARED is None, reason="no shared/ beside the clone")
def test_fixture_is_complete() -> None:
    """Re-extracts every cell from ../shared: each one is in the fixture, and nothing else is."""
    extracted = Counter((f.name, cell) for f in corpus_files() for cell in extract(f))
    assert extracted, "no deadline cell found in shared/"
    in_fixture = Counter({(file, phrase): count for file, phrase, count, _ in ROWS})
    assert extracted - in_fixture == Counter(), "cells missing from tests/data/deadline_corpus.txt"
    assert in_fixture - extracted == Counter(), "fixture rows no document has"


@pytest.mark.skipif(SHARED is None, reason="no shared/ beside the clone")
def test_table_plans_give_one_cell_per_task() -> None:
    """The published plans' README counts their tasks; the table extraction finds as many."""
    counts = {f.name: len(extract(f)) for f in corpus_files()}
    assert counts["01-dong-nai-kh179-kinh-te-so.txt"] == 94
    assert counts["05-dong-thap-kh617-cds-doanh-nghiep.txt"] == 11
    assert counts["09-ha-noi-kh310-ha-tang-5g-iot.txt"] == 6


# --------------------------------------------------------------------------- generated phrases

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
D = datetime.date


def _quarter_end(year: int, q: int) -> D:
    return D(year + (q == 4), q % 4 * 3 + 1, 1) - datetime.timedelta(days=1)


def _spell(draw, text: str) -> str:
    """The same words as a document might write them: case, spaces, NFC or NFD, Quý or Quí."""
    if draw(st.booleans()):
        text = text.replace("Quý", draw(st.sampled_from(["Quý", "Quí", "quý", "QUÝ", "quí"])))
    text = draw(st.sampled_from([str.lower, str.upper, str.title, lambda s: s]))(text)
    text = text.replace(" ", draw(st.sampled_from([" ", "  ", "\u00a0", " \t"])))
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text)
    return text + draw(st.sampled_from(["", ".", " .", ";", "**"]))


@st.composite
def quarter_phrases(draw):
    year, q = draw(st.integers(1990, 2100)), draw(st.integers(1, 4))
    numeral = draw(st.sampled_from([ROMAN[q], str(q)]))
    sep = draw(st.sampled_from(["/", " / ", "-", " năm ", ", năm ", " Năm "]))
    lead = draw(st.sampled_from(["", "Trong ", "Chậm nhất ", "Hoàn thành trong ", "dự kiến "]))
    return _spell(draw, f"{lead}Quý {numeral}{sep}{year}"), _quarter_end(year, q)


@st.composite
def quarter_lists(draw):
    year, a = draw(st.integers(1990, 2100)), draw(st.integers(1, 3))
    b = draw(st.integers(a + 1, 4))
    sep = draw(st.sampled_from([" và ", ", ", " và Quý ", ", Quý "]))
    tail = draw(st.sampled_from(["/", " năm ", "-"]))
    return _spell(draw, f"Quý {ROMAN[a]}{sep}{ROMAN[b]}{tail}{year}"), _quarter_end(year, b)


@st.composite
def windows(draw):
    y1 = draw(st.integers(1990, 2099))
    y2 = draw(st.integers(y1, 2100))
    m1, m2 = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    if (y1, m1) > (y2, m2):
        m1, m2 = m2, m1
    start = D(y1, m1, 1)
    form = draw(st.sampled_from(["years", "months", "from-to"]))
    if form == "years":
        sep = draw(st.sampled_from([" - ", "-", " đến ", " – "]))
        lead = draw(st.sampled_from(["", "Giai đoạn ", "Năm ", "Từ năm "]))
        text, start, due = f"{lead}{y1}{sep}{y2}", D(y1, 1, 1), D(y2, 12, 31)
    elif form == "months":
        text = f"Từ tháng {m1:02d}/{y1} đến hết tháng {m2}/{y2}"
        due = D(y2 + (m2 == 12), m2 % 12 + 1, 1) - datetime.timedelta(days=1)
    else:
        text, due = f"Từ ngày 1/{m1}/{y1} đến ngày 28/{m2}/{y2}", D(y2, m2, 28)
    return _spell(draw, text), start, due


@settings(max_examples=300, deadline=None)
@given(quarter_phrases())
def test_generated_quarters(case: tuple[str, D]) -> None:
    text, due = case
    assert parse_deadline(text).due == due
    assert parse_date(text) == due


@settings(max_examples=200, deadline=None)
@given(quarter_lists())
def test_generated_quarter_lists(case: tuple[str, D]) -> None:
    text, due = case
    deadline = parse_deadline(text)
    assert (deadline.start, deadline.due) == (None, due)


@settings(max_examples=300, deadline=None)
@given(windows())
def test_generated_windows(case: tuple[str, D, D]) -> None:
    text, start, due = case
    deadline = parse_deadline(text)
    assert (deadline.start, deadline.due) == (start, due)


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 28), st.data())
def test_generated_monthly(day: int, data) -> None:
    text = data.draw(st.sampled_from([f"trước ngày {day} hằng tháng",
                                      f"Trước ngày {day} hàng tháng",
                                      f"chậm nhất ngày {day - 1} hằng tháng"]))
    rec = parse_deadline(_spell(data.draw, text)).recurrence
    assert rec is not None and (rec.every, rec.day) == ("monthly", day - 1)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["Thường xuyên", "Nhiệm vụ thường xuyên hằng năm", "Theo tiến độ dự án",
                        "Theo lộ trình thực hiện cải cách chính sách tiền lương",
                        "Theo kế hoạch ...", "Khi có phát sinh", "Sau khi có quyết định"]),
       st.data())
def test_generated_no_date(text: str, data) -> None:
    deadline = parse_deadline(_spell(data.draw, text))
    assert deadline.no_date_reason and deadline.due is None and deadline.recurrence is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="QuýíIVX0123456789/-–, năm và đến hếtTừ", max_size=40))
def test_grammar_alphabet_reads_or_refuses(text: str) -> None:
    try:
        deadline = parse_deadline(text)
    except DateParseError as err:
        assert "\n" not in str(err)
    else:
        assert deadline.due is None or deadline.start is None or deadline.start <= deadline.due
