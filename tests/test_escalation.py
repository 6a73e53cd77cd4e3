"""Escalation as SPEC.md says: who it goes to, when it climbs, what resolves it, the sweep.

Chains in SMALL_PLAN (issuer ubnd-tinh, coordinator so-y-te; stall_after 7d, step_after 3d):
  a, b  so-tai-chinh -> so-y-te -> ubnd-tinh               (approver so-y-te)
  c     so-y-te -> ubnd-tinh                               (approver ubnd-tinh, the issuer)
  d     ttyt -> so-noi-vu -> so-y-te -> ubnd-tinh          (approver so-noi-vu, outside)
Every plan is loaded on 1 April 2024 08:00 (+07:00); a is due 20/4, b 15/5 and waits for a,
c is due 30/9, d has no due date and may not start before 1/5.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest

from tests.conftest import ROOT, SMALL_PLAN, Runner, write_plan

NOTE = {"report": "Đã gửi báo cáo", "return": "Thiếu số liệu", "block": "Thiếu hồ sơ",
        "unblock": "Đã bổ sung hồ sơ"}
# SMALL_PLAN plus a task led by the issuer itself.
ISSUER_PLAN = SMALL_PLAN + """\
  e:
    title: "Việc UBND tỉnh tự làm"
    lead: ubnd-tinh
    support: [so-y-te]
    due: 2024-12-31
"""


def at(day: str, hms: str = "08:00:00") -> str:
    return f"{day}T{hms}+07:00"


def before(moment: str) -> str:
    """One second earlier."""
    return (datetime.fromisoformat(moment) - timedelta(seconds=1)).isoformat()


def act(run: Runner, when: str, trigger: str, task: str, actor: str) -> dict:
    args = [trigger, task, "--as", actor, "--json"]
    if trigger in NOTE:
        args += ["--note", NOTE[trigger]]
    return run.ok(*args, now=when).json


def replay(run: Runner, moves: list[tuple[str, str, str, str]]) -> None:
    for move in moves:
        act(run, *move)


def sweep(run: Runner, when: str) -> list[dict]:
    return run.ok("escalate", "--json", now=when).json


def actions(out: list[dict], task: str | None = None) -> list[tuple]:
    """(action, level, escalated_to, reason) of a sweep's or a move's escalations."""
    return [(a["action"], a["level"], a["escalated_to"], a["reason"]) for a in out
            if task is None or a["task"] == task]


def escalation_events(run: Runner, task: str) -> list[tuple]:
    """The task's escalation history as (action, level, escalated_to, reason)."""
    return [(e["event"].removeprefix("escalation_"), e["level"], e["escalated_to"], e["reason"])
            for e in run.ok("history", task, "--json").json
            if e["event"].startswith("escalation_")]


def open_escalations(run: Runner, when: str) -> dict[str, tuple[int, str, str]]:
    rows = run.ok("escalations", "--json", now=when).json
    found = {e["task"]: (e["level"], e["escalated_to"], e["reason"]) for e in rows}
    assert len(found) == len(rows), f"a task has several open escalations: {rows}"
    return found


def shown(run: Runner, task: str, when: str) -> tuple[int, str | None]:
    t = run.ok("show", task, "--json", now=when).json
    return t["escalation_level"], t["escalated_to"]


@pytest.fixture
def issuer_plan(run, tmp_path) -> Runner:
    run.ok("load", write_plan(tmp_path, ISSUER_PLAN), now=at("2024-04-01"))
    return run


# ----------------------------------------------------------------- the table: who it goes to

# (case, task, blocked by, escalated to at level 1)
BLOCKS = [
    ("support blocks: the lead must act, told first", "a", "ttyt", "so-tai-chinh"),
    ("the coordinator as support blocks: still the lead", "b", "so-y-te", "so-tai-chinh"),
    ("support blocks a coordinator-led task", "c", "so-noi-vu", "so-y-te"),
    ("the lead blocks: next above the lead", "a", "so-tai-chinh", "so-y-te"),
    ("the coordinator leads and blocks: the issuer", "c", "so-y-te", "ubnd-tinh"),
    ("lead blocks; an outside approver sits above the lead", "d", "ttyt", "so-noi-vu"),
]


@pytest.mark.parametrize(("task", "by", "to"), [b[1:] for b in BLOCKS],
                         ids=[b[0] for b in BLOCKS])
