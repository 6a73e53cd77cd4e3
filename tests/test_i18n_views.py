"""What a person reads in Vietnamese (issue 15 items 4 and 6): show, tasks, summary, history,
escalations, the sweep and validate --explain speak Vietnamese state, event and reason names,
tables keep their columns in 80 display columns, and JSON never changes with the language."""

from __future__ import annotations

import re
import unicodedata

import pytest

from tests.conftest import write_plan
from tests.test_display import LONG_IDS
from workflow import i18n
from workflow.views import words

VI = {"WORKFLOW_LANG": "vi"}
ENGLISH_STATES = re.compile(r"\b(assigned|in_progress|reported|approved|blocked)\b")
VIETNAMESE_STATES = ("đã giao", "đang thực hiện", "đã báo cáo", "đã phê duyệt", "vướng mắc")
LATER = "2024-06-17T11:30:00+07:00"


@pytest.fixture
def vietnamese():
    """The interface in Vietnamese for one test, English again after it.

    The runner also passes WORKFLOW_LANG=vi, which the command line reads itself once its
    language switch is there; this fixture makes the views speak Vietnamese either way."""
    i18n.set_language("vi")
    yield
    i18n.set_language("en")


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: combining marks none, wide characters two."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.fixture
def busy(small):
    """The small plan by 17 June 2024 with a task in every state: a approved, b in progress,
    c blocked (and escalated), d reported."""
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-02T09:00:00+07:00")
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Đã xong",
             now="2024-04-03T09:00:00+07:00")
    small.ok("approve", "a", "--as", "so-y-te", now="2024-04-04T09:00:00+07:00")
    small.ok("start", "b", "--as", "so-tai-chinh", now="2024-04-05T09:00:00+07:00")
    small.ok("block", "c", "--as", "so-y-te", "--note", "Thiếu số liệu",
             now="2024-04-05T10:00:00+07:00")
    small.ok("start", "d", "--as", "ttyt", now="2024-05-02T09:00:00+07:00")
    small.ok("report", "d", "--as", "ttyt", "--note", "Đã xong", now="2024-05-03T09:00:00+07:00")
    small.ok("escalate", now=LATER)
    return small


COMMANDS = [("show", "c"), ("tasks",), ("summary",), ("history",), ("escalations",),
            ("plans",)]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_text_speaks_vietnamese_state_names(busy, vietnamese, command):
    out = busy.ok(*command, now=LATER, env=VI).out
    assert not ENGLISH_STATES.search(out), out
    if command[0] not in ("escalations", "summary"):  # they name reasons and buckets
        assert any(state in out for state in VIETNAMESE_STATES), out


def test_every_state_event_and_reason_in_vietnamese(busy, vietnamese):
    tasks = busy.ok("tasks", now=LATER, env=VI).out
    assert tasks.splitlines()[0].split() == ["mã", "tình", "trạng", "chủ", "trì", "thời",
                                             "hạn"]
    history = busy.ok("history", now=LATER, env=VI).out
    for state in VIETNAMESE_STATES:
        assert state in tasks + history, state
    for event in ("bắt đầu thực hiện", "báo cáo", "phê duyệt", "báo vướng mắc",
                  "chuyển cấp trên", "nạp kế hoạch"):
        assert event in history, (event, history)
    assert "đang thực hiện → đã báo cáo do so-tai-chinh" in history
    show = busy.ok("show", "c", now=LATER, env=VI).out.splitlines()
    assert show[0] == "c  [vướng mắc]  kế hoạch small"
    assert "  chuyển cấp:   cấp 1 → ubnd-tinh (vướng mắc, từ 2024-04-05 10:00)" in show
    assert "  chủ trì:      so-y-te (Sở Y tế)" in show
    assert busy.ok("escalations", now=LATER, env=VI).out.splitlines() == [
        "c  cấp 1 → ubnd-tinh        vướng mắc    73 ngày 1 giờ",
        "b  cấp 2 → ubnd-tinh        quá hạn      66 ngày 2 giờ",
        "d  cấp 2 → ubnd-tinh        chậm tiến độ 38 ngày 2 giờ"]


def test_ages_in_vietnamese_days_and_hours(small, vietnamese):
    small.ok("block", "a", "--as", "so-tai-chinh", "--note", "Thiếu số liệu")
    r = small.ok("escalations", now="2024-06-17T11:30:00+07:00", env=VI)
    assert r.out.rstrip().endswith(" 76 ngày 2 giờ"), r.out
    assert small.ok("escalations", now="2024-04-02T14:00:00+07:00",
                    env=VI).out.rstrip().endswith(" 5 giờ")


def test_sweep_and_moves_in_vietnamese(small, vietnamese):
    r = small.ok("block", "a", "--as", "so-tai-chinh", "--note", "Thiếu số liệu", env=VI)
    moved, escalated = r.out.splitlines()
    assert moved == "a: đã giao → vướng mắc (báo vướng mắc, do so-tai-chinh)"
    assert escalated.startswith("  chuyển cấp: đã chuyển lên ")
    assert escalated.endswith(" small/a  cấp 1 → so-y-te (vướng mắc)")
    out = small.ok("escalate", now=LATER, env=VI).out
    assert out.startswith("chuyển lên cấp cao hơn small/a  cấp 2 → ubnd-tinh (vướng mắc)")
    assert "climbed" not in out and "blocked" not in out


