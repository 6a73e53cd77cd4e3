"""Hostile input: the definition loader and the command line, fuzzed with Hypothesis.

Whatever comes in, ``workflow`` answers with one of its exit codes and an ``Error:`` line,
never a traceback (exit 1 is a bug), never a hang, and a command that fails writes nothing.
YAML bombs (alias expansion, absurd nesting) are refused quickly.
"""

from __future__ import annotations

import copy
import itertools
import os
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SMALL_PLAN, write_plan

# A deeper hunt: FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py
FUZZ = settings(deadline=None, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "75")),
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
NO_NUL = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


def snapshot(run) -> tuple:
    """What a failed command must leave as it was: the plans, their tasks' states, every
    history event (count and head hash per plan)."""
    plans = run("plans", "--json")
    audit = run("audit", "verify", "--json")
    assert audit.code in (0, 5), audit.err
    return plans.code, plans.out, audit.out


def assert_clean(r, allowed: set[int], args) -> None:
    """An exit code we document, and a one-line ``Error:`` instead of a traceback."""
    assert r.code in allowed, (args, r.code, r.err)
    assert "Traceback" not in r.err and "Traceback" not in r.out, (args, r.err)
    assert "internal error" not in r.err, (args, r.err)
    if r.code != 0:
        assert r.error.startswith("Error:"), (args, r.err)


# --------------------------------------------------------------------------- definitions

BASE = yaml.safe_load(SMALL_PLAN)
AGENCIES = list(BASE["agencies"])
TASKS = list(BASE["tasks"])


def _paths(node, prefix=()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)
WORDS = [*AGENCIES, *TASKS, "Sở Y tế", "SYT", "UBND tỉnh", "2024-04-20", "31/2/2024",
         "trước ngày 16/5/2024", "Quý III/2024", "Quý V/2024", "Chậm nhất năm 2025",
         "Chậm nhất năm 99999", "0001-01-01", "9999-12-31", "từ ngày 30/5/2024 đến ngày 20/5/2024",
         "Thường xuyên", "7d", "0d", "-1d", "3h", "99999999999999999999w", "1e9d",
         "Asia/Ho_Chi_Minh", "Mars/Olympus", "../../etc/passwd", "UTC", "", " ", "~", "null",
         "yes", "no", "monday", "thứ 2", "chủ nhật", "31", "0", "-1", "10/6", "30/2",
         "for_each", "repeat", "weekly", "monthly", "yearly", "districts", "http://x",
         "a/b", "a b", "Đ", "\u0301", "\ufeff", "\u202e", "🙂", "x" * 300]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(NO_NUL, max_size=30) | st.dates() | st.sampled_from(WORDS))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from([*WORDS, *BASE["tasks"]["a"]])
                                      | st.text(NO_NUL, max_size=10), inner, max_size=4),
                    max_leaves=10)
ids = itertools.count(1)


@st.composite
def mutated_plans(draw) -> str:
    """SMALL_PLAN with one to three values replaced by junk, keys deleted or added."""
    plan = copy.deepcopy(BASE)
    plan["id"] = f"fuzz-{next(ids)}"  # a valid result loads as a new plan, never a conflict
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = plan
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            last = path[-1]
            try:
                if action == "replace":
                    parent[last] = draw(JUNK)
                elif action == "delete":
                    del parent[last]
                elif isinstance(parent, dict):
                    parent[draw(st.sampled_from(WORDS) | st.text(NO_NUL, max_size=8))] = \
                        draw(JUNK)
                else:
                    parent.append(draw(JUNK))
            except (KeyError, IndexError, TypeError):
                pass
    return yaml.safe_dump(plan, allow_unicode=True, sort_keys=draw(st.booleans()))


STRUCTURED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from([*BASE, *BASE["tasks"]["a"], *AGENCIES, *TASKS, "name", "aliases"])
        | st.text(NO_NUL, max_size=10), inner, max_size=6),
    max_leaves=25).map(lambda v: yaml.safe_dump(v, allow_unicode=True))
DEFINITIONS = st.one_of(
    mutated_plans(), STRUCTURED, st.text(NO_NUL, max_size=400),
    st.text(max_size=200),  # NUL included: binary data
    st.binary(max_size=200),
)


@pytest.fixture
def fuzz_run(small, tmp_path, monkeypatch):
    """``small`` (one plan loaded) with the working directory in the test's own tmp_path."""
    monkeypatch.chdir(tmp_path)
    return small


