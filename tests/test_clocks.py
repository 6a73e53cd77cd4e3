"""A task's own clocks and working days, through the CLI (SQLite and PostgreSQL): per-task
``stall_after``, ``5wd`` over Tết 2025 and 2026, ``never``, no stalling without a due date,
``step_after`` in working days, a plan's calendar swaps, and the pause ``show`` and the sweep
report. Expected days come from the ``holidays`` library, not from tables of our own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import Runner, write_plan
from tests.test_audit import (
    PROPERTY,
    STEP,
    check_rebuilt_equals_live,
    live_view,
    sim_store,  # noqa: F401  (the fixture the simulation runs on)
    simulate,
)
from workflow.plan.datevalues import Duration
from workflow.rules.calendar import VIETNAM
from workflow.rules.clocks import Span
from workflow.store.models import TASK

HANOI = "+07:00"

PLAN = """\
id: clocks
title: "Kế hoạch thử đồng hồ"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 7d, step_after: 2wd}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-noi-vu: {name: "Sở Nội vụ"}
  ttyt: {name: "Trung tâm Y tế"}
tasks:
  plain: {title: "Theo kế hoạch", lead: so-tai-chinh, due: 2026-12-31}
  own: {title: "Đồng hồ riêng", lead: so-tai-chinh, due: 2026-12-31, stall_after: 3d}
  wd:
    title: "Năm ngày làm việc"
    lead: ttyt
    approver: so-noi-vu           # chain ttyt, so-noi-vu, so-y-te, ubnd-tinh: three levels
    due: 2026-12-31
    stall_after: 5wd
  never: {title: "Không bao giờ chậm", lead: so-tai-chinh, due: 2026-12-31, stall_after: never}
  ongoing: {title: "Nhiệm vụ thường xuyên", lead: so-tai-chinh, due: "Thường xuyên"}
  undated: {title: "Không có hạn", lead: so-tai-chinh}
  ongoing-own:
    title: "Thường xuyên, có đồng hồ"
    lead: so-tai-chinh
    due: "Thường xuyên"
    stall_after: 10d
"""


def at(day: date | str, hms: str = "10:00:00") -> str:
    return f"{day}T{hms}{HANOI}"


def before(moment: str) -> str:
    return (datetime.fromisoformat(moment) - timedelta(seconds=1)).isoformat()


def nth_working_day(day: date, n: int) -> date:
    """The n-th day after ``day`` that is Monday to Friday and no public holiday, as the
    ``holidays`` library lists Vietnam's."""
    off = holidays.country_holidays("VN", years=range(day.year, day.year + 2))
    while n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            n -= 1
    return day


def tet(year: int) -> list[date]:
    """The days the ``holidays`` library names for Tết Nguyên Đán in ``year``."""
    off = holidays.country_holidays("VN", years=year, language="vi")
    return sorted(d for d, name in off.items() if "Tết" in name and "Dương" not in name)


def load(run: Runner, tmp_path, when: str, text: str = PLAN) -> Runner:
    run.ok("load", write_plan(tmp_path, text), now=when)
    return run


def sweep(run: Runner, when: str, task: str | None = None) -> list[dict]:
    out = run.ok("escalate", "--json", now=when).json
    return [a for a in out if task is None or a["task"] == task]


def raised(run: Runner, when: str) -> set[str]:
    return {a["task"] for a in sweep(run, when) if a["action"] == "raised"}


def open_escalations(run: Runner, when: str) -> dict[str, dict]:
    return {e["task"]: e for e in run.ok("escalations", "--json", now=when).json}


# --------------------------------------------------------------------------- stalling


def test_a_tasks_own_stall_after_overrides_the_plans(run, tmp_path):
    load(run, tmp_path, at("2026-03-02"))  # a Monday, no holiday near
    assert "own" not in raised(run, before(at("2026-03-05")))
    assert raised(run, at("2026-03-05")) == {"own"}  # its own 3d
    assert "plain" not in raised(run, before(at("2026-03-09")))
    assert "plain" in raised(run, at("2026-03-09"))  # the plan's 7d


