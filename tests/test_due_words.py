"""A task's deadline as the definition words it (``due_text``) and the due before any
extension (``original_due``): in ``--json`` (SPEC's task fields), ``show``, the phụ lục and
the as-of views, for plain tasks, fanned-out instances and recurring occurrences."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import write_plan

PLAN = """\
id: words
title: "Kế hoạch có thời hạn bằng lời"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 60d, step_after: 3d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
units:
  huyen:
    moc-chau: "Trung tâm Y tế huyện Mộc Châu"
    mai-son: "Trung tâm Y tế huyện Mai Sơn"
tasks:
  quy-ba:
    title: "Quyết toán"
    lead: so-tai-chinh
    start: 2024-04-10
    due: "Quý III/2024"
  kiem-ke:
    title: "Kiểm kê tài sản"
    for_each: huyen
    lead: so-y-te
    due: "trước ngày 16/5/2024"
  ngay:
    title: "Báo cáo nhanh"
    lead: so-y-te
    due: 2024-06-30
  bao-cao-tuan:
    title: "Báo cáo tuần"
    lead: so-tai-chinh
    repeat: {weekly: thứ 6, from: 2024-04-01, until: 2024-05-31}
"""
T0 = "2024-04-01T08:00:00+07:00"
SPEC_FIELDS = {"id", "plan", "title", "state", "lead", "support", "approver", "due", "start",
               "original_due", "due_text", "depends_on", "overdue", "escalation_level",
               "escalated_to"}
OCCURRENCE = "bao-cao-tuan/2024-04-05"
EXPECTED = {  # id -> (due, due_text)
    "quy-ba": ("2024-09-30", "Quý III/2024"),
    "kiem-ke/mai-son": ("2024-05-15", "trước ngày 16/5/2024"),
    "ngay": ("2024-06-30", "2024-06-30"),
    OCCURRENCE: ("2024-04-05", None),
}


@pytest.fixture
def words(run, tmp_path):
    run.ok("load", write_plan(tmp_path, PLAN), now=T0)
    return run


def _by_id(rows):
    return {t["id"]: t for t in rows}


def _check(task):
    assert task.keys() >= SPEC_FIELDS, SPEC_FIELDS - task.keys()
    due, text = EXPECTED[task["id"]]
    assert (task["due"], task["original_due"], task["due_text"]) == (due, due, text)


def test_tasks_and_show_json_carry_every_spec_field(words):
    listed = _by_id(words.ok("tasks", "--agency", "so-tai-chinh", "--json").json
                    + words.ok("tasks", "--agency", "so-y-te", "--json").json)
    for task_id in EXPECTED:
        _check(listed[task_id])
        _check(words.ok("show", task_id, "--json").json)
    assert listed["quy-ba"]["start"] == "2024-04-10"
    # A fanned-out task's group has its words too; a recurring group keeps none of a date.
    groups = _by_id(words.ok("tasks", "--json").json)
    assert groups["kiem-ke"]["due_text"] == "trước ngày 16/5/2024"
    assert groups["bao-cao-tuan"]["due_text"] is None


def test_show_prints_the_words_beside_the_date_when_they_say_more(words):
    due = [ln for ln in words.ok("show", "quy-ba").out.splitlines() if "due:" in ln]
    assert due == ["  due:          2024-09-30  (Quý III/2024)"]
    instance = words.ok("show", "kiem-ke/moc-chau").out
    assert "2024-05-15  (trước ngày 16/5/2024)" in instance
    plain = [ln for ln in words.ok("show", "ngay").out.splitlines() if "due:" in ln]
    assert plain == ["  due:          2024-06-30"]


def test_the_phu_luc_time_column_has_the_words(words, tmp_path):
    out = tmp_path / "phu-luc.csv"
    words.ok("export", "--output", str(out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    shown = {r["Mã nhiệm vụ"]: (r["Thời hạn"], r["Ngày hết hạn"]) for r in rows}
    assert shown["quy-ba"] == ("Quý III/2024", "2024-09-30")
    assert shown["kiem-ke/mai-son"] == ("trước ngày 16/5/2024", "2024-05-15")
    assert shown[OCCURRENCE] == ("", "2024-04-05")


def test_as_of_shows_the_same_words_as_the_live_tables(words):
    words.ok("start", "quy-ba", "--as", "so-tai-chinh", now="2024-04-11T09:00:00+07:00")
    now = "2024-04-12T09:00:00+07:00"
    for args in (("--agency", "so-tai-chinh"), ("--agency", "so-y-te"), ()):
        live = words.ok("tasks", *args, "--json", now=now).json
        past = words.ok("tasks", *args, "--json", "--at", "2024-04-11", now=now).json
        assert [(t["id"], t["due"], t["original_due"], t["due_text"]) for t in past] == [
            (t["id"], t["due"], t["original_due"], t["due_text"]) for t in live]
    assert words.ok("show", "quy-ba", "--json", "--at", "2024-04-11",
                    now=now).json["due_text"] == "Quý III/2024"
