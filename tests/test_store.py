"""Storage on SQLite and PostgreSQL: schema revisions, many processes at once, crashes, copying.

Every test taking ``db_path`` (or ``run``) runs on both databases (tests/conftest.py). Racing
and crashing processes are real ones: ``sys.executable`` running the CLI's ``main``.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from tests.conftest import ROOT, SMALL_PLAN, Runner, write_plan
from workflow.errors import WorkflowError
from workflow.store import models, schema
from workflow.store.db import Store, database_url
from workflow.store.migrations import HEAD

NOW = "2024-04-02T09:00:00+07:00"
MOVES = ("start", "report", "approve", "return", "block", "unblock")


def raw_engine(db):
    """A plain SQLAlchemy engine on the test's database (no workflow checks)."""
    return create_engine(database_url(str(db)), poolclass=NullPool)


def scalar(db, sql: str):
    engine = raw_engine(db)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def env_for(db, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    return {**env, "WORKFLOW_DB": str(db), "WORKFLOW_NOW": NOW,
            "WORKFLOW_LOG_LEVEL": "warning", **extra}


def error_lines(stderr: str) -> list[str]:
    """stderr without structured log records."""
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("{")]


# --------------------------------------------------------------------------- revisions


def test_head_is_the_newest_migration():
    from alembic.script import ScriptDirectory
    script = ScriptDirectory(str(schema.MIGRATIONS))
    assert script.get_current_head() == HEAD
    assert [s.revision for s in script.walk_revisions()][-1] == schema.FIRST


def test_migrations_create_exactly_what_the_models_describe(db_path):
    """A column added to workflow/store/models.py without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    Store(str(db_path), create=True).dispose()
    engine = raw_engine(db_path)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "version_table": schema.VERSION_TABLE, "compare_type": True})
            diffs = compare_metadata(context, models.SQLModel.metadata)
            assert schema.state(conn) == schema.State("current", HEAD)
    finally:
        engine.dispose()
    assert diffs == []


def _database_at(db_path, revision: str, tmp_path, run: Runner) -> dict:
    """A database at an older ``revision`` holding a plan with history, as an older workflow
    left it; returns what the plan looked like (tasks and the history's head)."""
    source = tmp_path / "source.db"
    src = {"WORKFLOW_DB": str(source)}
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), env=src, now="2024-04-01T08:00:00+07:00")
    run.ok("start", "a", "--as", "so-tai-chinh", env=src)
    run.ok("block", "c", "--as", "so-noi-vu", "--note", "Thiếu hồ sơ", env=src)
    before = {"tasks": run.ok("tasks", "--json", env=src).json,
              "head": run.ok("audit", "verify", "--json", env=src).json[0]["head"]}
    target, origin = raw_engine(db_path), raw_engine(source)
    try:
        with target.begin() as conn:
            schema.migrate(conn, {"legacy": schema.FIRST, "legacy-full": HEAD}.get(revision,
                                                                                   revision))
        with origin.connect() as s, target.begin() as d:
            insp = inspect(d)
            for table in SQLModel.metadata.sorted_tables:
                if not insp.has_table(table.name):
                    continue
                old = Table(table.name, MetaData(), autoload_with=d)
                rows = [{k: v for k, v in r._mapping.items() if k in old.c}
                        for r in s.execute(select(table))]
                if rows:
                    d.execute(old.insert(), rows)
            if d.dialect.name == "postgresql":  # rows came with their ids: move sequences on
                for table, column in (("wf_task", "pk"), ("wf_event", "id"),
                                      ("wf_escalation", "id")):
                    d.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                                   f" (SELECT max({column}) FROM {table}))"))
            if revision.startswith("legacy"):  # made before revisions: wf_meta only
                d.execute(text(f"DROP TABLE {schema.VERSION_TABLE}"))
            if revision == "legacy-full":  # ... by a later one, with today's tables
                d.execute(text("CREATE TABLE wf_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"))
                d.execute(text("INSERT INTO wf_meta VALUES ('schema_version', '1')"))
    finally:
        target.dispose()
        origin.dispose()
    return before