def test_a_block_raises_its_escalation_in_the_move(small, task, by, to):
    when = at("2024-04-02")
    out = act(small, when, "block", task, by)
    assert actions(out["escalations"]) == [("raised", 1, to, "blocked")]
    # Committed with the block, not left for a sweep: visible at once, and the sweep finds
    # nothing more to do for it.
    assert shown(small, task, when) == (1, to)
    assert open_escalations(small, when)[task] == (1, to, "blocked")
    event = small.ok("history", task, "--json").json[-1]
    assert (event["event"], event["escalated_to"], event["level"], event["reason"],
            event["from"], event["to"]) == ("escalation_raised", to, 1, "blocked",
                                            "blocked", "blocked")
    assert actions(sweep(small, when), task) == []


# (case, moves before, moment the cause begins, task, reason, escalated to at level 1)
SWEEP_ROWS = [
    ("overdue while assigned (waiting on a)", [], at("2024-05-16", "00:00:00"),
     "b", "overdue", "so-y-te"),
    ("overdue while assigned (stall clock reset by unblock)",
     [(at("2024-04-15"), "block", "a", "ttyt"), (at("2024-04-15"), "unblock", "a", "so-tai-chinh")],
     at("2024-04-21", "00:00:00"), "a", "overdue", "so-y-te"),
    ("overdue while in_progress", [(at("2024-04-15"), "start", "a", "so-tai-chinh")],
     at("2024-04-21", "00:00:00"), "a", "overdue", "so-y-te"),
    ("overdue while in_progress, coordinator leads",
     [(at("2024-09-28"), "start", "c", "so-y-te")],
     at("2024-10-01", "00:00:00"), "c", "overdue", "ubnd-tinh"),
    ("stalled while assigned", [], at("2024-04-08"), "a", "stalled", "so-y-te"),
    ("stalled while assigned, coordinator leads", [], at("2024-04-08"), "c", "stalled",
     "ubnd-tinh"),
    ("stalled while in_progress", [(at("2024-04-02"), "start", "a", "so-tai-chinh")],
     at("2024-04-09"), "a", "stalled", "so-y-te"),
    ("stalled while in_progress, outside approver above the lead",
     [(at("2024-05-01"), "start", "d", "ttyt")], at("2024-05-08"), "d", "stalled",
     "so-noi-vu"),
    ("stalled while reported: above the approver",
     [(at("2024-04-02"), "start", "a", "so-tai-chinh"),
      (at("2024-04-03"), "report", "a", "so-tai-chinh")],
     at("2024-04-10"), "a", "stalled", "ubnd-tinh"),
    ("stalled while reported: above the outside approver",
     [(at("2024-05-01"), "start", "d", "ttyt"), (at("2024-05-02"), "report", "d", "ttyt")],
     at("2024-05-09"), "d", "stalled", "so-y-te"),
    ("overdue while reported: the approver must act",
     [(at("2024-04-15"), "start", "a", "so-tai-chinh"),
      (at("2024-04-19"), "report", "a", "so-tai-chinh")],
     at("2024-04-21", "00:00:00"), "a", "overdue", "ubnd-tinh"),
]


@pytest.mark.parametrize(("moves", "begins", "task", "reason", "to"),
                         [r[1:] for r in SWEEP_ROWS], ids=[r[0] for r in SWEEP_ROWS])
def test_the_sweep_raises_overdue_and_stalled_as_the_table_says(small, moves, begins, task,
                                                                  reason, to):
    replay(small, moves)
    state = small.ok("show", task, "--json", now=begins).json["state"]
    assert actions(sweep(small, before(begins)), task) == [], "raised a second too early"
    out = sweep(small, begins)
    assert [a for a in out if a["task"] == task] == [
        {"task": task, "action": "raised", "level": 1, "escalated_to": to, "reason": reason,
         "plan": "small"}]
    assert shown(small, task, begins) == (1, to)
    event = small.ok("history", task, "--json").json[-1]
    assert (event["event"], event["escalated_to"], event["level"], event["reason"],
            event["from"], event["to"], event["at"]) == (
        "escalation_raised", to, 1, reason, state, state, begins)