@pytest.mark.parametrize("loaded", [date(2025, 1, 24), date(2026, 2, 12)],
                         ids=["tet-2025", "tet-2026"])
def test_five_working_days_skip_tet(run, tmp_path, loaded):
    due = nth_working_day(loaded, 5)
    days = tet(due.year)
    assert days and all(loaded < d < due for d in days)  # the clock runs across Tết
    load(run, tmp_path, at(loaded))
    shown = run.ok("show", "wd", now=at(loaded, "11:00:00")).out
    assert f"stalls {due} 10:00" in shown
    assert "paused for Tết Nguyên Đán" in " ".join(shown.split())
    assert run.ok("show", "wd", "--json", now=at(loaded, "11:00:00")).json["stall"]["at"] \
        == at(due)
    assert "wd" not in raised(run, before(at(due)))
    out = sweep(run, at(due), "wd")
    assert [(a["action"], a["reason"], a["clock"]) for a in out] == [
        ("raised", "stalled", "stall")]
    assert "Tết Nguyên Đán" in out[0]["paused"]


def test_never_and_no_due_date_do_not_stall(run, tmp_path):
    load(run, tmp_path, at("2026-03-02"))
    found = raised(run, at("2026-12-30"))  # ten months without a move, before any due day
    assert found == {"plain", "own", "wd", "ongoing-own"}
    assert not {"never", "ongoing", "undated"} & set(open_escalations(run, at("2026-12-30")))
    assert "never stalls" in run.ok("show", "never", now=at("2026-03-03")).out
    for task in ("ongoing", "undated"):
        t = run.ok("show", task, "--json", now=at("2026-03-03")).json
        assert (t["stall"]["at"], t["stall"]["off"]) == (None, "no due date")
        assert "does not stall: no due date" in run.ok("show", task, now=at("2026-03-03")).out


def test_a_never_task_is_still_escalated_when_overdue(run, tmp_path):
    load(run, tmp_path, at("2026-03-02"))
    assert [(a["action"], a["reason"]) for a in sweep(run, at("2027-01-01"), "never")] == [
        ("raised", "overdue")]


# --------------------------------------------------------------------------- climbing


def test_escalations_climb_in_working_days_over_tet(run, tmp_path):
    loaded = date(2026, 2, 5)
    stalls = nth_working_day(loaded, 5)
    second, third = nth_working_day(stalls, 2), nth_working_day(stalls, 4)
    assert stalls < tet(2026)[0] and second > tet(2026)[-1]  # the first climb waits for Tết
    load(run, tmp_path, at(loaded))
    assert [a["level"] for a in sweep(run, at(stalls), "wd")] == [1]
    assert sweep(run, before(at(second)), "wd") == []
    out = sweep(run, at(second), "wd")
    assert [(a["action"], a["level"], a["escalated_to"]) for a in out] == [
        ("climbed", 2, "so-y-te")]
    assert out[0]["clock"] == "step" and "Tết Nguyên Đán" in out[0]["paused"]
    assert sweep(run, before(at(third)), "wd") == []
    assert [a["level"] for a in sweep(run, at(third), "wd")] == [3]


def test_a_late_sweep_lands_where_working_day_sweeps_would(run, tmp_path):
    loaded = date(2026, 2, 5)
    third = nth_working_day(nth_working_day(loaded, 5), 4)
    load(run, tmp_path, at(loaded))
    out = sweep(run, at(third), "wd")  # the first sweep after weeks of downtime
    assert [(a["action"], a["level"]) for a in out] == [("raised", 1), ("climbed", 2),
                                                        ("climbed", 3)]