@pytest.mark.parametrize("revision", ["0001", "0003", "legacy", "legacy-full"])
def test_older_schema_is_refused_until_db_upgrade(run, db_path, tmp_path, revision):
    """Revision 0001; or no revision: the first release's tables, or a later pre-revision
    workflow's (wf_meta says version 1 but some of 0002 is already there)."""
    before = _database_at(db_path, revision, tmp_path, run)
    described = (f"revision {revision}" if revision[0].isdigit()
                 else "version 1, from before revisions")
    for args in (["tasks"], ["start", "a", "--as", "so-tai-chinh"],
                 ["load", write_plan(tmp_path, SMALL_PLAN)]):
        r = run(*args)
        assert (r.code, r.error) == (8, f"Error: the database's schema ({described}) is older "
                                        f"than this workflow's (revision {HEAD}); run: "
                                        "workflow db upgrade (back up the database first)")
    r = run.ok("db", "upgrade", "--json")
    assert (r.json["status"], r.json["revision"]) == ("upgraded", HEAD)
    assert run.ok("db", "upgrade", "--json").json["status"] == "current"
    assert scalar(db_path, f"SELECT version_num FROM {schema.VERSION_TABLE}") == HEAD
    engine = raw_engine(db_path)
    with engine.connect() as conn:
        assert not inspect(conn).has_table("wf_meta")
    engine.dispose()
    # Nothing was lost or changed: the same tasks, the same verified history; work goes on.
    # Only the deadline words, which no older database kept, wait for `load --upgrade`.
    tasks = run.ok("tasks", "--json").json
    kept = revision == "legacy-full"  # made with today's tables: the words are there
    assert tasks == [{**t, "due_text": t["due_text"] if kept else None} for t in before["tasks"]]
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), "--upgrade")
    assert run.ok("tasks", "--json").json == before["tasks"]
    assert run.ok("audit", "verify", "--json").json[0]["head"] == before["head"]
    run.ok("report", "a", "--as", "so-tai-chinh", "--note", "Đã xong")
    run.ok("unblock", "c", "--as", "so-y-te", "--note", "Đã bổ sung")
    assert run.ok("audit", "verify", "--json").json[0]["events"] == 7


def test_newer_schema_is_refused(small, db_path):
    engine = raw_engine(db_path)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    expected = ("Error: the database's schema (revision 9999) is newer than this workflow "
                f"knows (revision {HEAD}); upgrade workflow to use it")
    for args in (["tasks"], ["db", "upgrade"], ["start", "a", "--as", "so-tai-chinh"]):
        r = small(*args)
        assert (r.code, r.error) == (8, expected)
        assert "Traceback" not in r.err
    assert scalar(db_path, "SELECT count(*) FROM wf_event") == 1


def test_db_upgrade_on_an_empty_or_missing_database(run, db_path, db_kind, tmp_path):
    r = run("tasks")
    assert r.code == 5
    if db_kind == "sqlite":
        r = run("db", "upgrade")
        assert (r.code, r.error) == (5, f"Error: no database at {db_path}; nothing to upgrade")
        run.ok("load", write_plan(tmp_path, SMALL_PLAN))
    else:
        assert r.error.startswith("Error: the database postgresql+psycopg://workflow@")
        assert r.error.endswith("holds no workflow data; load a plan first: workflow load FILE")
        r = run.ok("db", "upgrade", "--json")
        assert (r.json["status"], r.json["revision"]) == ("created", HEAD)
        assert run.ok("plans", "--json").json == []
    assert run.ok("db", "upgrade").out.endswith(f"already at revision {HEAD}; nothing to do\n")


# --------------------------------------------------------------------------- the history


@pytest.mark.postgresql_only
def test_postgresql_refuses_changing_the_history(small, db_path):
    engine = raw_engine(db_path)
    try:
        for stmt in ("UPDATE wf_event SET note = 'x'", "DELETE FROM wf_event",
                     "TRUNCATE wf_event"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(stmt))
    finally:
        engine.dispose()
    assert small.ok("audit", "verify", "--json").json[0]["events"] == 1