def test_an_outside_approver_sits_just_below_the_coordinator(small):
    """d's chain is ttyt, so-noi-vu, so-y-te, ubnd-tinh: a late sweep climbs through all."""
    out = sweep(small, at("2024-05-14", "00:00:00"))  # stalled since 8/5 00:00, 6 days
    assert actions(out, "d") == [("raised", 1, "so-noi-vu", "stalled"),
                                 ("climbed", 2, "so-y-te", "stalled"),
                                 ("climbed", 3, "ubnd-tinh", "stalled")]


# ----------------------------------------------------------------- nobody above: the top


def test_the_issuer_approving_means_the_top_and_it_stays_there(small):
    replay(small, [(at("2024-04-02"), "start", "c", "so-y-te"),
                   (at("2024-04-03"), "report", "c", "so-y-te")])
    assert actions(sweep(small, at("2024-04-10")), "c") == [("raised", 1, "ubnd-tinh",
                                                             "stalled")]
    for day in ("2024-04-13", "2024-04-20", "2024-06-01"):
        assert actions(sweep(small, at(day)), "c") == []
    assert shown(small, "c", at("2024-06-01")) == (1, "ubnd-tinh")
    assert escalation_events(small, "c") == [("raised", 1, "ubnd-tinh", "stalled")]


# (case, moves, sweep at, reason, escalated to: always the issuer, level 1, for good)
ISSUER_ROWS = [
    ("the issuer leads and blocks", [(at("2024-04-02"), "block", "e", "ubnd-tinh")],
     at("2024-04-02"), "blocked"),
    ("support blocks the issuer's task", [(at("2024-04-02"), "block", "e", "so-y-te")],
     at("2024-04-02"), "blocked"),
    ("the issuer's task stalls", [], at("2024-04-08"), "stalled"),
    ("the issuer's report stalls with the coordinator (approver)",
     [(at("2024-04-02"), "start", "e", "ubnd-tinh"),
      (at("2024-04-03"), "report", "e", "ubnd-tinh")], at("2024-04-10"), "stalled"),
]


@pytest.mark.parametrize(("moves", "when", "reason"), [r[1:] for r in ISSUER_ROWS],
                         ids=[r[0] for r in ISSUER_ROWS])
def test_when_the_issuer_leads_nobody_is_above_it(issuer_plan, moves, when, reason):
    replay(issuer_plan, moves)
    sweep(issuer_plan, when)
    assert open_escalations(issuer_plan, when)["e"] == (1, "ubnd-tinh", reason)
    # The coordinator is below the issuer: the escalation never goes down to it.
    assert actions(sweep(issuer_plan, at("2024-05-30")), "e") == []
    assert escalation_events(issuer_plan, "e") == [("raised", 1, "ubnd-tinh", reason)]


# ----------------------------------------------------------------- climbing


def test_it_climbs_one_level_per_step_up_to_the_top_then_stops(small):
    act(small, at("2024-04-02"), "block", "a", "ttyt")
    assert sweep(small, before(at("2024-04-05"))) == []
    assert actions(sweep(small, at("2024-04-05"))) == [("climbed", 2, "so-y-te", "blocked")]
    assert shown(small, "a", at("2024-04-05")) == (2, "so-y-te")
    assert sweep(small, before(at("2024-04-08"))) == []
    assert actions(sweep(small, at("2024-04-08")), "a") == [("climbed", 3, "ubnd-tinh",
                                                             "blocked")]
    for day in ("2024-04-11", "2024-04-20", "2024-07-01"):
        assert actions(sweep(small, at(day)), "a") == []
    assert shown(small, "a", at("2024-07-01")) == (3, "ubnd-tinh")
    assert escalation_events(small, "a") == [("raised", 1, "so-tai-chinh", "blocked"),
                                             ("climbed", 2, "so-y-te", "blocked"),
                                             ("climbed", 3, "ubnd-tinh", "blocked")]


def test_a_late_sweep_climbs_every_level_due_in_one_go(small):
    act(small, at("2024-04-02"), "block", "a", "ttyt")
    out = sweep(small, at("2024-04-09"))  # a week later, the first sweep since the block
    assert actions(out, "a") == [("climbed", 2, "so-y-te", "blocked"),
                                 ("climbed", 3, "ubnd-tinh", "blocked")]


def test_a_first_sweep_long_after_the_due_date_raises_and_climbs(small):
    """Overdue escalations date from the first moment the task was overdue."""
    out = sweep(small, at("2024-05-19", "00:00:00"))  # b overdue since 16/5 00:00
    assert actions(out, "b") == [("raised", 1, "so-y-te", "overdue"),
                                 ("climbed", 2, "ubnd-tinh", "overdue")]
    assert open_escalations(small, at("2024-05-19"))["b"] == (2, "ubnd-tinh", "overdue")


