"""A command imports what it uses, and nothing else (issue 11: `show` and a move within 1.2×
of `python -c "import sqlmodel, typer"`).

Each command runs in a real process under ``python -X importtime``; the modules it loaded are
read from that report.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SON_LA

# What neither `show` nor a move needs: the history's verification and its cross-check, the
# definition reader and YAML, `validate --explain`, the history export, schema upgrades, the
# PostgreSQL dialect on SQLite, the document writers and readers, the scheduler, and (below
# the log level) structlog with the rich it pulls in.
NOT_NEEDED = {
    "workflow.store.verify", "workflow.store.crosscheck", "workflow.plan.reader",
    "workflow.plan.definitions", "workflow.views.explain", "workflow.views.history", "yaml",
    "alembic", "sqlalchemy.dialects.postgresql", "xlsxwriter", "openpyxl", "docx", "jinja2",
    "apscheduler", "structlog", "rich",
}


def imported(db: str, *args: str) -> set[str]:
    env = {**os.environ, "WORKFLOW_DB": db, "WORKFLOW_NOW": "2024-04-02T09:00:00+07:00",
           "WORKFLOW_LOG_LEVEL": "warning"}
    r = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "cli.py"), *args],
                       env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in r.stderr.splitlines()
            if line.startswith("import time:")}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("imports") / "w.db")
    imported(db, "load", str(SON_LA))
    return db


@pytest.mark.parametrize("command", [
    ("show", "II.2"), ("show", "quyet-toan-2023", "--json"),
    ("start", "quyet-toan-2023", "--as", "so-y-te"),
], ids=" ".join)
def test_show_and_a_move_import_only_what_they_use(loaded, command):
    modules = imported(loaded, *command)
    assert "workflow.store.models" in modules  # the report read what it should
    assert sorted(modules & NOT_NEEDED) == []


def test_show_as_of_a_past_moment_imports_the_replay(loaded):
    assert "workflow.views.replay" in imported(loaded, "show", "II.2", "--at", "2024-04-02")