@pytest.mark.postgresql_only
def test_postgresql_audit_catches_an_event_altered_behind_the_triggers(small, db_path):
    small.ok("start", "a", "--as", "so-tai-chinh")
    engine = raw_engine(db_path)
    with engine.begin() as conn:  # the tables' owner can switch the trigger off: verify sees it
        conn.execute(text("ALTER TABLE wf_event DISABLE TRIGGER wf_event_no_change"))
        conn.execute(text("UPDATE wf_event SET actor = 'so-y-te' WHERE seq = 2"))
        conn.execute(text("ALTER TABLE wf_event ENABLE TRIGGER wf_event_no_change"))
    engine.dispose()
    r = small("audit", "verify")
    assert (r.code, r.error) == (7, "Error: plan small: event seq 2 (start on a): its content "
                                    "does not match its hash (the event was altered)")


def test_times_round_trip_exactly(small, db_path):
    """Microseconds and UTC survive the database, so hashes recompute (any server TimeZone)."""
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-02T09:00:00.123456+07:00")
    event = small.ok("history", "a", "--json").json[-1]
    assert event["at"] == "2024-04-02T09:00:00.123456+07:00"
    assert small.ok("audit", "verify").code == 0


# --------------------------------------------------------------------------- races

# A racer imports everything, says "ready", waits for the go (a file appearing), then runs
# one command: every racer reaches the database within a few milliseconds of the others.
RACER = f"""
import os, sys, time
sys.path.insert(0, {str(ROOT)!r})
import cli, workflow.ops.move, workflow.store.db, workflow.ops.transfer  # noqa
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
sys.exit(cli.main(sys.argv[2:]))
"""


def race(commands: list[list[str]], env: dict, tmp_path) -> list[tuple[int, str, str]]:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, go, *map(str, c)], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in commands]
    try:
        for p in procs:
            assert p.stdout.readline() == "ready\n"
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            results.append((p.returncode, out, err))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def test_ten_processes_move_one_task_exactly_one_wins(small, db_path, tmp_path):
    results = race([["start", "a", "--as", "so-tai-chinh"]] * 10, env_for(db_path), tmp_path)
    codes = sorted(code for code, _out, _err in results)
    assert codes.count(0) == 1, results
    assert set(codes) <= {0, 4, 6}, results
    for code, _out, err in results:
        assert "Traceback" not in err
        if code:
            lines = error_lines(err)
            assert len(lines) == 1, err
            assert re.fullmatch(r"Error: (a changed while you moved it: it was assigned, it is "
                                r"now in_progress .*|a cannot start: it is in_progress.*)",
                                lines[0]), lines[0]
    history = small.ok("history", "a", "--json").json
    assert [e["event"] for e in history] == ["start"]
    assert small.ok("audit", "verify", "--json").json[0]["events"] == 2


EIGHT = """\
id: eight
title: "Tám việc"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
tasks:
""" + "".join(f"  t{i}: {{title: \"Việc {i}\", lead: so-tai-chinh}}\n" for i in range(1, 9))


def test_eight_processes_on_eight_tasks_all_succeed(run, db_path, tmp_path):
    run.ok("load", write_plan(tmp_path, EIGHT))
    results = race([["start", f"t{i}", "--as", "so-tai-chinh"] for i in range(1, 9)],
                   env_for(db_path), tmp_path)
    assert [code for code, _o, _e in results] == [0] * 8, results
    events = run.ok("history", "--json").json
    assert sorted(e["task"] for e in events[1:]) == [f"t{i}" for i in range(1, 9)]
    assert [e["seq"] for e in events] == list(range(1, 10))
    assert run.ok("audit", "verify").code == 0


def test_first_use_by_many_processes_at_once_creates_the_schema_once(run, db_path, tmp_path):
    files = [write_plan(tmp_path, SMALL_PLAN.replace("id: small", f"id: p{i}"), f"p{i}.yaml")
             for i in range(4)]
    results = race([["load", f] for f in files], env_for(db_path), tmp_path)
    assert [code for code, _o, _e in results] == [0] * 4, results
    assert sorted(p["id"] for p in run.ok("plans", "--json").json) == ["p0", "p1", "p2", "p3"]
    assert scalar(db_path, f"SELECT count(*) FROM {schema.VERSION_TABLE}") == 1
    assert run.ok("audit", "verify").code == 0


