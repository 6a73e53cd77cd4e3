"""Shared fixtures. The CLI runs in-process through ``cli.main`` (exit code, stdout, stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"
SON_LA = DEFINITIONS / "son-la-2024-ttyt.yaml"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def error(self) -> str:
        """The first stderr line that is not a log record."""
        lines = [ln for ln in self.err.splitlines() if not ln.startswith("{")]
        return lines[0] if lines else ""


DEFAULT_NOW = "2024-04-02T09:00:00+07:00"


class Runner:
    """Runs `workflow ...` in-process against one database, with an engine clock.

    The clock is ``now`` (WORKFLOW_NOW), 2 April 2024 09:00 in Hà Nội unless given.
    """

    def __init__(self, db: str, capsys, monkeypatch) -> None:
        self.db = db
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, now: str | None = None, env: dict | None = None) -> Result:
        self.capsys.readouterr()
        with self.monkeypatch.context() as m:
            m.setenv("WORKFLOW_DB", self.db)
            for key in ("WORKFLOW_NOW", "WORKFLOW_PLAN", "WORKFLOW_ACTOR"):
                m.delenv(key, raising=False)
            m.setenv("WORKFLOW_NOW", now or DEFAULT_NOW)
            for k, v in (env or {}).items():
                m.setenv(k, v)
            code = cli.main([str(a) for a in args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str, **kw) -> Result:
        r = self(*args, **kw)
        assert r.code == 0, f"workflow {' '.join(map(str, args))} -> {r.code}: {r.err}"
        return r


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "workflow.db"


@pytest.fixture
def run(db_path, capsys, monkeypatch) -> Runner:
    return Runner(str(db_path), capsys, monkeypatch)


@pytest.fixture
def son_la(run) -> Runner:
    """A runner with the Sơn La plan loaded on 1 April 2024."""
    run.ok("load", SON_LA, now="2024-04-01T08:00:00+07:00")
    return run


def write_plan(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def workflow_process(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    """Runs the installed entry point in a real process (for crash, race and signal tests)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)],
                          env=full_env, capture_output=True, text=True, timeout=120, **kw)


SMALL_PLAN = """\
id: small
title: "Kế hoạch thử"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 7d, step_after: 3d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế", aliases: ["SYT"]}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-noi-vu: {name: "Sở Nội vụ"}
  ttyt: {name: "Trung tâm Y tế các huyện, thành phố"}
tasks:
  a:
    title: "Quyết toán"
    lead: so-tai-chinh
    support: [ttyt]
    due: 2024-04-20
  b:
    title: "Điều chuyển tài sản"
    lead: so-tai-chinh
    support: [so-y-te]
    depends_on: [a]
    due: "trước ngày 16/5/2024"
  c:
    title: "Việc của Sở Y tế"
    lead: so-y-te
    support: [so-noi-vu]
    due: "Quý III/2024"
  d:
    title: "Việc có người duyệt riêng"
    lead: ttyt
    approver: so-noi-vu
    start: 2024-05-01
"""


@pytest.fixture
def small(run, tmp_path) -> Runner:
    """A runner with SMALL_PLAN loaded on 1 April 2024 08:00 (+07:00)."""
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now="2024-04-01T08:00:00+07:00")
    return run
