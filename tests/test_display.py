"""What a person sees at a terminal: progress bars on long work, --version, ages in days and
hours, help without code-like type names, the task table in 80 columns (issues 14 and 15)."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SON_LA, workflow_process

SEED = "/work/shared/seeds/son-la-2024-ttyt.txt"
ENV = {"WORKFLOW_NOW": "2024-04-02T09:00:00+07:00", "WORKFLOW_LOG_LEVEL": "error",
       "TERM": "xterm"}


def on_a_terminal(*args, env: dict) -> bytes:
    """Runs workflow with stderr on a pseudo-terminal; returns what the terminal got."""
    main, child = pty.openpty()
    with subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)],
                          env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                          stderr=child) as proc:
        os.close(child)
        seen = b""
        with contextlib.suppress(OSError):  # EIO once the child has gone
            while chunk := os.read(main, 65536):
                seen += chunk
        assert proc.wait(timeout=120) == 0, seen
    os.close(main)
    return seen


@pytest.mark.sqlite_only
def test_load_import_and_db_copy_draw_a_bar_on_a_terminal(run, tmp_path):
    env = {**ENV, "WORKFLOW_DB": str(tmp_path / "a.db")}
    seen = on_a_terminal("load", SON_LA, env=env)
    assert b"load" in seen and b"\x1b[" in seen  # rich drew a bar (its last step, if quick)
    if os.path.exists(SEED):
        seen = on_a_terminal("import", SEED, "-o", tmp_path / "d.yaml", env=env)
        assert b"import" in seen and b"\x1b[" in seen
    seen = on_a_terminal("db", "copy", "--from", tmp_path / "a.db", "--to", tmp_path / "b.db",
                         env=env)
    assert b"db copy" in seen and b"\x1b[" in seen


def test_nothing_of_a_bar_when_piped(run, tmp_path):
    r = run.ok("load", SON_LA)
    assert "\x1b" not in r.err and "lịch sử" not in r.err
    target = tmp_path / "copy.db"
    r = run.ok("db", "copy", "--from", run.db, "--to", target)
    assert "\x1b" not in r.err and "wf_task" not in r.err
    if os.path.exists(SEED):
        piped = workflow_process("import", SEED, "-o", tmp_path / "d.yaml", env=ENV)
        assert piped.returncode == 0 and "\x1b" not in piped.stderr
        assert "tìm nhiệm vụ" not in piped.stderr


def test_version_prints_the_package_version(run):
    from importlib.metadata import version

    import workflow
    r = run.ok("--version")
    assert r.out == f"workflow {workflow.__version__}\n"
    assert workflow.__version__ == version("kehoach-workflow")


def test_history_since_after_until_is_a_usage_error(small):
    r = small("history", "--since", "2024-05-01", "--until", "2024-04-01")
    assert r.code == 2 and r.out == ""
    assert r.error.startswith("Error: --since 2024-05-01 is after --until 2024-04-01")
    assert len([ln for ln in r.err.splitlines() if not ln.startswith("{")]) == 1
    assert small.ok("history", "--since", "2024-04-01", "--until", "2024-04-01").out


def test_escalation_ages_in_days_and_hours(small):
    small.ok("block", "a", "--as", "so-tai-chinh", "--note", "Thiếu số liệu")
    r = small.ok("escalations", now="2024-06-17T11:30:00+07:00")
    assert r.out.rstrip().endswith(" 76 days 2 hours") and "1826" not in r.out
    assert small.ok("escalations", now="2024-04-03T10:00:00+07:00").out.rstrip().endswith(
        " 1 day 1 hour")
    assert small.ok("escalations", now="2024-04-02T14:00:00+07:00").out.rstrip().endswith(
        " 5 hours")


def command_paths(command, path=()):
    subs = getattr(command, "commands", {})
    yield path
    for name, sub in subs.items():
        yield from command_paths(sub, (*path, name))


@pytest.mark.sqlite_only
def test_help_names_values_as_a_person_would(run):
    import cli
    paths = list(command_paths(cli._command()))
    assert len(paths) > 25
    for path in paths:
        text = run.ok(*path, "--help").out
        code_like = re.findall(r"<\w+>|\{\w+\}|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b", text)
        assert not code_like, (path, code_like)
    assert "Usage: workflow show [OPTIONS] TASK\n" in run.ok("show", "--help").out
    assert "--agency AGENCY" in run.ok("tasks", "--help").out
    assert "  FILE  " in run.ok("import", "--help").out


LONG_IDS = """\
id: long
title: "Kế hoạch thử"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
tasks:
  a:
    title: "Quyết toán"
    ref: "I.1"
    lead: so-tai-chinh
    due: 2024-04-20
  chuyen-giao-nhiem-vu-quan-ly-tai-chinh-tai-san-cua-trung-tam-y-te:
    title: "Chuyển giao"
    ref: "II.12 (năm 2024, đợt 2)"
    lead: [so-tai-chinh, so-y-te]
    due: 2024-03-20
"""


def test_tasks_table_fits_80_columns_with_long_ids_and_shows_the_numbering(run, tmp_path):
    from tests.conftest import write_plan
    long_id = "chuyen-giao-nhiem-vu-quan-ly-tai-chinh-tai-san-cua-trung-tam-y-te"
    run.ok("load", write_plan(tmp_path, LONG_IDS), now="2024-03-01T08:00:00+07:00")
    lines = run.ok("tasks").out.splitlines()
    assert all(len(ln) <= 80 for ln in lines), lines
    header = lines[0].split()
    assert header == ["id", "ref", "state", "lead", "due"]
    rows = [ln for ln in lines if "assigned" in ln]
    assert len(rows) == 2 and len({ln.index("assigned") for ln in rows}) == 1  # aligned
    assert lines[0].index("state") == rows[0].index("assigned")
    assert long_id in lines  # whole, on a line of its own, to copy into a command
    assert rows[0].split()[:2] == ["a", "I.1"]
    assert "II.12 (n…" in rows[1] and rows[1].endswith("2024-03-20  OVERDUE")
