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


@pytest.fixture(autouse=True)
def english(monkeypatch) -> None:
    """The suite reads English unless a test asks for Vietnamese (``--lang vi``, or
    ``WORKFLOW_LANG``/``LANG`` in its own environment): a developer's vi_VN locale must not
    change what the other tests see."""
    monkeypatch.setenv("WORKFLOW_LANG", "en")


# --------------------------------------------------------------------------- databases
# Every test that uses ``db_path`` (and so ``run``) runs twice: on a SQLite file and on a
# fresh database of a real PostgreSQL server that the suite starts itself (tests/pgserver.py).
# A test that opens the SQLite file directly is marked ``sqlite_only``; ``-k sqlite`` or
# ``-k postgresql`` runs one side only.


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only: opens the SQLite file itself; its "
                                       "PostgreSQL variant is not collected")
    config.addinivalue_line("markers", "postgresql_only: about PostgreSQL itself; its SQLite "
                                       "variant is not collected")


def pytest_collection_modifyitems(config, items) -> None:
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("db_kind") if callspec else None
        other = {"sqlite": "postgresql_only", "postgresql": "sqlite_only"}.get(kind)
        (drop if other and item.get_closest_marker(other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole run, stopped at the end: one
    per xdist worker (a session fixture runs in each), in its own directory and on its own port.

    Without server binaries the PostgreSQL variants are skipped, except in CI (CI=true),
    where that and a server that will not start are failures.
    """
    from tests.pgserver import PostgresServer, find_bindir

    in_ci = os.environ.get("CI", "").lower() in ("true", "1")
    bindir = find_bindir()
    if bindir is None:
        why = "no PostgreSQL server binaries (apt-get install postgresql)"
        if in_ci:
            pytest.fail(f"{why}: CI must run the suite on PostgreSQL too", pytrace=False)
        pytest.skip(why)
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as err:
        server.stop()
        pytest.fail(f"PostgreSQL did not start from {bindir}: {err}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request) -> str:
    return request.param


@pytest.fixture
def db_path(db_kind, tmp_path, request):
    """The test's own empty database: a SQLite file path, or a PostgreSQL URL (a new schema:
    the product creates its tables there by running its migrations, as on a new server).
    """
    if db_kind == "sqlite":
        yield tmp_path / "workflow.db"
        return
    server = request.getfixturevalue("postgres")
    name = server.create_schema()
    yield server.url(schema=name)
    server.drop_schema(name)


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
    stall_after: 7d               # no due date: it stalls only by a stall_after of its own
"""


@pytest.fixture
def small(run, tmp_path) -> Runner:
    """A runner with SMALL_PLAN loaded on 1 April 2024 08:00 (+07:00)."""
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now="2024-04-01T08:00:00+07:00")
    return run
