"""Hostile or careless input (issue 10): history that would run backwards, control and
invisible characters in notes, ids and titles, shared agency names, ``lead: each``."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import update

from tests.conftest import SMALL_PLAN, write_plan
from tests.test_fanout import PLAN as FAN_PLAN
from workflow.store.audit import Appender
from workflow.store.db import Store
from workflow.store.models import PlanRow, TaskRow

T0 = "2024-04-01T08:00:00+07:00"  # when the `small` fixture loads its plan
ESC_NOTE = "\x1b[2K\x1b[1A\x1b[32mok: verified\x1b[0m"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def append(db_path, *events: dict) -> None:
    """Writes events into the chain as an older workflow (or a bug) could have: the real
    Appender, without the checks a move makes."""
    store = Store(str(db_path))
    with store.write() as conn:
        log = Appender(conn, "small", "tester")
        for e in events:
            log.add(**e)
        log.flush()
    store.dispose()


def edit(db_path, table, where, **values) -> None:
    store = Store(str(db_path))
    with store.write() as conn:
        conn.execute(update(table).where(where).values(**values))
    store.dispose()


# --------------------------------------------------------------------------- time order


def test_a_move_dated_before_the_tasks_last_event_is_refused(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-05T09:00:00+07:00")
    r = small("report", "a", "--as", "so-tai-chinh", "--note", "xong",
              now="2024-04-03T09:00:00+07:00")
    assert r.code == 4
    assert r.error == ("Error: report a at 2024-04-03T09:00:00+07:00 is dated before task a's "
                       "last event (2024-04-05T09:00:00+07:00); history never runs backwards: "
                       "use a time after it (check the clock, or WORKFLOW_NOW)")
    assert len(small.ok("history", "a", "--json").json) == 1  # nothing was written
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "xong",
             now="2024-04-05T09:00:00+07:00")  # the same moment is not before it


def test_a_move_dated_before_the_plans_load_is_refused(small):
    r = small("start", "a", "--as", "so-tai-chinh", now="2024-03-01T09:00:00+07:00")
    assert r.code == 4 and "(2024-04-01T08:00:00+07:00)" in r.error, r.err
    assert small.ok("show", "a", "--json").json["state"] == "assigned"


def test_escalation_events_count_as_the_tasks_history(small):
    small.ok("block", "c", "--as", "so-noi-vu", "--note", "Thiếu hồ sơ")  # 2 April: raised
    small.ok("escalate", now="2024-04-06T09:00:00+07:00")  # climbs on 6 April
    r = small("unblock", "c", "--as", "so-y-te", "--note", "Đã bổ sung",
              now="2024-04-04T09:00:00+07:00")
    assert r.code == 4 and "(2024-04-06T09:00:00+07:00)" in r.error, r.err


def test_a_membership_change_dated_before_the_last_one_is_refused(small):
    small.ok("members", "add", "nguyen", "so-y-te", now="2024-04-10T09:00:00+07:00")
    r = small("members", "add", "tran", "so-y-te", now="2024-04-09T09:00:00+07:00")
    assert r.code == 4 and "plan small's last change (2024-04-10T09:00:00+07:00)" in r.error
    assert [m["person"] for m in small.ok("members", "list", "--json").json] == ["nguyen"]


def test_a_sweep_behind_a_tasks_history_leaves_that_task_alone(small):
    # a is due 20 April: overdue from 21 April. It is started on 25 April; a sweep whose
    # clock says 22 April must not record an escalation before that start.
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-25T09:00:00+07:00")
    actions = small.ok("escalate", "--json", now="2024-04-22T09:00:00+07:00").json
    assert [x for x in actions if x["task"] == "a"] == []
    assert small.ok("audit", "verify").code == 0
    later = small.ok("escalate", "--json", now="2024-04-26T09:00:00+07:00").json
    assert [(x["task"], x["action"], x["reason"]) for x in later if x["task"] == "a"] == [
        ("a", "raised", "overdue")]
    assert small.ok("audit", "verify").code == 0


def test_a_sweep_before_the_plans_load_writes_nothing(small):
    assert small.ok("escalate", "--json", now="2024-03-01T09:00:00+07:00").json == []
    assert len(small.ok("history", "--json").json) == 1


def test_audit_verify_reports_history_that_runs_backwards(small, db_path):
    append(db_path,
           {"event": "start", "at": at("2024-04-05T09:00:00+07:00"), "task_id": "a",
            "from_state": "assigned", "to_state": "in_progress", "actor": "so-tai-chinh"},
           {"event": "report", "at": at("2024-04-03T09:00:00+07:00"), "task_id": "a",
            "from_state": "in_progress", "to_state": "reported", "actor": "so-tai-chinh",
            "note": "xong"})
    r = small("audit", "verify")
    assert r.code == 7
    assert r.error.startswith("Error: plan small: event seq 3 (report on a): dated "
                              "2024-04-03T02:00:00.000000 UTC, before the previous event of the "
                              "same task (a), seq 2 at 2024-04-05T02:00:00.000000 UTC"), r.err


def test_audit_verify_reports_a_task_event_before_the_load(small, db_path):
    append(db_path, {"event": "block", "at": at("2024-03-01T09:00:00+07:00"), "task_id": "c",
                     "from_state": "assigned", "to_state": "blocked", "actor": "so-y-te",
                     "note": "x"})
    r = small("audit", "verify")
    assert r.code == 7 and "before the plan's load or upgrade, seq 1" in r.error, r.err


# --------------------------------------------------------------------------- notes


@pytest.mark.parametrize(("note", "named"), [
    (ESC_NOTE, "U+001B (ESC)"), ("xong\a", "U+0007 (BEL)"), ("a\rb", "U+000D"),
    ("x\x00y", "U+0000 (NUL)"), ("x\x9b31m", "U+009B (CSI)"), ("x\x7f", "U+007F (DEL)"),
])
def test_a_note_with_a_control_character_is_refused(small, note, named):
    r = small("block", "c", "--as", "so-noi-vu", "--note", note)
    assert r.code == 4
    assert r.error.startswith(f"Error: the note contains the control character {named}")
    assert len([ln for ln in r.err.splitlines() if not ln.startswith("{")]) == 1
    assert "\x1b" not in r.err and "\a" not in r.err
    assert small.ok("show", "c", "--json").json["state"] == "assigned"


def test_a_note_keeps_its_newlines_and_tabs_each_line_under_its_event(small):
    small.ok("block", "c", "--as", "so-noi-vu", "--note", "Thiếu:\n\thồ sơ\n  99  giả mạo")
    assert small.ok("history", "c", "--json").json[0]["note"] == "Thiếu:\n\thồ sơ\n  99  giả mạo"
    lines = small.ok("history", "c").out.splitlines()
    # the tab is kept as indentation (8 columns), under the note's own indentation of 8
    assert lines[1:4] == ["        Thiếu:", " " * 16 + "hồ sơ", " " * 10 + "99  giả mạo"]


def test_stored_control_characters_are_escaped_in_every_text_view(small, db_path):
    """Data written before these checks (or behind workflow's back) never reaches the
    terminal raw; JSON gives the exact values back."""
    append(db_path, {"event": "block", "at": at("2024-04-02T09:00:00+07:00"), "task_id": "c",
                     "from_state": "assigned", "to_state": "blocked", "actor": "so-noi-vu",
                     "note": ESC_NOTE + "\a\u202e"})
    bad_title = "Việc \x1b]0;owned\x07 của Sở\u200b Y tế\u202e"
    edit(db_path, TaskRow.__table__, (TaskRow.__table__.c.plan_id == "small")
         & (TaskRow.__table__.c.task_id == "c"), title=bad_title, state="blocked", version=1)
    edit(db_path, PlanRow.__table__, PlanRow.__table__.c.id == "small", title=bad_title)
    views = {
        "history": small.ok("history").out, "history c": small.ok("history", "c").out,
        "show": small.ok("show", "c").out, "tasks": small.ok("tasks").out,
        "plans": small.ok("plans").out, "summary": small.ok("summary").out,
    }
    for name, out in views.items():
        bad = [ch for ch in out if ch in "\x1b\x07\u202e\u200b"]
        assert bad == [], (name, out)
    assert "\\x1b[2K\\x1b[1A\\x1b[32mok: verified\\x1b[0m\\x07\\u202e" in views["history c"]
    assert "Việc \\x1b]0;owned\\x07 của Sở\\u200b Y tế\\u202e" in views["show"]
    assert "Việc \\x1b]0;owned\\x07" in views["plans"]
    # JSON: the same values exactly, but no raw control character on the terminal either.
    for args in (["history", "c", "--json"], ["history", "c", "--format", "jsonl"],
                 ["show", "c", "--json"], ["plans", "--json"]):
        out = small.ok(*args).out
        assert not any(ch in out for ch in "\x1b\x07\u202e\u200b"), args
    assert small.ok("history", "c", "--json").json[0]["note"] == ESC_NOTE + "\a\u202e"
    assert json.loads(small.ok("history", "c", "--format", "jsonl").out)["note"] == (
        ESC_NOTE + "\a\u202e")
    assert small.ok("show", "c", "--json").json["title"] == bad_title


def test_an_error_echoing_input_escapes_it(small, tmp_path):
    r = small("validate", tmp_path / "plan\x1b[31m\u202e.yaml")
    assert r.code == 5 and "\x1b" not in r.err and "\u202e" not in r.err
    assert r.error == f"Error: {tmp_path}/plan\\x1b[31m\\u202e.yaml: no such file"
    r = small("show", "c\x1b[31m\u202e")
    assert r.code == 5 and "\x1b" not in r.err and "\u202e" not in r.err


# --------------------------------------------------------------------------- definitions


def plan_with(**replace: str) -> str:
    text = SMALL_PLAN
    for old, new in replace.items():
        assert old.replace("__", " ") in text, old
        text = text.replace(old.replace("__", " "), new)
    return text


# (case, text, line, what the error names); YAML double quotes write the characters.
INVISIBLE = [
    ("zero-width space in a task id", SMALL_PLAN.replace("  c:\n", '  "c\\u200b":\n'), 24,
     'tasks.c\\u200b: contains U+200B (ZERO WIDTH SPACE)'),
    ("bidi override in a task id", SMALL_PLAN.replace("  c:\n", '  "c\\u202e":\n'), 24,
     "tasks.c\\u202e: contains U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("ESC in a title", SMALL_PLAN.replace('"Quyết toán"', '"\\e]0;x\\a Quyết toán"'), 14,
     "tasks.a.title: contains U+001B (ESC)"),
    ("NUL in a title", SMALL_PLAN.replace('"Quyết toán"', '"Quyết\\0toán"'), 14,
     "tasks.a.title: contains U+0000 (NUL)"),
    ("NUL in the plan title", SMALL_PLAN.replace('"Kế hoạch thử"', '"Kế\\0"'), 2,
     "title: contains U+0000 (NUL)"),
    ("NUL in a note", SMALL_PLAN.replace("    due: 2024-04-20\n",
                                         '    due: 2024-04-20\n    note: "a\\0"\n'), 18,
     "tasks.a.note: contains U+0000 (NUL)"),
    ("bidi override in an agency name", SMALL_PLAN.replace('"Sở Nội vụ"', '"Sở Nội vụ\\u202e"'),
     10, "agencies.so-noi-vu.name: contains U+202E"),
    ("zero-width space in an alias", SMALL_PLAN.replace('["SYT"]', '["S\\u200bYT"]'), 8,
     "agencies.so-y-te.aliases: contains U+200B"),
    ("BEL in a unit name", SMALL_PLAN.replace("tasks:\n", 'units:\n  h:\n    u1: {name: "U\\a"}\n'
                                              "tasks:\n"), 14, "units.h.u1.name: contains U+0007"),
    ("ESC in a ref", SMALL_PLAN.replace('    title: "Quyết toán"\n',
                                        '    title: "Quyết toán"\n    ref: "\\e[2J1"\n'), 15,
     "tasks.a.ref: contains U+001B (ESC)"),
    ("zero-width space in a reference", SMALL_PLAN.replace("depends_on: [a]",
                                                           'depends_on: ["a\\u200b"]'), 22,
     "tasks.b.depends_on: contains U+200B"),
    ("NUL in a key", SMALL_PLAN.replace("  d:\n", '  "d\\0":\n'), 29,
     "tasks.d\\x00: contains U+0000 (NUL)"),
]


@pytest.mark.parametrize(("case", "text", "line", "words"), INVISIBLE,
                         ids=[c[0] for c in INVISIBLE])
def test_control_and_format_characters_are_refused_in_definitions(run, tmp_path, case, text,
                                                                   line, words):
    path = write_plan(tmp_path, text)
    for command in ("validate", "load"):
        r = run(command, path)
        assert r.code == 3, r.err
        assert f"{path}:{line}: {words}" in r.err, r.err
        assert not any(ch in r.err for ch in "\x1b\x07\x00\u200b\u202e")
    r = run("plans", "--json")  # nothing was loaded, nor half-loaded (PostgreSQL: no tables)
    assert (r.code, r.out) in ((0, "[]\n"), (5, "")), r.err


SHARED = """\
id: shared
title: "Kế hoạch"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {name: "Ủy ban nhân dân tỉnh", aliases: ["UBND"]}
  ubnd-huyen: {name: "Ủy ban nhân dân huyện", aliases: ["ubnd"]}
  so-y-te: {name: "Sở Y tế"}
  syt: {name: "SỞ Y TẾ"}
tasks:
  a: {title: "Việc", lead: UBND}
"""


def test_an_alias_or_name_shared_by_two_agencies_is_an_error_naming_both_lines(run, tmp_path):
    path = write_plan(tmp_path, SHARED)
    r = run("validate", path)
    assert r.code == 3
    assert r.error == (f'Error: {path}:7: agencies.ubnd-huyen.aliases: "ubnd" also names agency '
                       '"ubnd-tinh" (agencies.ubnd-tinh.aliases, line 6); an id, name or alias '
                       "may name one agency only")
    assert r.err.splitlines()[1] == (
        f'  {path}:9: agencies.syt.name: "SỞ Y TẾ" also names agency "so-y-te" '
        "(agencies.so-y-te.name, line 8); an id, name or alias may name one agency only")
    assert run("load", path).code == 3


# --------------------------------------------------------------------------- lead: each


def test_lead_each_shows_each_unit_not_an_agency(run, tmp_path):
    run.ok("load", write_plan(tmp_path, FAN_PLAN), now=T0)
    show = run.ok("show", "kiem-ke").out
    assert "  lead:         each unit" in show.splitlines()
    assert run.ok("show", "kiem-ke", "--json").json["lead"] == "each"
    listed = run.ok("tasks").out.splitlines()
    row = next(ln for ln in listed if ln.startswith("kiem-ke "))
    assert row.split()[2:4] == ["each", "unit"]
    assert [t["lead"] for t in run.ok("tasks", "kiem-ke/*", "--json").json] == [
        "moc-chau", "mai-son", "yen-chau"]
    assert "kiem-ke" not in [t["id"] for t in run.ok("tasks", "--lead", "so-y-te",
                                                      "--json").json]
    assert run.ok("show", "ban-giao", "--json").json["lead"] == "so-y-te"  # an agency leads