SON_LA_MOVES = [
    (at("2024-04-02"), "start", "quyet-toan-2023", "so-y-te"),
    (at("2024-04-03", "09:30:00"), "block", "quyet-toan-2024", "kbnn-tinh"),
    (at("2024-04-10", "10:00:00"), "report", "quyet-toan-2023", "so-y-te"),
    (at("2024-04-12", "14:00:00"), "start", "chuyen-cong-tac-vien-chuc", "so-noi-vu"),
    (at("2024-04-16"), "block", "huong-dan-tai-chinh-tai-san", "so-tai-chinh"),
    (at("2024-04-20", "15:00:00"), "unblock", "quyet-toan-2024", "so-y-te"),
    (at("2024-05-02"), "approve", "quyet-toan-2023", "ubnd-tinh"),
    (at("2024-05-20"), "start", "thu-hoi-con-dau-cu", "so-y-te"),
]


def test_sweeping_once_after_downtime_lands_where_daily_sweeps_do(son_la, tmp_path, capsys,
                                                                  monkeypatch):
    # A SQLite file: in the PostgreSQL run this also shows both databases land in one state.
    once = Runner(str(tmp_path / "once.db"), capsys, monkeypatch)
    once.ok("load", ROOT / "definitions" / "son-la-2024-ttyt.yaml", now=at("2024-04-01"))
    end = at("2024-06-03", "09:00:00")
    pending = sorted(SON_LA_MOVES)
    day = datetime.fromisoformat(at("2024-04-02", "09:00:00"))
    while day.isoformat() <= end:
        while pending and pending[0][0] <= day.isoformat():
            move = pending.pop(0)
            act(son_la, *move)
            act(once, *move)
        sweep(son_la, day.isoformat())
        day += timedelta(days=1)
    assert not pending
    sweep(once, end)

    daily = sorted(son_la.ok("escalations", "--json", now=end).json, key=lambda e: e["task"])
    assert sorted(once.ok("escalations", "--json", now=end).json,
                  key=lambda e: e["task"]) == daily
    by_task = {e["task"]: (e["level"], e["escalated_to"], e["reason"]) for e in daily}
    # The provincial tasks (those fanned out per district have ids of their own).
    expected = {
        "quyet-toan-2023": None,                                # approved
        "quyet-toan-2024": (1, "ubnd-tinh", "stalled"),         # unblocked 20/4, stalled 27/4
        "tham-dinh-quyet-toan": None,                           # waiting, not yet due
        "huong-dan-tai-chinh-tai-san": (2, "ubnd-tinh", "blocked"),
        "dieu-chuyen-tai-san": (2, "ubnd-tinh", "overdue"),     # waiting; overdue from 16/5
        "sua-doi-quy-dinh-so-y-te": (1, "ubnd-tinh", "overdue"),  # stalled 8/4, overdue 1/6
        # stalled from 19/4 (at the top from 22/4), overdue from 1/6: the reason becomes
        # overdue, still dated from the stall, so it stays at the top
        "chuyen-cong-tac-vien-chuc": (2, "ubnd-tinh", "overdue"),
        "hoi-nghi-cong-bo": (1, "so-y-te", "overdue"),          # waiting; overdue 2 days 9 h
        "thu-hoi-con-dau-cu": (1, "ubnd-tinh", "overdue"),      # stalled 27/5, overdue 31/5
        "dang-ky-mau-dau-moi": (1, "ubnd-tinh", "overdue"),     # waiting; overdue from 2/6
        "quy-che-phoi-hop": (1, "ubnd-tinh", "stalled"),
    }
    assert {t: by_task.get(t) for t in expected} == expected
    assert (once.ok("tasks", "--json", now=end).json
            == son_la.ok("tasks", "--json", now=end).json)


# ----------------------------------------------------------------- resolution

