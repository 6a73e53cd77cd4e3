"""Definitions: deadlines through the grammar, relative deadlines, clocks, calendar, period."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import DEFINITIONS, write_plan
from workflow.errors import DefinitionError
from workflow.plan.dates import Duration, parse_deadline
from workflow.plan.definitions import parse
from workflow.plan.taskdue import read_phrase
from workflow.plan.yamlnodes import Scalar
from workflow.rules.calendar import CalendarError, WorkingCalendar, relative_due
from workflow.rules.recurrence import occurrences

HEAD = """\
id: p
title: "Kế hoạch"
issuer: ubnd
coordinator: syt
agencies:
  ubnd: {name: "UBND tỉnh"}
  syt: {name: "Sở Y tế"}
tasks:
  a: {title: t, lead: syt}
"""


def plan(tasks: str, head: str = HEAD):
    return parse(head + tasks, "plan.yaml")


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse(text, "plan.yaml")
    return [(p.line, p.key, p.message) for p in info.value.problems]


# (case, tasks appended to HEAD, task id, start, due, no-date reason, recurrence every)
GOOD = [
    ("range sets the window", '  b: {title: t, lead: syt, due: "Từ tháng 8/2024 đến hết '
     '31/12/2025"}\n', "b", date(2024, 8, 1), date(2025, 12, 31), None, None),
    ("explicit start agrees", '  b: {title: t, lead: syt, start: 1/8/2024, due: "Tháng 8 - '
     '12/2024"}\n', "b", date(2024, 8, 1), date(2024, 12, 31), None, None),
    ("start only", '  b: {title: t, lead: syt, due: "Từ 01/7/2025"}\n', "b",
     date(2025, 7, 1), None, None, None),
    ("no date", '  b: {title: t, lead: syt, due: "Theo lộ trình cải cách tiền lương"}\n', "b",
     None, None, "x", None),
    ("quarter list", '  b: {title: t, lead: syt, due: "Quý III và IV/2024"}\n', "b",
     None, date(2024, 12, 31), None, None),
    ("monthly", '  b: {title: t, lead: syt, start: 1/3/2025, due: "trước ngày 20 hằng '
     'tháng"}\n', "b", date(2025, 3, 1), None, None, "monthly"),
    ("quarterly in a window", '  b: {title: t, lead: syt, due: "định kỳ hằng quý trong năm '
     '2025"}\n', "b", None, None, None, "quarterly"),
]


@pytest.mark.parametrize(("case", "tasks", "tid", "start", "due", "reason", "every"), GOOD,
                         ids=[g[0] for g in GOOD])
def test_due_phrases_read_into_the_task(case, tasks, tid, start, due, reason, every):
    t = plan(tasks).tasks[tid]
    assert (t.start, t.due) == (start, due)
    assert bool(t.no_date_reason) == bool(reason)
    assert (t.repeat.every if t.repeat else None) == every
    if reason:
        assert t.due_text == "Theo lộ trình cải cách tiền lương"


# (case, text, line, key, words)
BROKEN = [
    ("unreadable phrase lists forms and no-date phrases",
     HEAD + "  b: {title: t, lead: syt, due: sớm nhất có thể}\n", 10, "tasks.b.due",
     "or leave due out for a task with no date (\"Thường xuyên\""),
    ("start conflicts with the window",
     HEAD + '  b:\n    title: t\n    lead: syt\n    start: 2/8/2024\n'
     '    due: "Tháng 8 - 12/2024"\n', 13, "tasks.b.start", "differs from the start"),
    ("recurring without a first day",
     HEAD + '  b: {title: t, lead: syt, due: "Hằng năm"}\n', 10, "tasks.b.due",
     "recurs but names no first day"),
    ("recurrence twice", HEAD + '  b:\n    title: t\n    lead: syt\n    due: "Hằng năm"\n'
     '    repeat: {yearly: [1/1], from: 2024-01-01}\n', 13, "tasks.b.due", "given twice"),
    ("within without after", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    due: {within: 15wd}\n", 13, "tasks.b.due.within", "within needs after"),
    ("after without within", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    due: {after: a}\n", 13, "tasks.b.due.within", "is required"),
    ("after an unknown task", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    due: {after: zz, within: 30d}\n", 13, "tasks.b.due.after", 'unknown task "zz"'),
    ("within in hours", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    due: {after: a, within: 36h}\n", 13, "tasks.b.due.within", "a deadline is a day"),
    ("after a recurring task", HEAD.replace("tasks:\n", "period: 2025\ntasks:\n")
     + '  r: {title: t, lead: syt, due: "Hằng năm"}\n'
     "  b:\n    title: t\n    lead: syt\n    due: {after: r, within: 30d}\n", 15,
     "tasks.b.due.after", '"r" recurs'),
    ("cycle through after", HEAD + "  b:\n    title: t\n    lead: syt\n    depends_on: [c]\n"
     "  c:\n    title: t\n    lead: syt\n    due: {after: b, within: 5wd}\n", 10,
     "tasks.b.depends_on", "cycle: b → c → b (b depends on c; c is due after b is approved)"),
    ("after itself", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    due: {after: b, within: 5wd}\n", 13, "tasks.b.due.after", "its own approval"),
    ("due is a list", HEAD + "  b:\n    title: t\n    lead: syt\n    due: [1, 2]\n", 13,
     "tasks.b.due", "expected a deadline phrase or {after: TASK, within: 15wd}"),
    ("bad stall_after", HEAD + "  b:\n    title: t\n    lead: syt\n    stall_after: soon\n", 13,
     "tasks.b.stall_after", 'or "never" for no stalling'),
    ("never is for stalling only", HEAD + "  b:\n    title: t\n    lead: syt\n"
     "    step_after: never\n", 13, "tasks.b.step_after", "cannot read"),
    ("calendar day off not a day", HEAD.replace("agencies:", "calendar:\n  days_off: [2/13/2025]"
     "\nagencies:"), 6, "calendar.days_off", "2/13/2025"),
    ("calendar day off already off", HEAD.replace("agencies:", "calendar:\n  days_off:\n"
     "    - 2/5/2025\n    - 1/5/2025\nagencies:"), 8, "calendar.days_off", "already a day off"),
    ("calendar working day already working", HEAD.replace(
        "agencies:", "calendar: {working_days: [28/4/2025]}\nagencies:"), 5,
     "calendar.working_days", "already a working day"),
    ("calendar unknown key", HEAD.replace("agencies:", "calendar: {holidays: [2/5/2025]}\n"
     "agencies:"), 5, "calendar.holidays", "unknown key; allowed keys are days_off, "
     "working_days"),
    ("period recurs", HEAD.replace("agencies:", 'period: "Hằng năm"\nagencies:'), 5, "period",
     "names no span"),
    ("plan remind_before unreadable", HEAD.replace(
        "agencies:", "escalation: {remind_before: a while}\nagencies:"), 5,
     "escalation.remind_before", "cannot read"),
]


@pytest.mark.parametrize(("case", "text", "line", "key", "words"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_time_keys_name_line_key_and_fix(case, text, line, key, words):
    found = problems(text)
    assert any(ln == line and k == key and words in msg for ln, k, msg in found), found


def test_recurring_phrase_builds_the_repeat_of_the_period():
    head = HEAD.replace("tasks:\n", 'period: "2026 - 2030"\ntasks:\n')
    t = plan('  b: {title: t, lead: syt, due: "trước ngày 01/6 và 15/11 hằng năm"}\n',
             head).tasks["b"]
    assert (t.repeat.every, t.repeat.first, t.repeat.until) == (
        "yearly", date(2026, 1, 1), date(2030, 12, 31))
    assert list(occurrences(t.repeat))[:3] == [date(2026, 5, 31), date(2026, 11, 14),
                                               date(2027, 5, 31)]


def test_month_end_recurrences_fall_on_the_last_day_every_year():
    head = HEAD.replace("tasks:\n", 'period: "2025 - 2028"\ntasks:\n')
    t = plan('  q: {title: t, lead: syt, due: "định kỳ hằng quý"}\n'
             '  f: {title: t, lead: syt, due: "trước ngày 01/3 hằng năm"}\n', head).tasks
    assert list(occurrences(t["q"].repeat))[:4] == [date(2025, 3, 31), date(2025, 6, 30),
                                                    date(2025, 9, 30), date(2025, 12, 31)]
    assert list(occurrences(t["f"].repeat)) == [date(2025, 2, 28), date(2026, 2, 28),
                                                date(2027, 2, 28), date(2028, 2, 29)]


def test_relative_deadline_and_clocks_are_kept():
    p = plan("  b:\n    title: t\n    lead: syt\n    due: {after: a, within: 15 ngày làm việc}\n"
             "    stall_after: never\n    step_after: 2wd\n    remind_before: 3d\n")
    t = p.tasks["b"]
    assert (t.due, t.due_after, t.due_within) == (None, "a", Duration(15, "wd"))
    assert (str(t.stall_after), str(t.step_after), str(t.remind_before)) == ("never", "2wd",
                                                                              "3d")


def test_plan_escalation_calendar_and_period():
    p = plan("", HEAD.replace("agencies:", "escalation: {stall_after: 5wd, step_after: 2d, "
                              "remind_before: 2wd}\ncalendar: {days_off: [3/3/2025], "
                              "working_days: [8/3/2025]}\nperiod: 2025\nagencies:"))
    assert (str(p.stall_rule), p.step_after, str(p.remind_before)) == ("5wd", timedelta(days=2),
                                                                       "2wd")
    assert (p.days_off, p.working_days) == ((date(2025, 3, 3),), (date(2025, 3, 8),))
    assert (p.period.start, p.period.due) == (date(2025, 1, 1), date(2025, 12, 31))


def test_new_keys_change_the_digest_only_when_used():
    base = plan("")
    assert set(base.canonical()) == {"id", "title", "document", "issuer", "coordinator",
                                     "timezone", "stall_after", "step_after", "agencies",
                                     "units", "tasks"}
    assert set(base.canonical()["tasks"]["a"]) == {"title", "ref", "note", "lead", "support",
                                                  "approver", "depends_on", "due", "start",
                                                  "for_each", "lead_each", "repeat"}
    clocked = plan("", HEAD.replace("  a: {title: t, lead: syt}",
                                    "  a: {title: t, lead: syt, stall_after: 10wd}"))
    assert clocked.digest != base.digest


def test_relative_due_counts_working_days_over_tet():
    # approved Friday 13/2/2026, the last working day before Tết 2026 (16-20/2 off)
    assert relative_due(date(2026, 2, 13), Duration(5, "wd")) == date(2026, 2, 27)
    assert relative_due(date(2026, 2, 13), Duration(30, "d")) == date(2026, 3, 15)
    with pytest.raises(ValueError):
        relative_due(date(2026, 2, 13), Duration(36, "h"))


@settings(deadline=None)  # CI runs two workers on two cores: wall time is not the point
@given(st.dates(date(1900, 1, 1), date(2199, 12, 31)))
def test_iso_shortcut_reads_as_the_grammar_does(day):
    text = day.isoformat()
    assert read_phrase(Scalar(text, 1, True)) == parse_deadline(text)


def test_every_shipped_plan_explains_every_task(run):
    files = sorted(DEFINITIONS.glob("*.yaml"))
    out = run.ok("validate", "--explain", "--json", *files).json
    for result in out:
        assert {t["task"] for t in result["explain"]["tasks"]} == set(
            parse((DEFINITIONS / result["file"].split("/")[-1]).read_text(), "x").tasks)
        assert all(t["reading"] for t in result["explain"]["tasks"])


def test_validate_explain_text(run, tmp_path):
    path = write_plan(tmp_path, HEAD.replace("tasks:\n", "period: 2025\ntasks:\n") + """\
  b: {title: t, lead: syt, due: "Thường xuyên"}
  c: {title: t, lead: syt, due: "Quý IV/2025 - Quý II/2026"}
  d:
    title: t
    lead: syt
    due: {after: c, within: 15wd}
    stall_after: never
  e: {title: t, lead: syt, due: "trước ngày 20 hằng tháng"}
