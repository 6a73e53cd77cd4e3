"""The command line as a coordinator uses it: exit codes, JSON shapes, help, the README."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from graphlib import TopologicalSorter

import pytest

from tests.conftest import ROOT, SMALL_PLAN, SON_LA, workflow_process, write_plan

COMMANDS = ["validate", "load", "plans", "tasks", "show", "start", "report", "approve",
            "return", "block", "unblock", "extend", "escalate", "escalations", "watch", "history",
            "audit verify", "summary", "db upgrade", "db copy", "db grant", "db check", "export",
            "graph"]
STATES = ["assigned", "in_progress", "reported", "approved", "blocked"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(run, command):
    r = run.ok(*command.split(), "--help")
    assert "Example: workflow" in r.out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"`workflow ([a-z]+\\\|)*{command}\b", readme), command


def test_load_is_idempotent_and_a_changed_file_is_a_conflict(run, tmp_path):
    path = write_plan(tmp_path, SMALL_PLAN)
    assert run.ok("load", path, "--json").json["status"] == "created"
    assert run.ok("load", path, "--json").json["status"] == "unchanged"
    assert len(run.ok("history", "--json").json) == 1
    changed = write_plan(tmp_path, SMALL_PLAN.replace("due: 2024-04-20", "due: 2024-04-25"),
                         "changed.yaml")
    r = run("load", changed)
    assert r.code == 6
    assert r.error.startswith("Error: plan small is already loaded from a different definition")
    assert "--upgrade" in r.error
    assert run.ok("show", "a", "--json").json["due"] == "2024-04-20"
    r = run.ok("load", changed, "--upgrade", "--json")
    assert r.json["status"] == "upgraded" and r.json["changes"]["changed"] == ["a"]
    assert run.ok("show", "a", "--json").json["due"] == "2024-04-25"
    assert run.ok("history", "--json").json[-1]["event"] == "upgrade"
    assert run.ok("audit", "verify").code == 0


def test_upgrade_refuses_removing_a_task_with_history(small, tmp_path):
    small.ok("start", "a", "--as", "so-tai-chinh")
    without_a = SMALL_PLAN.replace("    depends_on: [a]\n", "")
    without_a = without_a[:without_a.index("  a:\n")] + without_a[without_a.index("  b:\n"):]
    r = small("load", write_plan(tmp_path, without_a, "v2.yaml"), "--upgrade")
    assert (r.code, r.error) == (6, "Error: cannot upgrade plan small: a has history and cannot "
                                    "be removed; nothing was written")


def test_plans_json_has_every_state(small):
    plans = small.ok("plans", "--json").json
    assert plans[0]["id"] == "small" and plans[0]["title"] == "Kế hoạch thử"
    assert plans[0]["counts"] == {"assigned": 4, "in_progress": 0, "reported": 0,
                                  "approved": 0, "blocked": 0}


def test_task_json_shape(small):
    t = small.ok("show", "b", "--json").json
    for key in ("id", "plan", "title", "state", "lead", "support", "approver", "due",
                "depends_on", "overdue", "escalation_level", "escalated_to", "dependencies"):
        assert key in t
    assert t["dependencies"] == [{"id": "a", "state": "assigned", "waits_for": "the task"}]
    assert (t["due"], t["overdue"], t["escalation_level"], t["escalated_to"]) == (
        "2024-05-15", False, 0, None)
    listed = small.ok("tasks", "--json").json
    assert [x["id"] for x in listed] == ["a", "b", "c", "d"]


def test_tasks_filters(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-02T08:00:00+07:00")
    small.ok("block", "c", "--as", "so-noi-vu", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    ids = lambda *a, now="2024-04-30T08:00:00+07:00": [  # noqa: E731
        t["id"] for t in small.ok("tasks", *a, "--json", now=now).json]
    assert ids("--state", "in_progress") == ["a"]
    assert ids("--blocked") == ["c"]
    assert ids("--agency", "so-noi-vu") == ["c"]  # it supports c; approving d is not taking part
    assert ids("--lead", "so-tai-chinh") == ["a", "b"]
    assert ids("--overdue") == ["a"]  # due 20/4; b is due 15/5
    assert ids("--overdue", now="2024-05-16T00:00:00+07:00") == ["a", "b"]
    assert ids("b*") == ["b"]
    r = small("tasks", "--state", "done")
    assert (r.code, r.error) == (2, "Error: unknown state 'done'; states are assigned, "
                                    "in_progress, reported, approved, blocked")


def test_history_event_shape(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now="2024-04-02T08:00:00+07:00")
    events = small.ok("history", "--json").json
    assert [e["event"] for e in events] == ["load", "start"]
    e = events[1]
    assert {k: e[k] for k in ("seq", "task", "event", "from", "to", "actor", "at", "note")} == {
        "seq": 2, "task": "a", "event": "start", "from": "assigned", "to": "in_progress",
        "actor": "so-tai-chinh", "at": "2024-04-02T08:00:00+07:00", "note": None}
    assert e["person"]
    assert small.ok("history", "b", "--json").json == []


def test_json_stdout_is_one_document_even_with_logs(small):
    r = small.ok("start", "a", "--as", "so-tai-chinh", "--json")
    assert json.loads(r.out)["to"] == "in_progress"
    log = [json.loads(line) for line in r.err.splitlines()]
    assert log[0]["event"] == "task_moved" and log[0]["trigger"] == "start"


def test_several_plans_need_plan_option(small, tmp_path):
    small.ok("load", write_plan(tmp_path, SMALL_PLAN.replace("id: small", "id: other"), "o.yaml"))
    r = small("tasks")
    assert (r.code, r.error) == (2, "Error: several plans are loaded (other, small); choose one "
                                    "with --plan ID or WORKFLOW_PLAN")
    assert small.ok("tasks", "--plan", "other", "--json").json[0]["plan"] == "other"
    assert small.ok("tasks", "--json", env={"WORKFLOW_PLAN": "small"}).json[0]["plan"] == "small"


# Typer/Click word these errors themselves (their wording changes between versions): what is
# ours is one Error line naming what was wrong and where to look, and exit 2.
COMMAND_LINE = [
    (["start"], "TASK", "(see 'workflow start --help')"),
    (["start", "a", "--bogus"], "--bogus", "(see 'workflow start --help')"),
    (["frobnicate"], "frobnicate", "(see 'workflow --help')"),
]


@pytest.mark.parametrize(("args", "names", "hint"), COMMAND_LINE)
def test_command_line_errors_are_one_line_naming_the_culprit(small, args, names, hint):
    r = small(*args)
    assert r.code == 2
    assert r.error.startswith("Error: ") and names in r.error and r.error.endswith(hint), r.err
    assert r.err.count("\n") == 1 and "Traceback" not in r.err


BAD_INPUT = [
    (["tasks"], 2, "Error: WORKFLOW_NOW='yesterday' is not an ISO 8601 time"),
    (["show", "zz"], 5, "Error: no task 'zz' in plan small"),
    (["watch", "--every", "soon"], 2, "Error: --every 'soon': write a whole number"),
]


@pytest.mark.parametrize(("args", "code", "first"), BAD_INPUT)
def test_bad_input_one_line_and_exit_code(small, args, code, first):
    env = {"WORKFLOW_NOW": "yesterday"} if args == ["tasks"] else None
    r = small(*args, env=env)
    assert r.code == code
    assert r.error.startswith(first), r.err
    assert "Traceback" not in r.err


def test_missing_database_is_not_found(run, tmp_path):
    r = run("tasks", env={"WORKFLOW_DB": str(tmp_path / "none.db")})
    assert r.code == 5 and r.error.startswith("Error: no database at")
    assert not (tmp_path / "none.db").exists()


def test_database_that_is_not_sqlite(run, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    r = run("plans", env={"WORKFLOW_DB": str(junk)})
    assert r.code == 5 and r.error == (
        f"Error: {junk} is not a workflow database (SQLite: file is not a database); "
        "point --db / WORKFLOW_DB at one")


def test_unreachable_postgres_is_one_line(run):
    r = run("plans", env={"WORKFLOW_DB": "postgresql://nobody@127.0.0.1:1/none"})
    assert r.code == 8 and r.error.startswith("Error: database error:")
    assert "Traceback" not in r.err


@pytest.mark.sqlite_only  # PostgreSQL: tests/test_store.py
def test_direct_history_update_is_refused_by_the_database(small, db_path):
    con = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE wf_event SET note = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM wf_event")


@pytest.mark.sqlite_only  # PostgreSQL: tests/test_store.py
def test_audit_verify_catches_an_altered_event(small, db_path):
    small.ok("start", "a", "--as", "so-tai-chinh")
    ok = small.ok("audit", "verify", "--json").json[0]
    assert ok["events"] == 2
    con = sqlite3.connect(db_path)
    con.execute("DROP TRIGGER wf_event_no_update")
    con.execute("UPDATE wf_event SET actor = 'so-y-te' WHERE seq = 2")
    con.commit()
    r = small("audit", "verify")
    assert r.code == 7
    assert r.error == ("Error: plan small: event seq 2 (start on a): its content does not "
                       "match its hash (the event was altered)")


def test_audit_head(small):
    head = small.ok("audit", "verify", "--json").json[0]["head"]
    small.ok("start", "a", "--as", "so-tai-chinh")
    assert small("audit", "verify", "--head", head).code == 0
    r = small("audit", "verify", "--head", "ab" * 32)
    assert r.code == 7 and "is not in the history" in r.error


def test_stale_move_is_a_conflict_and_writes_nothing(small, db_path):
    """A move judged on a task that another process then moved is refused with exit 6."""
    from workflow import clock
    from workflow.errors import ConflictError
    from workflow.ops.move import write_move
    from workflow.rules.machine import Move, fire
    from workflow.store.db import Store
    from workflow.store.lookup import find_task, select_plan

    store = Store(str(db_path))
    with store.read() as conn:
        plan = select_plan(conn, None)
        stale = find_task(conn, plan, "a")
    small.ok("start", "a", "--as", "so-tai-chinh")  # someone else gets there first
    before = len(small.ok("history", "--json").json)
    m = Move(task="a", state=stale.state, trigger="block", actor="ttyt", lead="so-tai-chinh",
             support=("ttyt",), approver="so-y-te", coordinator="so-y-te", issuer="ubnd-tinh",
             note="khó")
    new_state = fire(m)
    with pytest.raises(ConflictError, match="a changed while you moved it: it was assigned, it "
                                            "is now in_progress"), store.write() as conn:
        write_move(conn, plan, stale, m, new_state, clock.now(), "someone")
    assert len(small.ok("history", "--json").json) == before


def test_racing_processes_one_wins_history_has_one_event(small, db_path):
    procs = [subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "start", "a", "--as", "so-tai-chinh"],
        env={"WORKFLOW_DB": str(db_path), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _err in results)
    assert codes.count(0) == 1
    assert set(codes) <= {0, 4, 6}
    assert all("Traceback" not in err for _c, err in results)
    starts = [e for e in small.ok("history", "a", "--json").json if e["event"] == "start"]
    assert len(starts) == 1


def test_son_la_whole_plan_to_approval_in_dependency_order(son_la):
    run = son_la
    now = "2024-07-01T09:00:00+07:00"
    # Every concrete task: plain tasks and each district's instance of a fanned-out task.
    work = {t["id"]: t for t in run.ok("tasks", "--state", "assigned", "--json", now=now).json}
    groups = {t["id"] for t in run.ok("tasks", "--json", now=now).json if t["kind"] == "group"}
    before = len(run.ok("history", "--json").json)
    r = run("start", "dieu-chuyen-tai-san", "--as", "so-tai-chinh", now=now)
    assert r.code == 4
    assert r.error.startswith("Error: dieu-chuyen-tai-san cannot start: quyet-toan-2023 is "
                              "assigned, kiem-ke-tai-san is assigned (each must be approved")
    assert len(run.ok("history", "--json").json) == before

    def waits_on(task):  # a dependency on a fanned-out task is one on each of its instances
        return [i for d in task["depends_on"]
                for i in ([w for w in work if work[w]["parent"] == d] if d in groups else [d])]

    order = TopologicalSorter({t: waits_on(work[t]) for t in work}).static_order()
    for task_id in order:
        t = work[task_id]
        leads = t["lead"] if isinstance(t["lead"], list) else [t["lead"]]  # II.4: two leads
        run.ok("start", task_id, "--as", leads[-1], now=now)  # either joint lead may act
        run.ok("report", task_id, "--as", leads[0], "--note", "Đã hoàn thành", now=now)
        run.ok("approve", task_id, "--as", t["approver"], now=now)
    counts = run.ok("plans", "--json").json[0]["counts"]
    assert counts == {"assigned": 0, "in_progress": 0, "reported": 0,
                      "approved": len(work), "blocked": 0}
    assert {t["state"] for t in run.ok("tasks", "--json", now=now).json} == {"approved"}
    assert run.ok("audit", "verify", "--json").json[0]["events"] == before + 3 * len(work)


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    env = {"WORKFLOW_DB": str(tmp_path / "p.db")}
    assert workflow_process("load", SON_LA, env=env).returncode == 0
    r = workflow_process("approve", "quyet-toan-2023", "--as", "so-y-te", env=env)
    assert r.returncode == 4 and r.stderr.startswith("Error: quyet-toan-2023 cannot approve")
    r = workflow_process("--help", env=env)
    assert r.returncode == 0 and "Commands" in r.stdout


@pytest.mark.parametrize("state", STATES)
def test_tasks_state_filter_accepts_every_state(small, state):
    assert small("tasks", "--state", state, "--json").code == 0


@pytest.mark.sqlite_only
def test_plans_before_any_load_is_an_empty_list(run, tmp_path):
    r = run.ok("plans", "--json", env={"WORKFLOW_DB": str(tmp_path / "new.db")})
    assert r.json == []
    assert not (tmp_path / "new.db").exists()


@pytest.mark.sqlite_only
def test_audit_verify_catches_a_task_changed_behind_its_back(small, db_path):
    small.ok("start", "a", "--as", "so-tai-chinh")
    con = sqlite3.connect(db_path)
    con.execute("UPDATE wf_task SET state = 'approved' WHERE task_id = 'a'")
    con.commit()
    r = small("audit", "verify")
    assert (r.code, r.error) == (7, "Error: plan small: task a is approved (version 1) but its "
                                    "history says in_progress after 1 move(s); the task table "
                                    "was changed outside workflow")


@pytest.mark.parametrize("url", ["foo://x", "://x"])
def test_unreadable_database_urls_are_usage_errors(run, url):
    r = run("tasks", env={"WORKFLOW_DB": url})
    assert r.code == 2 and r.error.startswith("Error: ") and "Traceback" not in r.err