def test_a_stalled_task_that_becomes_overdue_keeps_its_level_and_since(run, tmp_path):
    """Levels count from when the task began to need attention (SPEC.md): the stall, not the
    due day. Stalled on day S (5wd), level 2 two working days later; overdue after its due
    day: the overdue escalation is dated from S and stands where S's clock took it."""
    loaded = date(2026, 2, 5)
    stalls = nth_working_day(loaded, 5)
    second, third = nth_working_day(stalls, 2), nth_working_day(stalls, 4)
    due = third - timedelta(days=1)
    load(run, tmp_path, at(loaded), PLAN.replace("due: 2026-12-31\n    stall_after: 5wd",
                                                 f"due: {due}\n    stall_after: 5wd"))
    sweep(run, at(stalls))
    sweep(run, at(second))
    assert (open_escalations(run, at(second))["wd"]["level"],
            open_escalations(run, at(second))["wd"]["reason"]) == (2, "stalled")
    out = sweep(run, at(third, "00:00:00"), "wd")  # the first moment after the due day
    assert [(a["action"], a["level"], a["reason"]) for a in out] == [
        ("resolved", 2, "stalled"), ("raised", 1, "overdue"), ("climbed", 2, "overdue")]
    esc = open_escalations(run, at(third, "00:00:00"))["wd"]
    assert (esc["level"], esc["reason"], esc["since"]) == (2, "overdue", at(stalls))
    assert [a["level"] for a in sweep(run, at(third), "wd")] == [3]  # not restarted


# --------------------------------------------------------------------------- the plan's own


def test_the_plans_working_day_clock_and_calendar_swaps(run, tmp_path):
    text = PLAN.replace("escalation: {stall_after: 7d, step_after: 2wd}",
                        "escalation: {stall_after: 5wd, step_after: 2wd}\n"
                        "calendar: {days_off: [4/3/2026]}")
    load(run, tmp_path, at("2026-03-02"), text)
    # From Monday 2/3 the law's fifth working day is 9 March; the plan's day off on 4 March
    # makes it 10 March.
    assert nth_working_day(date(2026, 3, 2), 5) == date(2026, 3, 9)
    shown = run.ok("show", "plain", now=at("2026-03-02", "11:00:00")).out
    assert "stalls 2026-03-10 10:00" in shown and "calendar.days_off" in " ".join(shown.split())
    assert "plain" not in raised(run, before(at("2026-03-10")))
    assert "plain" in raised(run, at("2026-03-10"))


def test_an_upgrade_moves_a_tasks_stall_clock_and_as_of_remembers(run, tmp_path):
    load(run, tmp_path, at("2026-03-02"))
    run.ok("load", write_plan(tmp_path, PLAN.replace("stall_after: 3d", "stall_after: 10d")),
           "--upgrade", now=at("2026-03-03"))
    assert run.ok("show", "own", "--json", now=at("2026-03-03", "11:00:00")).json[
        "stall"]["at"] == at("2026-03-12")
    before_upgrade = run.ok("show", "own", "--json", "--at", at("2026-03-02", "12:00:00"),
                            now=at("2026-03-03", "11:00:00")).json
    assert before_upgrade["stall"]["at"] == at("2026-03-05")
    run.ok("load", write_plan(tmp_path, PLAN.replace("stall_after: 3d", "stall_after: never")),
           "--upgrade", now=at("2026-03-04"))
    t = run.ok("show", "own", "--json", now=at("2026-03-04", "11:00:00")).json
    assert (t["stall"]["at"], t["stall"]["off"]) == (None, "never")
    assert "own" not in raised(run, at("2026-06-01"))


RECURRING = PLAN + """\
  weekly:
    title: "Báo cáo tuần"
    lead: so-tai-chinh
    repeat: {weekly: thứ 6, from: 2026-03-06, until: 2026-04-30}
    stall_after: 2d
"""


def test_occurrences_run_on_their_recurring_tasks_clock_through_an_upgrade(run, tmp_path):
    load(run, tmp_path, at("2026-03-02"), RECURRING)
    sweep(run, at("2026-03-02", "10:05:00"))  # creates the occurrences due within a week
    first = run.ok("show", "weekly/2026-03-06", "--json", now=at("2026-03-02", "11:00:00")).json
    made = datetime.fromisoformat(first["last_move_at"])
    assert first["stall"]["after"] == "2d"
    assert first["stall"]["at"] == (made + timedelta(days=2)).isoformat()
    run.ok("load", write_plan(tmp_path, RECURRING.replace("stall_after: 2d", "stall_after: 3wd")),
           "--upgrade", now=at("2026-03-03"))
    again = run.ok("show", "weekly/2026-03-06", "--json", now=at("2026-03-03", "11:00:00")).json
    assert again["stall"]["after"] == "3wd"
    assert again["stall"]["at"] == at(nth_working_day(made.date(), 3), f"{made.time()}")