# (case, moves and sweeps before, resolving move, resolved (level, escalated_to, reason),
#  what a sweep right after the move raises: a cause that still holds is raised anew)
RESOLUTIONS = [
    ("unblock resolves a block that had climbed",
     [(at("2024-04-02"), "block", "a", "ttyt"), at("2024-04-05")],
     (at("2024-04-06"), "unblock", "a", "so-y-te"), (2, "so-y-te", "blocked"), []),
    ("start resolves stalled", [at("2024-04-08")],
     (at("2024-04-09"), "start", "a", "so-tai-chinh"), (1, "so-y-te", "stalled"), []),
    ("report resolves overdue; still overdue, now for the approver",
     [(at("2024-04-15"), "start", "a", "so-tai-chinh"), at("2024-04-24")],
     (at("2024-04-24", "10:00:00"), "report", "a", "so-tai-chinh"),
     (2, "ubnd-tinh", "overdue"), [("raised", 1, "ubnd-tinh", "overdue")]),
    ("approve resolves a stalled report",
     [(at("2024-04-02"), "start", "a", "so-tai-chinh"),
      (at("2024-04-03"), "report", "a", "so-tai-chinh"), at("2024-04-10")],
     (at("2024-04-11"), "approve", "a", "so-y-te"), (1, "ubnd-tinh", "stalled"), []),
    ("approve resolves overdue for good",
     [(at("2024-04-15"), "start", "a", "so-tai-chinh"),
      (at("2024-04-19"), "report", "a", "so-tai-chinh"), at("2024-04-22")],
     (at("2024-04-22", "10:00:00"), "approve", "a", "so-y-te"), (1, "ubnd-tinh", "overdue"),
     []),
    ("return resolves a stalled report",
     [(at("2024-04-02"), "start", "a", "so-tai-chinh"),
      (at("2024-04-03"), "report", "a", "so-tai-chinh"), at("2024-04-10")],
     (at("2024-04-11"), "return", "a", "so-y-te"), (1, "ubnd-tinh", "stalled"), []),
    ("return of an overdue report: overdue again, the lead must act",
     [(at("2024-04-15"), "start", "a", "so-tai-chinh"),
      (at("2024-04-19"), "report", "a", "so-tai-chinh"), at("2024-04-22")],
     (at("2024-04-22", "10:00:00"), "return", "a", "so-y-te"), (1, "ubnd-tinh", "overdue"),
     [("raised", 1, "so-y-te", "overdue")]),
    ("the outside approver approves",
     [(at("2024-05-01"), "start", "d", "ttyt"), (at("2024-05-02"), "report", "d", "ttyt"),
      at("2024-05-12")],
     (at("2024-05-12", "10:00:00"), "approve", "d", "so-noi-vu"), (2, "ubnd-tinh", "stalled"),
     []),
]


@pytest.mark.parametrize(("before_moves", "move", "resolved", "then"),
                         [r[1:] for r in RESOLUTIONS], ids=[r[0] for r in RESOLUTIONS])
def test_the_move_that_removes_the_cause_resolves_it(small, before_moves, move, resolved,
                                                      then):
    for step in before_moves:
        if isinstance(step, str):
            sweep(small, step)
        else:
            act(small, *step)
    when, _, task, actor = move
    out = act(small, *move)
    assert out["escalations"] == [{"task": task, "action": "resolved", "level": resolved[0],
                                   "escalated_to": resolved[1], "reason": resolved[2],
                                   "plan": "small"}]
    event = small.ok("history", task, "--json").json[-1]
    assert (event["event"], event["level"], event["escalated_to"], event["reason"],
            event["at"]) == ("escalation_resolved", *resolved, when)
    assert actor in event["note"]
    assert task not in open_escalations(small, when)
    assert shown(small, task, when) == (0, None)
    assert actions(sweep(small, when), task) == then


def test_unblocking_an_overdue_task_raises_overdue_counted_from_the_unblock(small):
    """The cause still holds after the move: the next sweep raises it anew, at level 1."""
    act(small, at("2024-04-19"), "block", "a", "so-tai-chinh")
    out = act(small, at("2024-04-25"), "unblock", "a", "ubnd-tinh")
    assert actions(out["escalations"]) == [("resolved", 1, "so-y-te", "blocked")]
    assert actions(sweep(small, at("2024-04-25")), "a") == [("raised", 1, "so-y-te",
                                                             "overdue")]
    assert actions(sweep(small, at("2024-04-28")), "a") == [("climbed", 2, "ubnd-tinh",
                                                             "overdue")]


