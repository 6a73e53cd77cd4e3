"""Deadlines that follow a task (``due: {after, within}``) and reminders (nhắc việc), through the
command line on SQLite and PostgreSQL: fixed on the approval, shown before and after, in the
history and the as-of views; one reminder per due date, delivered to a real receiver."""

from __future__ import annotations

import pytest

from tests.conftest import write_plan
from tests.receiver import Receiver

REL_PLAN = """\
id: rel
title: "Kế hoạch quyết toán"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 60d, step_after: 3d, remind_before: 3wd}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
tasks:
  quyet-toan-2023:
    title: "Quyết toán năm 2023"
    lead: so-tai-chinh
    due: 2025-01-20
  dieu-chuyen:
    title: "Điều chuyển tài sản"
    lead: so-tai-chinh
    due: {after: quyet-toan-2023, within: 15wd}
  lich:
    title: "Lập lịch bàn giao"
    lead: so-y-te
    due: {after: quyet-toan-2023, within: 30d}
    remind_before: 2d
"""
LOADED = "2025-01-02T09:00:00+07:00"
APPROVED = "2025-01-24T10:00:00+07:00"  # a Friday; Tết Ất Tỵ is 25/1-2/2/2025
NOTIFY_ENV = ("WORKFLOW_NOTIFY_COMMAND", "WORKFLOW_NOTIFY_WEBHOOK", "WORKFLOW_NOTIFY_CONFIG",
              "WORKFLOW_DELIVERY_BUDGET")


@pytest.fixture
def rel(run, tmp_path, monkeypatch):
    for key in NOTIFY_ENV:  # no channel unless a command is given one
        monkeypatch.delenv(key, raising=False)
    run.ok("load", write_plan(tmp_path, REL_PLAN), now=LOADED)
    return run


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def approve_quyet_toan(run, at: str = APPROVED) -> None:
    run.ok("start", "quyet-toan-2023", "--as", "so-tai-chinh", now="2025-01-06T09:00:00+07:00")
    run.ok("report", "quyet-toan-2023", "--as", "so-tai-chinh", "--note", "Đã quyết toán",
           now="2025-01-10T09:00:00+07:00")
    run.ok("approve", "quyet-toan-2023", "--as", "so-y-te", now=at)


def task(run, task_id: str, now: str) -> dict:
    return next(t for t in run.ok("tasks", "--json", now=now).json if t["id"] == task_id)


def due_line(run, task_id: str, *args: str, now: str) -> str:
    out = run.ok("show", task_id, *args, now=now).out
    return next(line for line in out.splitlines() if line.startswith("  due:")).split(None, 1)[1]


def test_a_following_deadline_has_no_date_until_its_task_is_approved(rel):
    t = task(rel, "dieu-chuyen", LOADED)
    assert (t["due"], t["due_after"], t["due_within"], t["overdue"]) == (
        None, "quyet-toan-2023", "15wd", False)
    assert due_line(rel, "dieu-chuyen", now=LOADED) == (
        "15 working days after quyet-toan-2023 is approved")
    assert due_line(rel, "lich", now=LOADED) == "30 days after quyet-toan-2023 is approved"
    assert task(rel, "dieu-chuyen", "2025-03-30T09:00:00+07:00")["overdue"] is False  # no date


def test_approval_fixes_it_in_working_days_over_tet_and_in_calendar_days(rel):
    approve_quyet_toan(rel)
    # 15 working days after Friday 24/1/2025: Tết (27/1-31/1) and its weekends are skipped.
    assert task(rel, "dieu-chuyen", APPROVED)["due"] == "2025-02-21"
    assert task(rel, "lich", APPROVED)["due"] == "2025-02-23"  # 30 calendar days
    assert due_line(rel, "dieu-chuyen", now=APPROVED) == (
        "2025-02-21  (15 working days after quyet-toan-2023 is approved)")
    # Once fixed it is a deadline like any other: overdue after the end of its day.
    late = [t["id"] for t in rel.ok("tasks", "--overdue", "--json",
                                    now="2025-02-22T08:00:00+07:00").json]
    assert late == ["dieu-chuyen"]
    rel.ok("audit", "verify")


def test_the_plan_s_calendar_swaps_count(run, tmp_path):
    swapped = REL_PLAN.replace("tasks:\n", "calendar: {days_off: [3/2/2025]}\ntasks:\n", 1)
    run.ok("load", write_plan(tmp_path, swapped), now=LOADED)
    approve_quyet_toan(run)
    assert task(run, "dieu-chuyen", APPROVED)["due"] == "2025-02-24"  # one day off more


def test_the_history_and_the_past_say_when_it_was_fixed(rel):
    approve_quyet_toan(rel)
    later = "2025-01-30T09:00:00+07:00"
    [fixed] = rel.ok("history", "dieu-chuyen", "--json", now=later).json
    assert (fixed["event"], fixed["at"], fixed["actor"], fixed["data"]) == (
        "due_fixed", "2025-01-24T10:00:00+07:00", "so-y-te",
        {"due": "2025-02-21", "after": "quyet-toan-2023", "within": "15wd"})
    assert rel.ok("history", "--event", "due_fixed", "--json", now=later).json[1]["task"] == (
        "lich")
    before = rel.ok("show", "dieu-chuyen", "--at", "2025-01-23", "--json", now=later).json
    after = rel.ok("show", "dieu-chuyen", "--at", "2025-01-25", "--json", now=later).json
    assert (before["due"], after["due"]) == (None, "2025-02-21")
    assert due_line(rel, "dieu-chuyen", "--at", "2025-01-23", now=later) == (
        "15 working days after quyet-toan-2023 is approved")
    assert (rel.ok("tasks", "--at", later, "--json", now=later).json
            == rel.ok("tasks", "--json", now=later).json)


