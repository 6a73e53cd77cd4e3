"""One task per unit (for_each) and recurring tasks (repeat)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import write_plan
from workflow.plan.definitions import Repeat
from workflow.rules.recurrence import occurrences

PLAN = """\
id: fan
title: "Kế hoạch có huyện"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 60d, step_after: 3d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
units:
  huyen:
    moc-chau: {name: "Trung tâm Y tế huyện Mộc Châu"}
    mai-son: {name: "Trung tâm Y tế huyện Mai Sơn"}
    yen-chau: "Trung tâm Y tế huyện Yên Châu"
tasks:
  kiem-ke:
    title: "Kiểm kê tài sản"
    for_each: huyen
    lead: each
    due: 2024-05-05
  ban-giao:
    title: "Bàn giao"
    for_each: huyen
    lead: so-y-te
    depends_on: [kiem-ke]
    due: 2024-05-31
  quyet-dinh:
    title: "Quyết định"
    lead: so-tai-chinh
    depends_on: [kiem-ke]
  bao-cao-tuan:
    title: "Báo cáo tuần"
    lead: so-tai-chinh
    repeat: {weekly: thứ 6, from: 2024-04-01, until: 2024-05-31}
"""
T0 = "2024-04-01T08:00:00+07:00"
UNITS = ["moc-chau", "mai-son", "yen-chau"]


@pytest.fixture
def fan(run, tmp_path):
    run.ok("load", write_plan(tmp_path, PLAN), now=T0)
    return run


def do(run, *args, now=T0):
    return run(*args, "--json", now=now)


def finish(run, task, lead, approver="so-y-te", now=T0):
    for args in (("start", task, "--as", lead), ("report", task, "--as", lead, "--note", "xong"),
                 ("approve", task, "--as", approver)):
        r = do(run, *args, now=now)
        assert r.code == 0, r.err


def test_instances_are_created_one_per_unit_with_their_lead(fan):
    rows = fan.ok("tasks", "kiem-ke/*", "--json").json
    assert [(t["id"], t["lead"], t["unit"]) for t in rows] == [
        (f"kiem-ke/{u}", u, u) for u in UNITS]
    ban = fan.ok("show", "ban-giao/mai-son", "--json").json
    assert ban["lead"] == "so-y-te" and "mai-son" in ban["support"]
    assert ban["title"] == "Bàn giao — Trung tâm Y tế huyện Mai Sơn"
    listed = fan.ok("tasks", "--json").json
    assert [t["id"] for t in listed] == ["kiem-ke", "ban-giao", "quyet-dinh", "bao-cao-tuan"]
    assert listed[0]["instances"]["assigned"] == 3


def test_a_group_is_not_moved_itself(fan):
    r = do(fan, "start", "kiem-ke", "--as", "moc-chau")
    assert r.code == 4
    assert r.error == ("Error: kiem-ke is fanned out over units: move its instances "
                       "(kiem-ke/...), e.g. workflow start kiem-ke/moc-chau; list them with "
                       "workflow tasks 'kiem-ke/*'")


def test_same_list_dependencies_pair_unit_by_unit(fan):
    r = do(fan, "start", "ban-giao/moc-chau", "--as", "so-y-te")
    assert r.error == ("Error: ban-giao/moc-chau cannot start: kiem-ke/moc-chau is assigned "
                       "(must be approved first)")
    finish(fan, "kiem-ke/moc-chau", "moc-chau")
    assert do(fan, "start", "ban-giao/moc-chau", "--as", "so-y-te").code == 0
    r = do(fan, "start", "ban-giao/mai-son", "--as", "so-y-te")  # Mai Sơn not yet counted
    assert r.code == 4 and "kiem-ke/mai-son is assigned" in r.error
    deps = fan.ok("show", "ban-giao", "--json").json["dependencies"]
    assert deps == [{"id": "kiem-ke", "state": "in_progress", "waits_for": "the same unit"}]


def test_other_dependencies_wait_for_every_instance(fan):
    finish(fan, "kiem-ke/moc-chau", "moc-chau")
    finish(fan, "kiem-ke/mai-son", "mai-son")
    r = do(fan, "start", "quyet-dinh", "--as", "so-tai-chinh")
    assert r.error == "Error: quyet-dinh cannot start: kiem-ke is in_progress (must be " \
                      "approved first)"
    finish(fan, "kiem-ke/yen-chau", "yen-chau")
    assert fan.ok("show", "kiem-ke", "--json").json["state"] == "approved"
    assert do(fan, "start", "quyet-dinh", "--as", "so-tai-chinh").code == 0
    deps = fan.ok("show", "quyet-dinh", "--json").json["dependencies"]
    assert deps == [{"id": "kiem-ke", "state": "approved", "waits_for": "every instance"}]


@pytest.mark.parametrize(("moves", "rolled"), [
    ([], "assigned"),
    ([("start", "moc-chau")], "in_progress"),
    ([("start", "moc-chau"), ("block", "mai-son")], "blocked"),
    ([("start", "moc-chau"), ("start", "mai-son"), ("start", "yen-chau")], "in_progress"),
])
def test_roll_up_state(fan, moves, rolled):
    for trigger, unit in moves:
        extra = ["--note", "khó"] if trigger == "block" else []
        assert do(fan, trigger, f"kiem-ke/{unit}", "--as", unit, *extra).code == 0
    group = fan.ok("show", "kiem-ke", "--json").json
    assert group["state"] == rolled


def test_one_late_district_is_escalated_on_its_own(fan):
    for unit in ("moc-chau", "mai-son"):
        finish(fan, f"kiem-ke/{unit}", unit)
    actions = fan.ok("escalate", "--json", now="2024-05-06T08:00:00+07:00").json
    late = [a for a in actions if a["task"].startswith("kiem-ke")]
    assert late == [{"task": "kiem-ke/yen-chau", "action": "raised", "level": 1,
                     "escalated_to": "so-y-te", "reason": "overdue", "plan": "fan"}]
    rows = fan.ok("summary", "--json", now="2024-05-06T08:00:00+07:00").json["agencies"]
    yen = next(r for r in rows if r["agency"] == "yen-chau")
    assert (yen["overdue"], yen["escalated"]) == (1, 1)


def test_recurrence_is_created_as_time_passes_and_missed_weeks_are_overdue(fan):
    def occurrences_now():
        return [t["id"] for t in fan.ok("tasks", "bao-cao-tuan/*", "--json").json]

    assert occurrences_now() == ["bao-cao-tuan/2024-04-05"]  # within 7 days of loading
    fan.ok("escalate", now="2024-04-06T08:00:00+07:00")
    assert occurrences_now() == ["bao-cao-tuan/2024-04-05", "bao-cao-tuan/2024-04-12"]
    # No sweep for three weeks: one sweep creates the missed ones, already overdue.
    actions = fan.ok("escalate", "--json", now="2024-04-27T08:00:00+07:00").json
    assert occurrences_now() == [f"bao-cao-tuan/2024-{d}" for d in
                                 ("04-05", "04-12", "04-19", "04-26", "05-03")]
    overdue = {a["task"] for a in actions if a["reason"] == "overdue"}
    assert {"bao-cao-tuan/2024-04-19", "bao-cao-tuan/2024-04-26"} <= overdue
    events = [e for e in fan.ok("history", "--json").json if e["event"] == "created"]
    assert len(events) == 5
    fan.ok("escalate", now="2024-07-01T08:00:00+07:00")
    assert len(occurrences_now()) == 9  # every Friday of April and May 2024, then the rule ends


def test_recurring_group_refuses_moves_and_rolls_up(fan):
    r = do(fan, "report", "bao-cao-tuan", "--as", "so-tai-chinh", "--note", "x")
    assert r.code == 4 and "recurs" in r.error
    finish(fan, "bao-cao-tuan/2024-04-05", "so-tai-chinh")
    assert fan.ok("show", "bao-cao-tuan", "--json").json["state"] == "in_progress"


def test_summary_by_unit_and_task(fan):
    finish(fan, "kiem-ke/moc-chau", "moc-chau")
    by_unit = fan.ok("summary", "--by", "unit", "--json").json["rows"]
    moc = next(r for r in by_unit if r["unit"] == "moc-chau")
    assert (moc["tasks"], moc["approved"]) == (2, 1)
    by_task = fan.ok("summary", "--by", "task", "--json").json["rows"]
    assert next(r for r in by_task if r["task"] == "kiem-ke")["tasks"] == 3


@pytest.mark.parametrize(("rule", "after", "expected"), [
    (Repeat("weekly", weekday=4, first=date(2026, 1, 1), until=date(2026, 1, 31)), None,
     ["2026-01-02", "2026-01-09", "2026-01-16", "2026-01-23", "2026-01-30"]),
    (Repeat("monthly", day=31, first=date(2024, 1, 15), until=date(2024, 4, 30)), None,
     ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"]),
    (Repeat("yearly", days=((10, 6), (10, 12)), first=date(2020, 9, 1),
            until=date(2021, 12, 31)), None, ["2020-12-10", "2021-06-10", "2021-12-10"]),
    (Repeat("yearly", days=((10, 6), (10, 12)), first=date(2020, 9, 1)), date(2021, 6, 10),
     ["2021-12-10", "2022-06-10", "2022-12-10"]),
])
def test_occurrence_rules(rule, after, expected):
    got = []
    for day in occurrences(rule, after):
        got.append(day.isoformat())
        if len(got) == len(expected):
            break
    assert got == expected


def test_a_blocked_group_is_not_escalated_itself(fan):
    assert do(fan, "block", "kiem-ke/mai-son", "--as", "mai-son", "--note", "khó").code == 0
    assert fan.ok("show", "kiem-ke", "--json").json["state"] == "blocked"
    fan.ok("escalate", now="2024-04-02T08:00:00+07:00")
    open_ones = fan.ok("escalations", "--json", now="2024-04-02T08:00:00+07:00").json
    assert [e["task"] for e in open_ones] == ["kiem-ke/mai-son"]