@pytest.mark.parametrize("command", [("show", "c"), ("tasks",), ("summary",), ("history",),
                                     ("escalations",), ("plans",), ("history", "--format",
                                                                   "jsonl")],
                         ids=lambda c: "-".join(c))
def test_json_is_the_same_in_both_languages(busy, command):
    json_flag = () if "--format" in command else ("--json",)
    english = busy.ok(*command, *json_flag, now=LATER).out
    i18n.set_language("vi")
    try:
        vietnamese = busy.ok(*command, *json_flag, now=LATER, env=VI).out
    finally:
        i18n.set_language("en")
    assert vietnamese == english
    assert "đã giao" not in english and "vướng mắc" not in english


def test_vietnamese_tasks_table_fits_80_columns_aligned(run, tmp_path, vietnamese):
    long_id = "chuyen-giao-nhiem-vu-quan-ly-tai-chinh-tai-san-cua-trung-tam-y-te"
    run.ok("load", write_plan(tmp_path, LONG_IDS), now="2024-03-01T08:00:00+07:00")
    run.ok("start", "a", "--as", "so-tai-chinh", now="2024-03-02T08:00:00+07:00")
    lines = run.ok("tasks", env=VI).out.splitlines()
    assert all(width(ln) <= 80 for ln in lines), lines
    head = lines[0]
    rows = [ln for ln in lines if "đã giao" in ln or "đang thực hiện" in ln]
    assert len(rows) == 2 and long_id in lines
    for column, cells in (("tình trạng", ("đang thực hiện", "đã giao")),
                          ("chủ trì", ("so-tai-c", "so-tai-c")),  # joint: "so-tai-c… +1"
                          ("thời hạn", ("2024-04-20", "2024-03-20"))):
        starts = {head.index(column)} | {row.index(cell) for row, cell in zip(rows, cells,
                                                                               strict=True)}
        assert len(starts) == 1, (column, lines)
    assert rows[1].endswith("QUÁ HẠN")


def test_vietnamese_summary_headings_stand_over_their_columns(busy, vietnamese):
    lines = busy.ok("summary", now=LATER, env=VI).out.splitlines()
    assert all(width(ln) <= 80 for ln in lines), lines
    assert lines[0] == "kế hoạch small tính đến 2024-06-17 11:30"
    top, bottom, first = lines[2], lines[3], lines[4]  # headings take three lines
    assert bottom.startswith("cơ quan chủ trì ") and "trễ" in top and " hạn" in bottom
    assert "vướng mắc từ: đã giao" in busy.ok("show", "c", now=LATER, env=VI).out
    # every heading ends where its numbers end: the 8-column cells line up
    ends = [m.end() for m in re.finditer(r"\S+", bottom[16:])]
    assert ends == [m.end() for m in re.finditer(r"\S+", first[16:])] == list(
        range(8, 72, 8))
    assert lines[-1].startswith("tổng ")


def test_validate_explain_in_vietnamese_keeps_its_json(run, tmp_path, vietnamese):
    path = write_plan(tmp_path, """\
id: p
title: t
issuer: ubnd
coordinator: syt
agencies: {ubnd: {name: UBND}, syt: {name: Sở Y tế}}
tasks:
  a: {title: t, lead: syt, due: "trước ngày 20/4/2024"}
  b: {title: t, lead: syt, due: {after: a, within: 15wd}, stall_after: never}
  c: {title: t, lead: syt, due: "trước ngày 20 hằng tháng", start: 2025-01-01}
""")
    out = run.ok("validate", "--explain", path, env=VI).out.splitlines()
    assert out[1:] == [
        "kế hoạch p: chậm tiến độ sau 7 ngày, chuyển cấp tiếp sau 3 ngày",
        'a  "trước ngày 20/4/2024"',
        "    thời hạn 2024-04-19",
        "b",
        "    15 ngày làm việc sau khi a được phê duyệt",
        "    không xét chậm tiến độ",
        'c  "trước ngày 20 hằng tháng"',
        "    định kỳ hằng tháng: hạn ngày 19 hằng tháng, từ 2025-01-01, không có ngày kết thúc",
    ]
    vi_json = run.ok("validate", "--explain", "--json", path, env=VI).out
    i18n.set_language("en")
    assert run.ok("validate", "--explain", "--json", path).out == vi_json
    assert "15 working days after a is approved" in vi_json


def test_words_are_the_one_source_of_the_vietnamese_names(vietnamese):
    assert [words.state(s) for s in words.STATE] == list(VIETNAMESE_STATES)
    assert words.event("escalation_climbed") == "chuyển lên cấp cao hơn"
    assert words.reason("stalled") == "chậm tiến độ"
    assert words.event("some_future_kind") == "some_future_kind"
    i18n.set_language("en")
    assert words.state("in_progress") == "in_progress" and words.reason("stalled") == "stalled"