@FUZZ
@given(content=DEFINITIONS)
def test_fuzz_definition_files(fuzz_run, tmp_path, content):
    path = tmp_path / "fuzz.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    r = fuzz_run("validate", path)
    assert_clean(r, {0, 3, 5}, content)
    valid = r.code == 0
    before = snapshot(fuzz_run)
    r = fuzz_run("load", path)
    # A valid file whose (fuzzed) id another example loaded before conflicts with it.
    assert_clean(r, {0, 3, 5} | ({6} if valid else set()), content)
    assert (r.code in (0, 6)) == valid, (content, r.err)  # validate and load agree
    if r.code != 0:
        assert snapshot(fuzz_run) == before, content


# --------------------------------------------------------------------------- command line

COMMANDS = [["validate"], ["load"], ["plans"], ["tasks"], ["show"], ["start"], ["report"],
            ["approve"], ["return"], ["block"], ["unblock"], ["escalate"], ["escalations"],
            ["history"], ["summary"], ["audit", "verify"], ["audit"], ["db", "upgrade"],
            ["db", "copy"], ["db"], ["members", "add"], ["members", "remove"],
            ["members", "list"], ["members"], []]  # never `watch`: it runs until stopped
OPTIONS = ["--plan", "--as", "--note", "--json", "--db", "--state", "--agency", "--lead",
           "--overdue", "--blocked", "--at", "--event", "--since", "--until", "--format",
           "--output", "-o", "--by", "--head", "--upgrade", "--from", "--to", "--help", "-h",
           "--every", "--", "-"]
VALUES = ["small", "other", "a", "b", "c", "d", "zz", "II.1", "a/*", "*", *AGENCIES, "SYT",
          "Sở Tài chính", "nguyen", "xong", "khó", "2024-04-30", "30/4/2024", "2024-13-45",
          "2030-01-01", "2024-04-02T09:00", "csv", "json", "jsonl", "text", "xml", "unit",
          "task", "agency", "blocked", "in_progress", "start,block", "escalation",
          "member_added", "0" * 16, "f" * 64, "plan.yaml", "other.yaml", "nope.yaml",
          "copy.db", "out.csv", "workflow.db", ".", "15m", "0s", "", " "]


def _safe(text: str) -> bool:
    """Random words that cannot point outside the test's directory or at a network."""
    return (not text.startswith(("/", "~")) and ".." not in text and "://" not in text
            and text != "--debug")


# Where a database is named, only these: "@db" is the test's own database (a file or a URL).
# Other paths that are no database (a directory, a YAML file, a name with '?') exit 1 with
# "database error": see test_paths_that_are_no_database below.
DATABASES = ["@db", "copy.db", "nope.db", "workflow.db"]
DB_OPTIONS = ("--db", "--from", "--to")


@st.composite
def arguments(draw) -> list[str]:
    words = draw(st.lists(st.sampled_from(OPTIONS) | st.sampled_from(VALUES)
                          | st.text(NO_NUL, max_size=12).filter(_safe), max_size=7))
    for i in range(1, len(words)):
        if words[i - 1] in DB_OPTIONS and words[i] not in DATABASES:
            words[i] = draw(st.sampled_from(DATABASES))
    return [*draw(st.sampled_from(COMMANDS)), *words]


ARGS = arguments()
OTHER_PLAN = SMALL_PLAN.replace("id: small", "id: other")


@FUZZ
@given(args=ARGS)
def test_fuzz_command_line(fuzz_run, tmp_path, args):
    write_plan(tmp_path, SMALL_PLAN)
    write_plan(tmp_path, OTHER_PLAN, "other.yaml")
    args = [fuzz_run.db if a == "@db" else a for a in args]
    before = snapshot(fuzz_run)
    r = fuzz_run(*args)
    assert_clean(r, {0, 2, 3, 4, 5, 6}, args)
    if r.code != 0:
        assert snapshot(fuzz_run) == before, (args, r.err)


