"""The database as a file and as a URL: read-only archives, unsupported kinds, failed copies,
and commands racing an upgrade."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import DEFAULT_NOW, ROOT, SMALL_PLAN, write_plan

READERS = [["audit", "verify", "--json"], ["plans", "--json"], ["tasks", "--json"],
           ["show", "a", "--json"], ["history", "--json"], ["summary", "--json"],
           ["escalations", "--json"], ["members", "list", "--json"]]


def _without_write_rights(*args: str, db) -> subprocess.CompletedProcess:
    """Runs workflow as a user that may write only what the file modes allow.

    Root may write a 0444 file, so as root it runs in a user namespace of its own
    (``unshare --user``): the same account without its capabilities, bound by the modes
    like anyone else, which is what a read-only mount or an archived 0444 copy means.
    """
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None or subprocess.run(
                ["unshare", "--user", "true"], capture_output=True).returncode != 0:
            pytest.skip("root, and no user namespace to drop the right to write")
        prefix = ["unshare", "--user"]
    env = {**os.environ, "WORKFLOW_DB": str(db), "WORKFLOW_NOW": DEFAULT_NOW}
    return subprocess.run([*prefix, sys.executable, str(ROOT / "cli.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def archive(small, db_path, tmp_path):
    """The small plan, a few moves in, copied into an archive file on its own."""
    small.ok("start", "a", "--as", "so-tai-chinh")
    small.ok("block", "c", "--as", "so-noi-vu", "--note", "Thiếu hồ sơ")
    (tmp_path / "archive").mkdir()
    path = tmp_path / "archive" / "small.db"
    small.ok("db", "copy", "--from", db_path, "--to", path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["small.db"]
    yield path
    path.parent.chmod(0o755)


@pytest.mark.parametrize("where", ["read-only folder", "read-only file"])
def test_a_read_only_database_can_be_read(small, archive, where):
    expected = [small.ok(*args).out for args in READERS]  # from the original database
    archive.chmod(0o444)
    if where == "read-only folder":
        archive.parent.chmod(0o555)
    for args, out in zip(READERS, expected, strict=True):
        r = _without_write_rights(*args, db=archive)
        assert (r.returncode, r.stderr) == (0, ""), args
        assert r.stdout == out
    r = _without_write_rights("report", "a", "--as", "so-tai-chinh", "--note", "Xong",
                              db=archive)
    assert r.returncode == 1
    assert r.stderr == (f"Error: the database {archive} is read-only (its file or its folder "
                        "cannot be written): reading works, changes do not; nothing was "
                        "written\n")
    if where == "read-only folder":
        assert sorted(p.name for p in archive.parent.iterdir()) == ["small.db"]


@pytest.mark.sqlite_only  # the URL is the point, not the test's database
@pytest.mark.parametrize("url", ["mysql://user@localhost/workflow",
                                 "mssql+pyodbc://user@dsn", "postgresql+psycopg2://u@h/db",
                                 "sqlite+aiosqlite:///x.db", "oracle://u@h/db"])
def test_databases_workflow_does_not_support_are_usage_errors(run, url):
    r = run("tasks", env={"WORKFLOW_DB": url})
    assert r.code == 2
    assert r.error.startswith(f"Error: workflow does not work with {url.split(':')[0]!r} "
                              "databases")
    assert "Traceback" not in r.err


def test_a_failed_copy_leaves_no_new_database_behind(small, db_path, tmp_path):
    target = tmp_path / "new" / "folder" / "copy.db"
    r = small("db", "copy", "--from", db_path, "--to", target, "--plan", "nope")
    assert r.code == 5 and r.error.startswith("Error: no plan 'nope' in ")
    assert not (tmp_path / "new").exists()


@pytest.mark.sqlite_only
def test_a_failed_copy_into_an_existing_database_leaves_it(small, db_path, tmp_path):
    target = tmp_path / "copy.db"
    small.ok("db", "copy", "--from", db_path, "--to", target)
    r = small("db", "copy", "--from", db_path, "--to", target)
    assert r.code == 6
    assert small.ok("plans", "--json", env={"WORKFLOW_DB": str(target)}).json[0]["id"] == "small"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("every", ["99999999w", "9999999999999999999999d", "367d", "53w"])
def test_watch_interval_beyond_a_year_is_a_usage_error(small, every):
    r = small("watch", "--every", every)
    assert (r.code, r.error) == (2, f"Error: --every {every!r}: at most a year (366d); e.g. 15m")


def test_a_move_racing_an_upgrade_that_removes_its_task_is_not_found(small, db_path, tmp_path):
    """The move was judged on task a; then an upgrade removed a; the move writes nothing."""
    from workflow import clock, engine
    from workflow.errors import NotFoundError
    from workflow.machine import Move, fire
    from workflow.store import Store

    store = Store(str(db_path))
    with store.read() as conn:
        plan = engine.select_plan(conn, None)
        judged = engine.find_task(conn, plan, "a")
    without_a = SMALL_PLAN.replace("    depends_on: [a]\n", "")
    without_a = without_a[:without_a.index("  a:\n")] + without_a[without_a.index("  b:\n"):]
    small.ok("load", write_plan(tmp_path, without_a, "v2.yaml"), "--upgrade")
    before = small.ok("history", "--json").json
    m = Move(task="a", state=judged.state, trigger="start", actor="so-tai-chinh",
             lead="so-tai-chinh", support=("ttyt",), approver="so-y-te", coordinator="so-y-te",
             issuer="ubnd-tinh", note=None)
    with pytest.raises(NotFoundError) as caught:
        engine._commit_move(store, plan, judged, m, fire(m), clock.now())
    assert caught.value.exit_code == 5
    assert str(caught.value) == ("a was removed from plan small while you moved it (the plan "
                                 "was upgraded); nothing was written. Check with: workflow tasks")
    store.dispose()
    assert small.ok("history", "--json").json == before
    assert small.ok("audit", "verify").code == 0


def test_a_writable_database_in_a_closed_folder_stays_writable(small, archive):
    """Files a team may write in a folder it may not: SQLite finds its -wal and -shm there."""
    for suffix in ("-wal", "-shm"):
        archive.with_name(archive.name + suffix).touch()
    archive.parent.chmod(0o555)
    r = _without_write_rights("report", "a", "--as", "so-tai-chinh", "--note", "Xong",
                              db=archive)
    assert r.returncode == 0, r.stderr
    r = _without_write_rights("audit", "verify", db=archive)
    assert r.returncode == 0 and r.stdout.startswith("ok  small: 5 events verified")