def test_a_writer_held_up_too_long_gets_a_clear_conflict(small, db_path, db_kind):
    """SQLite: another process holds the write lock; PostgreSQL: another holds the plan."""
    if db_kind == "sqlite":
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        engine = raw_engine(db_path)
        holder = engine.connect()
        holder.execute(text("SELECT id FROM wf_plan FOR UPDATE"))
    try:
        started = time.monotonic()
        r = small("start", "a", "--as", "so-tai-chinh", env={"WORKFLOW_BUSY_TIMEOUT": "0.3"})
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
        if db_kind != "sqlite":
            engine.dispose()
    assert (r.code, error_lines(r.err)) == (6, [
        "Error: the database stayed busy for 0.3s (another process is writing); nothing was "
        "written. Retry, or raise WORKFLOW_BUSY_TIMEOUT"])
    assert 0.3 <= waited < 5
    assert small.ok("show", "a", "--json").json["state"] == "assigned"
    small.ok("start", "a", "--as", "so-tai-chinh")  # once the lock is gone, it goes through


@pytest.mark.postgresql_only
@pytest.mark.parametrize(("sqlstate", "code", "first"), [
    ("40001", 6, "another process changed the same rows at the same moment; nothing was "
                 "written"),
    ("40P01", 6, "this change and another one waited for each other (a deadlock)"),
    ("55P03", 6, "the database stayed busy for 10s"),
    ("53300", 8, "database error: too many connections"),
])
def test_postgresql_errors_are_translated(db_path, sqlstate, code, first):
    """What PostgreSQL says when transactions collide becomes one clear line and exit code."""
    from sqlalchemy.exc import OperationalError

    class Orig(Exception):
        pass

    orig = Orig("too many connections" if sqlstate == "53300" else "collision")
    orig.sqlstate = sqlstate
    store = Store(str(db_path), create=True)
    with pytest.raises(WorkflowError) as caught, store._translate():
        raise OperationalError("UPDATE wf_task ...", {}, orig)
    store.dispose()
    assert caught.value.exit_code == code
    assert str(caught.value).startswith(first)


def test_busy_timeout_must_be_a_number(small):
    r = small("tasks", env={"WORKFLOW_BUSY_TIMEOUT": "soon"})
    assert (r.code, r.error) == (2, "Error: WORKFLOW_BUSY_TIMEOUT='soon' is not a number of "
                                    "seconds between 0 and 3600")


# --------------------------------------------------------------------------- crashes

CRASH_PLAN = """\
id: crash
title: "Kế hoạch chịu sự cố"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
tasks:
""" + "".join(f"  k{i:02}: {{title: \"Việc {i}\", lead: so-tai-chinh}}\n" for i in range(12))

# One process, moving every task through start, block, unblock, report, approve (a block
# raises an escalation and the unblock resolves it, in the moves' transactions) and printing
# a line after each committed move, until every task is approved.
STREAM = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import cli
from sqlalchemy import select
from workflow.store.models import TaskRow
from workflow.store.db import Store

store = Store()
while True:
    with store.read() as conn:
        rows = conn.execute(select(TaskRow.task_id, TaskRow.state, TaskRow.version)
                            .order_by(TaskRow.position)).all()
    todo = [r for r in rows if r.state != "approved"]
    if not todo:
        break
    for task, state, version in todo:
        if state == "assigned":
            args = ["start", task, "--as", "so-tai-chinh"]
        elif state == "in_progress" and version == 1:
            args = ["block", task, "--as", "so-tai-chinh", "--note", "Thiếu kinh phí"]
        elif state == "blocked":
            args = ["unblock", task, "--as", "so-y-te", "--note", "Đã bố trí"]
        elif state == "in_progress":
            args = ["report", task, "--as", "so-tai-chinh", "--note", "Đã xong"]
        else:
            args = ["approve", task, "--as", "so-y-te"]
        code = cli.main(args)
        assert code == 0, (args, code)
        print(task, args[0], flush=True)