def test_a_block_resolves_the_open_escalation_and_raises_its_own_together(small):
    act(small, at("2024-04-15"), "start", "a", "so-tai-chinh")
    sweep(small, at("2024-04-21"))
    out = act(small, at("2024-04-22"), "block", "a", "ttyt")
    assert actions(out["escalations"]) == [("resolved", 1, "so-y-te", "overdue"),
                                           ("raised", 1, "so-tai-chinh", "blocked")]
    assert [e["event"] for e in small.ok("history", "a", "--json").json][-3:] == [
        "block", "escalation_resolved", "escalation_raised"]


# (case, change to SMALL_PLAN, moves and sweeps before the upgrade, when it is upgraded,
#  what the sweep right after the upgrade does for task a, a's open escalation then)
UPGRADES = [
    ("a new lead: the old chain is closed, the new one raised (was a crash: ValueError)",
     ("    lead: so-tai-chinh\n    support: [ttyt]", "    lead: so-noi-vu\n    support: [ttyt]"),
     [(at("2024-04-02"), "block", "a", "ttyt"), at("2024-04-05")], at("2024-04-06"),
     [("resolved", 2, "so-y-te", "blocked"), ("raised", 1, "so-noi-vu", "blocked"),
      ("climbed", 2, "so-y-te", "blocked")], (2, "so-y-te", "blocked")),
    ("a shorter step climbs at once, counted from the block",
     ("step_after: 3d", "step_after: 1d"),
     [(at("2024-04-02"), "block", "a", "ttyt")], at("2024-04-04"),
     [("climbed", 2, "so-y-te", "blocked"), ("climbed", 3, "ubnd-tinh", "blocked")],
     (3, "ubnd-tinh", "blocked")),
    ("a longer step never climbs down (was a silent drop to level 1)",
     ("step_after: 3d", "step_after: 2w"),
     [(at("2024-04-02"), "block", "a", "ttyt"), at("2024-04-05")], at("2024-04-09"), [],
     (2, "so-y-te", "blocked")),
    ("a deadline moved later: overdue no longer holds",
     ("due: 2024-04-20", "due: 2024-04-30"),
     [(at("2024-04-15"), "start", "a", "so-tai-chinh"), at("2024-04-21")], at("2024-04-21"),
     [("resolved", 1, "so-y-te", "overdue")], None),
]


@pytest.mark.parametrize(("change", "before_moves", "when", "then", "after"),
                         [r[1:] for r in UPGRADES], ids=[r[0] for r in UPGRADES])
def test_an_upgrade_takes_effect_by_the_next_sweep(small, tmp_path, change, before_moves,
                                                   when, then, after):
    """The upgrade rechecks open escalations in its own transaction; the sweep then raises
    whatever holds. Together they give ``then``, in the history, in that order."""
    for step in before_moves:
        if isinstance(step, str):
            sweep(small, step)
        else:
            act(small, *step)
    old, new = change
    assert SMALL_PLAN.count(old) == 1
    seen = len(small.ok("history", "--json").json)
    small.ok("load", write_plan(tmp_path, SMALL_PLAN.replace(old, new), "v2.yaml"),
             "--upgrade", now=when)
    sweep(small, when)
    since = [e for e in small.ok("history", "a", "--json").json if e["seq"] > seen]
    assert [(e["event"].removeprefix("escalation_"), e["level"], e["escalated_to"],
             e["reason"]) for e in since if e["event"].startswith("escalation_")] == then
    assert open_escalations(small, when).get("a") == after
    assert sweep(small, when) == []


# ----------------------------------------------------------------- the sweep itself


@pytest.mark.parametrize("when", [at("2024-04-08"), at("2024-05-20"), at("2024-10-05")])
def test_a_second_sweep_at_the_same_moment_changes_nothing(son_la, when):
    act(son_la, at("2024-04-03"), "block", "quyet-toan-2024", "kbnn-tinh")
    assert sweep(son_la, when) != []
    events = son_la.ok("history", "--json").json
    assert son_la.ok("escalate", "--json", now=when).out.strip() == "[]"
    assert son_la.ok("history", "--json").json == events
    son_la.ok("audit", "verify")