""")
    out = run.ok("validate", "--explain", path).out.splitlines()
    assert out[1:] == [
        "plan p: stall after 7d, step after 3d",
        "  period: window 2025-01-01 → 2025-12-31 (end of năm 2025)",
        "a",
        "    no due date (none given)",
        'b  "Thường xuyên"',
        "    no date: ongoing duty (Thường xuyên)",
        'c  "Quý IV/2025 - Quý II/2026"',
        "    window 2025-10-01 → 2026-06-30 (Quý IV/2025 to Quý II/2026)",
        "d",
        "    15 working days after c is approved",
        "    stall after never",
        'e  "trước ngày 20 hằng tháng"',
        "    recurring monthly: due day 19 of each month, from 2025-01-01 until 2025-12-31",
    ]
    data = run.ok("validate", "--explain", "--json", path).json[0]["explain"]["tasks"]
    assert data[3] | {"clocks": None} == {
        "task": "d", "phrase": None, "kind": "relative", "reading":
        "15 working days after c is approved", "start": None, "due": None, "after": "c",
        "within": "15wd", "clocks": None}
    assert json.dumps(data)  # plain data


def test_unreadable_phrase_through_the_cli_is_one_error_line_with_file_and_line(run, tmp_path):
    path = write_plan(tmp_path, HEAD + "  b: {title: t, lead: syt, due: sớm}\n")
    r = run("validate", "--explain", path)
    assert r.code == 3
    first = r.err.splitlines()[0]
    assert first.startswith(f'Error: {path}:10: tasks.b.due: cannot read "sớm" as a date')
    assert "Thường xuyên" in first


def test_working_days_back_to_the_calendars_first_years():
    # found by Hypothesis: 254 working days before 1/1/1998 stay inside the calendar (1995-)
    cal = WorkingCalendar()
    assert cal.add(date(1998, 1, 1), -254) == date(1996, 12, 31)
    with pytest.raises(CalendarError):
        WorkingCalendar().add(date(1996, 1, 1), -600)