print("done", flush=True)
"""


def _check_no_half_move(db_path, run: Runner) -> dict[str, str]:
    """Every committed move has its event and every event its move; the chain verifies."""
    verified = run("audit", "verify")
    assert verified.code == 0, verified.err
    engine = raw_engine(db_path)
    try:
        with engine.connect() as conn:
            tasks = conn.execute(text("SELECT task_id, state, version FROM wf_task")).all()
            events = conn.execute(text(
                "SELECT task_id, event, to_state FROM wf_event WHERE task_id IS NOT NULL "
                "ORDER BY seq")).all()
            open_escalations = conn.execute(text(
                "SELECT task_id FROM wf_escalation WHERE resolved_at IS NULL")).scalars().all()
    finally:
        engine.dispose()
    for task in tasks:
        moves = [e for e in events if e.task_id == task.task_id and e.event in MOVES]
        assert len(moves) == task.version, task
        assert (moves[-1].to_state if moves else "assigned") == task.state, task
    blocked = sorted(t.task_id for t in tasks if t.state == "blocked")
    assert sorted(open_escalations) == blocked
    return {t.task_id: t.state for t in tasks}


def test_sigkill_mid_stream_loses_no_committed_move_and_leaves_no_half_move(run, db_path,
                                                                           tmp_path):
    run.ok("load", write_plan(tmp_path, CRASH_PLAN))
    env = env_for(db_path)
    # Each run is killed after 3, 8 or 12 of its moves, a few milliseconds into the next one.
    for after, delay in ((3, 0.004), (8, 0.013), (12, 0.027)):
        proc = subprocess.Popen([sys.executable, "-c", STREAM], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(after):
                assert proc.stdout.readline().strip(), proc.stderr.read()
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, out
        _check_no_half_move(db_path, run)
    # The stream, restarted, finishes the plan from where the database says it is.
    proc = subprocess.run([sys.executable, "-c", STREAM], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.endswith("done\n"), proc.stderr
    states = _check_no_half_move(db_path, run)
    assert set(states.values()) == {"approved"}
    assert run.ok("audit", "verify", "--json").json[0]["events"] == 1 + 12 * 7


# --------------------------------------------------------------------------- copying


def test_db_copy_moves_plans_and_history_and_work_goes_on(run, db_path, tmp_path):
    """From a team's SQLite file into the test's database (PostgreSQL or SQLite), and back."""
    source = tmp_path / "team.db"
    src = {"WORKFLOW_DB": str(source)}
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), env=src, now="2024-04-01T08:00:00+07:00")
    run.ok("load", write_plan(tmp_path, EIGHT, "eight.yaml"), env=src)
    for args in (["start", "a", "--as", "so-tai-chinh"],
                 ["report", "a", "--as", "so-tai-chinh", "--note", "Đã xong"],
                 ["approve", "a", "--as", "so-y-te"],
                 ["block", "c", "--as", "so-noi-vu", "--note", "Thiếu hồ sơ"]):
        run.ok(*args, "--plan", "small", env=src)
    run.ok("escalate", env=src, now="2024-04-20T09:00:00+07:00")  # c's escalation climbs
    views = [["tasks", "--plan", "small", "--json"], ["history", "--plan", "small", "--json"],
             ["escalations", "--plan", "small", "--json"], ["audit", "verify", "--json"]]
    before = [run.ok(*v, env=src).json for v in views]

    r = run.ok("db", "copy", "--from", source, "--to", db_path, "--json")
    assert [c["plan"] for c in r.json] == ["eight", "small"]
    assert ({c["plan"]: (c["events"], c["head"]) for c in r.json}
            == {v["plan"]: (v["events"], v["head"]) for v in before[3]})
    assert [run.ok(*v).json for v in views] == before
    r = run("db", "copy", "--from", source, "--to", db_path, "--plan", "small")
    assert r.code == 6 and r.error.startswith("Error: plan small is already in ")
    assert r.error.endswith("; nothing was copied")
    # Work goes on in the copy: the copied escalation is resolved by the unblock.
    later = "2024-04-21T09:00:00+07:00"  # after the sweep: history never runs backwards
    r = run.ok("unblock", "c", "--as", "so-y-te", "--note", "Đã bổ sung", "--plan", "small",
               "--json", now=later)
    assert [a["action"] for a in r.json["escalations"]] == ["resolved"]
    run.ok("start", "b", "--as", "so-tai-chinh", "--plan", "small", now=later)
    assert run.ok("audit", "verify").code == 0
    # ... and back into a new SQLite file, history intact.
    back = tmp_path / "back.db"
    run.ok("db", "copy", "--from", db_path, "--to", back, "--plan", "small")
    assert (run.ok("audit", "verify", "--plan", "small", "--json", env={"WORKFLOW_DB": str(back)})
            .json == run.ok("audit", "verify", "--plan", "small", "--json").json)