# --------------------------------------------------------------------------- the arithmetic


MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC))


@settings(max_examples=200, deadline=None, database=None)
@given(since=MOMENTS, days=st.integers(1, 40), times=st.integers(0, 6))
def test_a_working_day_span_counts_what_it_adds(since, days, times):
    span = Span(Duration(days, "wd"), VIETNAM, "Asia/Ho_Chi_Minh")
    end = span.after(since, times)
    assert span.count(since, end) == times
    if times:
        assert span.count(since, end - timedelta(microseconds=1)) == times - 1
        back = span.after(end, -times)  # since itself, or the working day before it
        assert back <= since
        assert back == since or not VIETNAM.is_working_day((since + timedelta(hours=7)).date())


# --------------------------------------------------------------------------- as of a moment
# The plan rebuilt from its history computes the same stall clocks as the live tables, with
# per-task clocks, working days over Tết 2025 and the plan's swaps, never, tasks without a due
# date, recurring occurrences, and upgrades that change all of these.

CLOCK_PLAN = """\
id: small
title: "Đồng hồ qua Tết"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 3wd, step_after: 1wd}
calendar: {days_off: [3/2/2025], working_days: [8/2/2025]}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-noi-vu: {name: "Sở Nội vụ"}
  ttyt: {name: "Trung tâm Y tế"}
tasks:
  a: {title: "Riêng", lead: so-tai-chinh, support: [ttyt], due: 2025-02-14, stall_after: 2d}
  b: {title: "Sau a", lead: so-tai-chinh, depends_on: [a], due: 2025-03-01}
  c: {title: "Thường xuyên", lead: so-y-te, support: [so-noi-vu], due: "Thường xuyên"}
  d: {title: "Không hạn", lead: ttyt, approver: so-noi-vu, stall_after: 4wd}
  e: {title: "Không chậm", lead: so-noi-vu, due: 2025-02-20, stall_after: never,
      step_after: 2d}
  w:
    title: "Báo cáo tuần"
    lead: so-tai-chinh
    repeat: {weekly: thứ 6, from: 2025-01-24, until: 2025-03-14}
    stall_after: 2wd
"""
CLOCK_V2 = (CLOCK_PLAN.replace("{stall_after: 3wd, step_after: 1wd}",
                               "{stall_after: 5d, step_after: 2wd}")
            .replace("calendar: {days_off: [3/2/2025], working_days: [8/2/2025]}\n", "")
            .replace("due: 2025-02-14, stall_after: 2d", "due: 2025-02-14, stall_after: 3wd")
            .replace("stall_after: 4wd", "stall_after: never")
            .replace("    stall_after: 2wd\n", "    stall_after: 1d\n"))


def clock_view(conn, p, now) -> dict:
    """The live view, and every task's stall clock and overdue moment."""
    rows = conn.execute(select(TASK.c.task_id, TASK.c.stall_at, TASK.c.overdue_at, TASK.c.clock)
                        .where(TASK.c.plan_id == p.id)).all()
    return {**live_view(conn, p, now), "clocks": {r[0]: tuple(r[1:]) for r in rows}}


def test_the_clock_plans_differ_where_the_property_needs_them():
    assert CLOCK_V2.count("stall_after: never") == 2 and "calendar:" not in CLOCK_V2
    assert "stall_after: 3wd, step_after: 1wd" not in CLOCK_V2 and "stall_after: 1d" in CLOCK_V2


@PROPERTY
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_property_rebuilt_equals_live_with_own_and_working_day_clocks(sim_store, steps):  # noqa: F811
    pid, samples = simulate(sim_store, [CLOCK_PLAN, CLOCK_V2], steps,
                            start="2025-01-20T08:00:00+07:00", view=clock_view)
    check_rebuilt_equals_live(sim_store, pid, samples, view=clock_view)