def test_waiting_on_a_dependency_does_not_stall_the_clock_starts_at_its_approval(small):
    replay(small, [(at("2024-04-02"), "start", "a", "so-tai-chinh"),
                   (at("2024-04-03"), "report", "a", "so-tai-chinh")])
    assert actions(sweep(small, at("2024-04-09")), "b") == []  # 8 days, but waiting on a
    act(small, at("2024-04-10", "10:00:00"), "approve", "a", "so-y-te")
    assert actions(sweep(small, at("2024-04-17", "09:59:59")), "b") == []
    assert actions(sweep(small, at("2024-04-17", "10:00:00")), "b") == [
        ("raised", 1, "so-y-te", "stalled")]


def test_waiting_for_the_start_date_does_not_stall_the_clock_starts_that_day(small):
    for when in (at("2024-04-30"), at("2024-05-07", "23:59:59")):
        assert actions(sweep(small, when), "d") == []
    assert actions(sweep(small, at("2024-05-08", "00:00:00")), "d") == [
        ("raised", 1, "so-noi-vu", "stalled")]


def test_a_task_waiting_on_dependencies_can_still_be_overdue(son_la):
    """dieu-chuyen-tai-san (so-tai-chinh) waits for kiem-ke-tai-san and quyet-toan-2023."""
    assert actions(sweep(son_la, at("2024-05-15", "23:59:59")), "dieu-chuyen-tai-san") == []
    out = sweep(son_la, at("2024-05-16", "00:00:00"))
    assert actions(out, "dieu-chuyen-tai-san") == [("raised", 1, "so-y-te", "overdue")]
    task = son_la.ok("show", "dieu-chuyen-tai-san", "--json", now=at("2024-05-16")).json
    assert (task["state"], task["overdue"], task["escalated_to"]) == ("assigned", True,
                                                                      "so-y-te")


def test_one_open_escalation_per_task_overdue_before_stalled(small):
    """a stalls on 8/4 and is overdue on 21/4: one escalation, for being overdue, dated from
    the stall (so it stands where daily sweeps would have taken it)."""
    out = sweep(small, at("2024-04-21", "00:00:00"))
    assert actions(out, "a") == [("raised", 1, "so-y-te", "overdue"),
                                 ("climbed", 2, "ubnd-tinh", "overdue")]
    assert open_escalations(small, at("2024-04-21"))["a"] == (2, "ubnd-tinh", "overdue")


def test_a_stalled_escalation_becomes_overdue_without_falling_back(small):
    sweep(small, at("2024-04-08"))
    sweep(small, at("2024-04-11"))
    assert open_escalations(small, at("2024-04-11"))["a"] == (2, "ubnd-tinh", "stalled")
    out = sweep(small, at("2024-04-21", "00:00:00"))
    assert actions(out, "a") == [("resolved", 2, "ubnd-tinh", "stalled"),
                                 ("raised", 1, "so-y-te", "overdue"),
                                 ("climbed", 2, "ubnd-tinh", "overdue")]
    assert open_escalations(small, at("2024-04-21"))["a"] == (2, "ubnd-tinh", "overdue")
    assert sweep(small, at("2024-04-21", "00:00:00")) == []


def test_blocked_comes_before_overdue(small):
    sweep(small, at("2024-04-22"))
    out = act(small, at("2024-04-23"), "block", "a", "ttyt")
    assert actions(out["escalations"]) == [("resolved", 2, "ubnd-tinh", "overdue"),
                                           ("raised", 1, "so-tai-chinh", "blocked")]
    assert actions(sweep(small, at("2024-04-23")), "a") == []
    assert open_escalations(small, at("2024-04-23"))["a"] == (1, "so-tai-chinh", "blocked")


# ----------------------------------------------------------------- real processes