def test_one_reminder_per_due_date_delivered_to_a_real_receiver(rel, receiver):
    env = {"WORKFLOW_NOTIFY_WEBHOOK": receiver.url}
    # Due Monday 20/1, 3 working days before: at the end of Wednesday 15/1.
    assert task(rel, "quyet-toan-2023", LOADED)["remind_at"] == "2025-01-16T00:00:00+07:00"
    assert rel.ok("escalate", env=env, now="2025-01-15T23:59:00+07:00").out.strip() == (
        "nothing to do")
    out = rel.ok("escalate", env=env, now="2025-01-16T08:00:00+07:00").out
    assert out.strip() == "reminded rel/quyet-toan-2023  → so-tai-chinh (due soon)"
    [message] = receiver.bodies
    [item] = message["items"]
    assert {k: item[k] for k in ("task", "action", "reason", "escalated_to", "must_act",
                                 "due", "title")} == {
        "task": "quyet-toan-2023", "action": "reminder", "reason": "due_soon",
        "escalated_to": "so-tai-chinh", "must_act": "so-tai-chinh", "due": "2025-01-20",
        "title": "Quyết toán năm 2023"}
    assert message["recipient_name"] == "Sở Tài chính"
    assert "Nhắc việc" in message["text"] and "Hạn: 20/01/2025." in message["text"]
    # Once per due date: later sweeps send nothing more.
    for when in ("2025-01-16T08:00:00+07:00", "2025-01-17T08:00:00+07:00"):
        assert rel.ok("escalate", env=env, now=when).out.strip() == "nothing to do"
    assert len(receiver.bodies) == 1
    t = task(rel, "quyet-toan-2023", "2025-01-17T08:00:00+07:00")
    assert (t["reminded_for"], t["remind_at"]) == ("2025-01-20", None)
    [event] = rel.ok("history", "--event", "reminder", "--json",
                     now="2025-01-17T08:00:00+07:00").json
    assert (event["task"], event["escalated_to"], event["data"]) == (
        "quyet-toan-2023", "so-tai-chinh", {"due": "2025-01-20", "remind_before": "3wd"})
    rel.ok("audit", "verify")


def test_reported_approved_and_overdue_tasks_are_not_reminded(rel):
    rel.ok("start", "quyet-toan-2023", "--as", "so-tai-chinh", now="2025-01-06T09:00:00+07:00")
    rel.ok("report", "quyet-toan-2023", "--as", "so-tai-chinh", "--note", "Đã quyết toán",
           now="2025-01-10T09:00:00+07:00")
    assert rel.ok("escalate", now="2025-01-16T08:00:00+07:00").out.strip() == "nothing to do"
    rel.ok("approve", "quyet-toan-2023", "--as", "so-y-te", now=APPROVED)
    # dieu-chuyen (due 21/2, 3wd: end of 18/2) is first swept when already overdue: the
    # overdue escalation speaks, no reminder; lich (due 23/2, its own 2d) is reminded.
    out = rel.ok("escalate", now="2025-02-22T08:00:00+07:00").out
    assert "reminded rel/lich  → so-y-te (due soon)" in out.splitlines()
    assert not any(line.startswith("reminded rel/dieu-chuyen") for line in out.splitlines())
    assert "raised   rel/dieu-chuyen  L1 → so-y-te (overdue)" in out.splitlines()
    events = rel.ok("history", "--event", "reminder", "--json",
                    now="2025-02-22T08:00:00+07:00").json
    assert [e["task"] for e in events] == ["lich"]


def test_a_changed_due_is_reminded_again_once(rel, tmp_path):
    rel.ok("escalate", now="2025-01-16T08:00:00+07:00")
    moved = REL_PLAN.replace("due: 2025-01-20", "due: 2025-02-20")
    rel.ok("load", write_plan(tmp_path, moved, "v2.yaml"), "--upgrade",
           now="2025-01-17T08:00:00+07:00")
    # Due Thursday 20/2, 3 working days before: the end of Monday 17/2.
    t = task(rel, "quyet-toan-2023", "2025-01-17T08:00:00+07:00")
    assert (t["reminded_for"], t["remind_at"]) == ("2025-01-20", "2025-02-18T00:00:00+07:00")
    assert rel.ok("escalate", now="2025-02-17T23:00:00+07:00").out.strip() == "nothing to do"
    assert rel.ok("escalate", now="2025-02-18T08:00:00+07:00").out.strip() == (
        "reminded rel/quyet-toan-2023  → so-tai-chinh (due soon)")
    assert rel.ok("escalate", now="2025-02-19T08:00:00+07:00").out.strip() == "nothing to do"
    events = rel.ok("history", "--event", "reminder", "--json",
                    now="2025-02-19T08:00:00+07:00").json
    assert [e["data"]["due"] for e in events] == ["2025-01-20", "2025-02-20"]
    rel.ok("audit", "verify")
