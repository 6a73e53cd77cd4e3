"""The README stands alone: it names only files the repository has, and its move table,
the state machine and each move's --help say the same."""

from __future__ import annotations

import fnmatch
import re

import pytest

import cli
from tests.conftest import ROOT
from workflow.plan import definitions
from workflow.rules.machine import NOTE_REQUIRED, TRIGGERS, machine

README = (ROOT / "README.md").read_text(encoding="utf-8")
TOP = {p.name for p in ROOT.iterdir()} - {".git", ".venv"}


def _ignored(path: str) -> bool:
    """An output the README names (bench/results/latest.json), ignored by git."""
    patterns = [ln.strip() for ln in (ROOT / ".gitignore").read_text().splitlines()
                if ln.strip() and not ln.startswith("#")]
    parts = path.split("/")
    return any(fnmatch.fnmatch("/".join(parts[:i]) + "/" * (i < len(parts)), pattern)
               or fnmatch.fnmatch(parts[i - 1], pattern.rstrip("/"))
               for i in range(1, len(parts) + 1) for pattern in patterns)


def test_readme_refers_only_to_files_the_repository_has():
    missing = [name for name in sorted(set(re.findall(r"[\w.-]+\.md\b", README)))
               if not list(ROOT.rglob(name))]
    assert missing == [], "the README names documents the repository does not have"
    assert "SPEC" not in README
    assert not re.search(r"(?<![.\w])\.\./", README), "a path outside the repository"
    paths = {m for m in re.findall(r"(?<![\w./-])([\w.-]+/[\w./*-]*)", README)
             if m.split("/")[0] in TOP}
    assert paths, "the pattern finds the README's paths"
    absent = sorted(p for p in paths
                    if not (list(ROOT.glob(p.rstrip("/"))) or _ignored(p.rstrip("/"))))
    assert absent == []


def _move_table() -> dict[str, list[str]]:
    rows = {}
    for line in README.splitlines():
        m = re.match(r"\| `([a-z]+)` \| (.*) \|\s*$", line)
        if m and m.group(1) in TRIGGERS:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split(" | ")]
    return rows


def test_readme_has_the_whole_move_table():
    assert sorted(_move_table()) == sorted(TRIGGERS)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_the_move_table_is_the_state_machine(trigger):
    moves, _who, required = _move_table()[trigger]
    sources, _, dest = moves.partition(" → ")
    transitions = [t for ts in machine().events[trigger].transitions.values() for t in ts]
    assert set(re.findall(r"[a-z_]+", sources)) - {"or"} == {t.source for t in transitions}
    dests = {t.dest for t in transitions}
    assert dest == "the state it was blocked from" if len(dests) > 1 else dest.split()[0] in dests
    assert ("a note: " + NOTE_REQUIRED[trigger] in required if trigger in NOTE_REQUIRED
            else "note" not in required)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_each_move_help_says_who_may_and_what_is_required(trigger, capsys):
    moves, who, required = (cell.replace("`", "") for cell in _move_table()[trigger])
    assert cli.main([trigger, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert moves in text
    assert f"Who may: {who}" in text
    assert f"Also required: {required}" in text


KEY_TABLES = ["PLAN_KEYS", "TASK_KEYS", "AGENCY_KEYS", "ESCALATION_KEYS", "CALENDAR_KEYS",
              "RELATIVE_KEYS", "UNIT_KEYS", "REPEAT_KEYS"]


@pytest.mark.parametrize("table", KEY_TABLES)
def test_readme_documents_every_definition_key(table):
    keys = getattr(definitions, table)
    undocumented = [k for k in keys
                    if not re.search(rf"(^|[\s{{,]){re.escape(k)}:|`{re.escape(k)}`", README,
                                     re.MULTILINE)]
    assert undocumented == []