def _env(db, now: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    return {**env, "WORKFLOW_DB": str(db), "WORKFLOW_NOW": now}


def test_two_concurrent_sweeps_raise_each_escalation_once(son_la, db_path):
    when = at("2024-05-20")
    command = [sys.executable, str(ROOT / "cli.py"), "escalate", "--json"]
    procs = [subprocess.Popen(command, env=_env(db_path, when), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = []
    for proc in procs:
        with proc:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            outputs.append(json.loads(out))
    # They ran one after the other (each sweep is one write transaction): one raised every
    # stalled or overdue task, the other found nothing left to do.
    first, second = sorted(outputs, key=len, reverse=True)
    assert second == []
    raised = [a["task"] for a in first if a["action"] == "raised"]
    assert len(raised) == len(set(raised)) >= 9
    assert {"quyet-toan-2023", "dieu-chuyen-tai-san", "quy-che-phoi-hop"} <= set(raised)
    counts: dict[str, int] = {}
    for e in son_la.ok("history", "--json").json:
        if e["event"] == "escalation_raised":
            counts[e["task"]] = counts.get(e["task"], 0) + 1
    assert counts == dict.fromkeys(raised, 1)
    assert sorted(open_escalations(son_la, when)) == sorted(raised)
    son_la.ok("audit", "verify")


def test_watch_sweeps_on_schedule_and_stops_on_sigterm(son_la, db_path):
    when = at("2024-04-09")
    lines: queue.Queue[str | None] = queue.Queue()

    def read(stream) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)  # end of stream: the process is gone

    with subprocess.Popen([sys.executable, "cli.py", "watch", "--every", "1h"], cwd=ROOT,
                          env=_env(db_path, when), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        reader = threading.Thread(target=read, args=(proc.stderr,), daemon=True)
        reader.start()
        seen: list[dict] = []
        deadline = time.monotonic() + 30
        try:
            while not any(r.get("event") == "sweep_ran" for r in seen):
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    line = None
                if line is None:
                    pytest.fail(f"no sweep_ran log line within 30 s; stderr so far: {seen}")
                seen.append(json.loads(line) if line.startswith("{") else {"text": line})
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGTERM)  # a second signal while stopping changes nothing
            code = proc.wait(timeout=30)
        reader.join(timeout=10)
    ran = next(r for r in seen if r["event"] == "sweep_ran")
    assert code == 0
    rest = []
    while not lines.empty():
        rest.append(lines.get() or "")
    assert '"watch_stopped"' in "".join(rest)
    assert not any("Error" in x for x in rest)
    # Every task free to move since loading stalled on 8/4 08:00; the sweep raised them all.
    escalated = open_escalations(son_la, when)
    assert (ran["raised"], ran["climbed"], ran["resolved"]) == (len(escalated), 0, 0)
    assert escalated["sua-doi-quy-dinh-so-y-te"] == (1, "ubnd-tinh", "stalled")
    assert escalated["chuyen-cong-tac-vien-chuc"] == (1, "so-y-te", "stalled")
    assert "dieu-chuyen-tai-san" not in escalated  # waiting on its dependencies


# ----------------------------------------------------------------- summary


def test_summary_counts_total_and_per_lead_agency(small):
    replay(small, [
        (at("2024-04-02"), "start", "a", "so-tai-chinh"),
        (at("2024-04-20", "23:59:59"), "report", "a", "so-tai-chinh"),  # last second: on time
        (at("2024-04-25"), "approve", "a", "so-y-te"),                   # approved late: fine
        (at("2024-04-26"), "start", "b", "so-tai-chinh"),
        (at("2024-05-16", "00:00:00"), "report", "b", "so-tai-chinh"),   # first late moment
        (at("2024-05-17"), "approve", "b", "so-y-te"),
        (at("2024-06-01"), "block", "c", "so-noi-vu"),
    ])
    when = at("2024-10-02")
    zero = dict.fromkeys(("tasks", "approved", "on_time", "done_late", "overdue",
                          "not_yet_due", "awaiting_approval", "blocked", "escalated"), 0)

    def expected(d_escalated: int) -> dict:
        agencies = [
            {"agency": "so-tai-chinh", **zero, "tasks": 2, "approved": 2, "on_time": 1,
             "done_late": 1},
            {"agency": "so-y-te", **zero, "tasks": 1, "overdue": 1, "blocked": 1,
             "escalated": 1},
            {"agency": "ttyt", **zero, "tasks": 1, "not_yet_due": 1,
             "escalated": d_escalated},
        ]
        total = {k: sum(a[k] for a in agencies) for k in zero}
        return {"agencies": agencies, "total": total}

    data = small.ok("summary", "--json", now=when).json
    assert {k: data[k] for k in ("agencies", "total")} == expected(0)
    assert data["total"] == {**zero, "tasks": 4, "approved": 2, "on_time": 1, "done_late": 1,
                             "overdue": 1, "not_yet_due": 1, "blocked": 1, "escalated": 1}
    sweep(small, when)  # d has been stalled since 8/5: now escalated too
    data = small.ok("summary", "--json", now=when).json
    assert {k: data[k] for k in ("agencies", "total")} == expected(1)
    assert data["plan"] == "small" and data["at"] == when
