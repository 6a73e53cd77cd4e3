"""Definition files: every problem found, each with its file, line and key."""

from __future__ import annotations

import time
import unicodedata
from datetime import date, timedelta

import pytest

from tests.conftest import DEFINITIONS, SMALL_PLAN, write_plan
from workflow.errors import DefinitionError
from workflow.plan.definitions import load_file, parse

HEAD = """\
id: p
title: "Kế hoạch"
issuer: ubnd
coordinator: syt
agencies:
  ubnd: {name: "UBND tỉnh"}
  syt: {name: "Sở Y tế"}
  stc: {name: "Sở Tài chính"}
tasks:
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse(text, "plan.yaml")
    return [(p.line, p.key, p.message) for p in info.value.problems]


# (case, tasks section appended to HEAD, expected line, expected key, expected words)
BROKEN = [
    ("unknown task key", "  a:\n    title: t\n    lead: syt\n    colour: red\n",
     13, "tasks.a.colour", "unknown key; allowed keys are title, ref, lead"),
    ("duplicate task", "  a:\n    title: t\n    lead: syt\n  a:\n    title: u\n    lead: syt\n",
     13, "tasks.a", "duplicate key (first at line 10)"),
    ("duplicate field", "  a:\n    title: t\n    title: u\n    lead: syt\n",
     12, "tasks.a.title", "duplicate key (first at line 11)"),
    ("unknown lead", "  a:\n    title: t\n    lead: so-xyz\n",
     12, "tasks.a.lead", 'unknown agency "so-xyz"; known: ubnd, syt, stc'),
    ("unknown support", "  a:\n    title: t\n    lead: syt\n    support: [stc, nope]\n",
     13, "tasks.a.support", 'unknown agency "nope"'),
    ("support not a list", "  a:\n    title: t\n    lead: syt\n    support: stc\n",
     13, "tasks.a.support", "expected a list such as [a, b]"),
    ("unknown dependency", "  a:\n    title: t\n    lead: syt\n    depends_on: [zz]\n",
     13, "tasks.a.depends_on", 'task "a" depends on unknown task "zz"'),
    ("missing lead", "  a:\n    title: t\n", 10, "tasks.a.lead", "is required"),
    ("missing title", "  a:\n    lead: syt\n", 10, "tasks.a.title", "is required"),
    ("title is a list", "  a:\n    title: [x, y]\n    lead: syt\n",
     11, "tasks.a.title", "expected text, found a list"),
    ("bad date", "  a:\n    title: t\n    lead: syt\n    due: 31/2/2024\n",
     13, "tasks.a.due", "not a real day"),
    ("unreadable date", "  a:\n    title: t\n    lead: syt\n    due: sớm\n",
     13, "tasks.a.due", "cannot read"),
    ("start after due", "  a:\n    title: t\n    lead: syt\n    due: 2024-05-01\n"
     "    start: 2024-06-01\n", 14, "tasks.a.start", "after it is due"),
    ("self approval", "  a:\n    title: t\n    lead: stc\n    approver: stc\n",
     13, "tasks.a.approver", "may not approve its own work"),
    ("slash in id", "  a/b:\n    title: t\n    lead: syt\n", 10, "tasks.a/b", 'no "/"'),
    ("space in id", "  a b:\n    title: t\n    lead: syt\n", 10, "tasks.a b", "no spaces"),
    ("unknown unit list", "  a:\n    title: t\n    lead: syt\n    for_each: huyen\n",
     13, "tasks.a.for_each", 'unknown unit list "huyen"; known: none'),
    ("each without for_each", "  a:\n    title: t\n    lead: each\n",
     12, "tasks.a.lead", '"each" needs for_each'),
    ("repeat with due", "  a:\n    title: t\n    lead: syt\n    due: 2024-01-01\n"
     "    repeat: {weekly: friday, from: 2024-01-01}\n", 13, "tasks.a.due",
     "a recurring task has no single due date"),
    ("repeat bad weekday", "  a:\n    title: t\n    lead: syt\n"
     "    repeat: {weekly: someday, from: 2024-01-01}\n", 13, "tasks.a.repeat.weekly",
     "is not a weekday"),
    ("repeat two kinds", "  a:\n    title: t\n    lead: syt\n"
     "    repeat: {weekly: friday, monthly: 3, from: 2024-01-01}\n", 13, "tasks.a.repeat",
     "exactly one of weekly, monthly or yearly"),
    ("repeat bad yearly", "  a:\n    title: t\n    lead: syt\n"
     "    repeat: {yearly: [31/2], from: 2024-01-01}\n", 13, "tasks.a.repeat.yearly",
     '"31/2" is not a day of the year'),
    ("cycle", "  a:\n    title: t\n    lead: syt\n    depends_on: [b]\n"
     "  b:\n    title: u\n    lead: syt\n    depends_on: [a]\n",
     10, "tasks.a.depends_on", "dependency cycle: a → b → a"),
    ("self cycle", "  a:\n    title: t\n    lead: syt\n    depends_on: [a]\n",
     10, "tasks.a.depends_on", "dependency cycle: a → a"),
]


@pytest.mark.parametrize(("case", "tasks", "line", "key", "words"), BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_broken_definitions_name_line_key_and_fix(case, tasks, line, key, words):
    found = problems(HEAD + tasks)
    assert any(ln == line and k == key and words in msg for ln, k, msg in found), found


PLAN_LEVEL = [
    ("missing issuer", HEAD.replace("issuer: ubnd\n", ""), 1, "issuer", "is required"),
    ("unknown plan key", HEAD + "  a: {title: t, lead: syt}\nowner: me\n", 11, "owner",
     "unknown key"),
    ("bad plan id", HEAD.replace("id: p", "id: Kế Hoạch") + "  a: {title: t, lead: syt}\n",
     1, "id", 'is not a valid id'),
    ("bad timezone", HEAD.replace("agencies:", "timezone: Mars/Olympus\nagencies:")
     + "  a: {title: t, lead: syt}\n", 5, "timezone", "unknown timezone"),
    ("bad duration", HEAD.replace("agencies:", "escalation: {stall_after: 7 days}\nagencies:")
     + "  a: {title: t, lead: syt}\n", 5, "escalation.stall_after",
     "whole number with h, d, w or wd"),
    ("unknown escalation key", HEAD.replace("agencies:", "escalation: {stall: 7d}\nagencies:")
     + "  a: {title: t, lead: syt}\n", 5, "escalation.stall", "unknown key"),
    ("agency without name", HEAD.replace('stc: {name: "Sở Tài chính"}', "stc: {alias: x}")
     + "  a: {title: t, lead: syt}\n", 8, "agencies.stc.alias", "unknown key"),
    ("unknown coordinator", HEAD.replace("coordinator: syt", "coordinator: sxx")
     + "  a: {title: t, lead: syt}\n", 4, "coordinator", 'unknown agency "sxx"'),
    ("yaml syntax", "id: p\n  bad: [\n", 2, "", "YAML syntax error"),
    ("not a mapping", "- a\n- b\n", 1, "", "expected a plan"),
    ("empty file", "", 1, "", "the file is empty"),
]


@pytest.mark.parametrize(("case", "text", "line", "key", "words"), PLAN_LEVEL,
                         ids=[b[0] for b in PLAN_LEVEL])
def test_plan_level_problems(case, text, line, key, words):
    found = problems(text)
    assert any(ln == line and k == key and words in msg for ln, k, msg in found), found


def test_every_problem_is_reported_not_only_the_first():
    text = HEAD + ("  a:\n    title: t\n    lead: nope\n    due: sớm\n    colour: x\n"
                   "  b:\n    title: u\n    lead: syt\n    depends_on: [zz]\n")
    keys = {k for _ln, k, _m in problems(text)}
    assert keys == {"tasks.a.lead", "tasks.a.due", "tasks.a.colour", "tasks.b.depends_on"}


def test_yes_no_off_stay_text_and_dates_are_ours():
    plan = parse(HEAD + "  no:\n    title: off\n    lead: syt\n    note: yes\n"
                 "    due: 2024-04-20\n")
    task = plan.tasks["no"]
    assert (task.title, task.note, task.due) == ("off", "yes", date(2024, 4, 20))


def test_billion_laughs_cannot_expand():
    bomb = HEAD + "  a:\n    title: t\n    lead: syt\n    support: &x [stc, stc]\n" + "".join(
        f"  t{i}:\n    title: t\n    lead: syt\n    support: *x\n" for i in range(50))
    plan = parse(bomb)  # aliases of a bounded list stay bounded
    assert plan.tasks["t3"].support == ("stc",)


@pytest.mark.parametrize("depth", [33, 1000, 100000, 2000000])
@pytest.mark.parametrize(("open_", "close"), [("[", "]"), ("{a: ", "}")])
def test_deep_nesting_is_refused_quickly_in_our_words(depth, open_, close):
    """Ours whatever the YAML library's own limit (libyaml's scanner refuses flow nesting
    beyond its limit before we see the first event): exit 3, the line, at once."""
    text = HEAD + "  a:\n    title: t\n    lead: syt\n    note: " + open_ * depth + close * depth
    started = time.perf_counter()
    found = problems(text)
    assert time.perf_counter() - started < 2
    assert found == [(13, "", "nesting deeper than 32 levels; a plan needs at most 5")]


def test_deep_block_nesting_is_refused_in_our_words():
    text = HEAD + "  a:\n    title: t\n    lead: syt\n    note:\n" + "".join(
        " " * (6 + 2 * i) + f"k{i}:\n" for i in range(40))
    assert problems(text) == [(43, "", "nesting deeper than 32 levels; a plan needs at most 5")]


def test_nfd_input_is_read_as_nfc_and_agency_names_resolve():
    text = unicodedata.normalize("NFD", SMALL_PLAN.replace("lead: so-y-te", "lead: Sở Y TẾ"))
    plan = parse(text)
    assert plan.title == "Kế hoạch thử"
    assert unicodedata.is_normalized("NFC", plan.tasks["c"].title)
    assert plan.tasks["c"].lead == "so-y-te"
    assert plan.tasks["c"].approver == "ubnd-tinh"  # the coordinator leads: the issuer approves


def test_agency_alias_resolves():
    plan = parse(SMALL_PLAN.replace("support: [so-noi-vu]", "support: [SYT, so-noi-vu]")
                 .replace("lead: so-y-te", "lead: so-noi-vu"))
    assert plan.tasks["c"].support == ("so-y-te",)


def test_defaults_and_plan_phrasing():
    plan = parse(SMALL_PLAN)
    assert plan.timezone == "Asia/Ho_Chi_Minh"
    assert (plan.stall_after, plan.step_after) == (timedelta(days=7), timedelta(days=3))
    assert plan.tasks["b"].due == date(2024, 5, 15)  # "trước ngày 16/5/2024"
    assert plan.tasks["c"].due == date(2024, 9, 30)  # "Quý III/2024"
    assert plan.tasks["d"].due is None
    assert plan.tasks["a"].approver == "so-y-te"
    assert plan.tasks["d"].approver == "so-noi-vu"


def test_digest_ignores_formatting_but_not_meaning():
    a = parse(SMALL_PLAN)
    b = parse(SMALL_PLAN.replace('title: "Quyết toán"', "title:   Quyết toán   "))
    c = parse(SMALL_PLAN.replace("due: 2024-04-20", "due: 2024-04-21"))
    assert a.digest == b.digest != c.digest


@pytest.mark.parametrize("path", sorted(DEFINITIONS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_definition_validates(path):
    plan = load_file(path)
    assert plan.id == path.stem
    assert plan.tasks and all(t.title and (t.lead or t.lead_each) for t in plan.tasks.values())
    assert all(unicodedata.is_normalized("NFC", t.title) for t in plan.tasks.values())


def test_son_la_dependencies_from_the_document():
    plan = load_file(DEFINITIONS / "son-la-2024-ttyt.yaml")
    assert {"quyet-toan-2023", "kiem-ke-tai-san"} <= set(plan.tasks["dieu-chuyen-tai-san"]
                                                         .depends_on)
    assert "chuyen-cong-tac-vien-chuc" in plan.tasks["hoi-nghi-cong-bo"].depends_on
    assert plan.tasks["quyet-toan-2023"].due == date(2024, 4, 19)  # trước ngày 20/4/2024


def test_validate_cli_reports_all_problems_with_exit_3(run, tmp_path):
    bad = write_plan(tmp_path, HEAD + "  a:\n    title: t\n    lead: nope\n    colour: x\n")
    r = run("validate", bad)
    assert r.code == 3
    assert r.error == (f'Error: {bad}:12: tasks.a.lead: unknown agency "nope"; '
                       "known: ubnd, syt, stc")
    assert f"{bad}:13: tasks.a.colour: unknown key" in r.err


def test_validate_cli_ok_and_json(run):
    files = sorted(DEFINITIONS.glob("*.yaml"))
    r = run.ok("validate", *files, "--json")
    assert [x["valid"] for x in r.json] == [True] * len(files)


def test_validate_missing_file_exit_5(run, tmp_path):
    r = run("validate", tmp_path / "nope.yaml")
    assert (r.code, r.error) == (5, f"Error: {tmp_path / 'nope.yaml'}: no such file")


def test_not_utf8_is_a_definition_error(run, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("id: p\ntitle: Kế hoạch\n".encode("utf-16"))
    r = run("validate", path)
    assert r.code == 3 and "not UTF-8" in r.error


def test_yaml_null_is_nothing_and_quoted_null_is_text():
    assert problems(HEAD.replace("id: p", "id: null") + "  a: {title: t, lead: syt}\n")[0][1:] \
        == ("id", "is required and must not be empty")
    plan = parse(HEAD + '  a:\n    title: "null"\n    lead: syt\n    support:\n    due: ~\n')
    assert (plan.tasks["a"].title, plan.tasks["a"].support, plan.tasks["a"].due) == (
        "null", (), None)