@pytest.mark.parametrize("args", [
    ["start", "a", "--as", "so-tai-chinh", "--note", "\u202e\ufeff"],
    ["tasks", "--at", "0001-01-01"], ["tasks", "--at", "9999-12-31T23:59:59"],
    ["history", "--since", "0001-01-01", "--until", "9999-12-31"],
    ["show", "a", "--at", "1/1/1"], ["audit", "verify", "--head", "g" * 64],
    ["members", "add", "\u00a0", "so-y-te"], ["members", "list", "--agency", "\u0301"],
    ["block", "a", "--as", "ttyt", "--note", "x" * 100_000],
])
def test_edge_arguments(fuzz_run, args):
    """Inputs fuzzing found worth keeping: each answers with a documented exit code."""
    before = snapshot(fuzz_run)
    r = fuzz_run(*args)
    assert_clean(r, {0, 2, 3, 4, 5, 6}, args)
    if r.code != 0:
        assert snapshot(fuzz_run) == before


@pytest.mark.parametrize("now", ["9999-12-31T12:00:00+07:00", "0001-01-01"])
def test_a_clock_beyond_the_calendar(fuzz_run, now):
    """WORKFLOW_NOW at the calendar's ends crashed moves (exit 1) adding a stall time."""
    before = snapshot(fuzz_run)
    r = fuzz_run("start", "a", "--as", "so-tai-chinh", now=now)
    assert_clean(r, {2}, now)
    assert r.error == f"Error: WORKFLOW_NOW={now!r} is not between 1900 and 2199"
    assert snapshot(fuzz_run) == before


@pytest.mark.parametrize(("old", "new"), [
    ("due: 2024-04-20", "due: 9999-12-31"), ("start: 2024-05-01", "start: 0001-01-01"),
    ("stall_after: 7d", "stall_after: 999999w"), ("step_after: 3d", "step_after: 999999w"),
])
def test_edge_definitions(fuzz_run, tmp_path, old, new):
    """Found by fuzzing: they validated, then load crashed (exit 1) computing a time past the
    calendar's end. Now both refuse them (exit 3) and nothing is written."""
    path = write_plan(tmp_path, SMALL_PLAN.replace("id: small", "id: edge").replace(old, new),
                      "edge.yaml")
    before = snapshot(fuzz_run)
    for command in ("validate", "load"):
        r = fuzz_run(command, path)
        assert_clean(r, {3}, new)
        assert new.split(": ")[1] in r.error
    assert snapshot(fuzz_run) == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("where", ["?", ".", "plan.yaml", "w.db?mode=ro", "x%20y"])
def test_paths_that_are_no_database(fuzz_run, tmp_path, where):
    write_plan(tmp_path, SMALL_PLAN)
    r = fuzz_run("tasks", "--db", where)
    assert_clean(r, {2, 5}, where)


# --------------------------------------------------------------------------- YAML bombs

HEAD = ("id: bomb\ntitle: t\nissuer: ubnd\ncoordinator: syt\n"
        "agencies: {ubnd: {name: U}, syt: {name: S}}\n")


def billion_laughs(levels: int = 10, width: int = 10) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


BOMBS = {
    "billion laughs": billion_laughs(),
    "billion laughs in a plan": HEAD + "tasks:\n  a:\n    title: t\n    lead: syt\n"
    + "    support: *l9\n    note: *l9\n" + billion_laughs().replace("l0:", "x-l0:"),
    "a huge scalar through many aliases": HEAD + "title: &big " + "x" * 1_000_000 + "\n"
    + "tasks:\n" + "".join(f"  t{i}: {{title: *big, lead: *big, support: [*big, *big], "
                           f"due: *big}}\n" for i in range(3000)),
    "nested flow sequences": "[" * 100_000 + "]" * 100_000,
    "nested flow mappings": "{a: " * 100_000 + "}" * 100_000,
    "nested block sequences": "- " * 100_000 + "x\n",
    "nested explicit keys": "? " * 100_000 + "x\n",
    "nested flow in a plan": HEAD + "tasks: " + "[" * 100_000 + "]" * 100_000 + "\n",
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_yaml_bombs_are_refused_quickly(fuzz_run, tmp_path, name):
    path = write_plan(tmp_path, BOMBS[name], "bomb.yaml")
    before = snapshot(fuzz_run)
    for command in ("validate", "load"):
        started = time.perf_counter()
        r = fuzz_run(command, path)
        elapsed = time.perf_counter() - started
        assert r.code == 3, (name, command, r.err[:500])
        assert r.error.startswith(f"Error: {path}"), r.error[:500]
        assert len(r.err) < 100_000, (name, len(r.err))  # no expansion into the message
        assert elapsed < 2.0, (name, command, elapsed)  # a hang guard, not a benchmark
    assert snapshot(fuzz_run) == before
