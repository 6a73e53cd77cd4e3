"""A move is judged and written in one transaction under the plan's lock (issue 11): an
upgrade or a membership change racing it lands wholly before or wholly after it.

Real processes, released at the same instant (``tests.test_store.RACER``), several trials,
on SQLite and on PostgreSQL. Before the fix a move was judged in one transaction and written
in another: a start racing an upgrade that gave the task an unapproved dependency left it
in progress with the dependency open, and a start racing ``members remove`` was written after
the person's removal.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import write_plan
from tests.test_members import login_role
from tests.test_store import RACER, env_for, error_lines

TRIALS = 3
PLAN = """\
id: {plan}
title: "Kế hoạch thử cuộc đua"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {{name: "UBND tỉnh"}}
  so-y-te: {{name: "Sở Y tế"}}
  so-tai-chinh: {{name: "Sở Tài chính"}}
tasks:
  g:
    title: "Việc phải xong trước"
    lead: so-y-te
  a:
    title: "Việc đang đua"
    lead: so-tai-chinh
"""
UPGRADED = PLAN + "    depends_on: [g]\n"


def race(commands: list[tuple[list[str], dict]], tmp_path, trial: int) -> list[tuple]:
    """Runs each (args, env) in its own process; all start the command at once."""
    go = tmp_path / f"go-{trial}"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, go, *args], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args, env in commands]
    try:
        for p in procs:
            assert p.stdout.readline() == "ready\n"
        go.touch()
        return [(p.wait(timeout=120), *p.communicate(timeout=120)) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def one_line(code: int, err: str) -> str:
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == (1 if code else 0), err
    return lines[0] if lines else ""


def test_a_start_racing_an_upgrade_never_leaves_a_dependency_open(run, db_path, tmp_path):
    for trial in range(TRIALS):
        plan = f"race-{trial}"
        run.ok("load", write_plan(tmp_path, PLAN.format(plan=plan), f"{plan}.yaml"))
        upgraded = write_plan(tmp_path, UPGRADED.format(plan=plan), f"{plan}-up.yaml")
        env = env_for(db_path, WORKFLOW_PLAN=plan)
        (start, _o1, err1), (load, _o2, err2) = race(
            [(["start", "a", "--as", "so-tai-chinh"], env),
             (["load", str(upgraded), "--upgrade"], env)], tmp_path, trial)
        # Either the start went first (the upgrade is refused: a is in progress and may not
        # gain an open dependency) or the upgrade did (the start is refused: g is open).
        assert (start, load) in ((0, 6), (4, 0)), (start, err1, load, err2)
        if start:
            assert one_line(start, err1) == ("Error: a cannot start: g is assigned (must be "
                                             "approved first)")
        else:
            assert re.fullmatch(r"Error: cannot upgrade plan race-\d: a is in_progress; it "
                                r"cannot gain dependency g, which is not approved; nothing "
                                r"was written", one_line(load, err2))
        shown = run.ok("show", "a", "--plan", plan, "--json").json
        open_deps = [d for d in shown["dependencies"] if d["state"] != "approved"]
        assert shown["state"] == "assigned" or not open_deps, shown
        assert run.ok("audit", "verify", "--plan", plan).code == 0


@pytest.fixture
def people(db_kind, db_path, run, request):
    """``people("nguyen")``: the environment of a process run by that person."""
    if db_kind == "sqlite":
        return lambda name, **extra: env_for(db_path, WORKFLOW_PERSON=name, **extra)
    server = request.getfixturevalue("postgres")
    schema = re.search(r"search_path%3D(\w+)", str(db_path)).group(1)
    urls: dict[str, str] = {}

    def env(name: str, **extra: str) -> dict[str, str]:
        if name not in urls:
            urls[name] = login_role(server, schema, name)
        return env_for(urls[name], **extra)

    return env


def test_a_start_racing_members_remove_is_written_before_the_removal_or_refused(
        run, tmp_path, people):
    for trial in range(TRIALS):
        plan = f"race-{trial}"
        run.ok("load", write_plan(tmp_path, PLAN.format(plan=plan), f"{plan}.yaml"))
        nguyen, tran = people("nguyen", WORKFLOW_PLAN=plan), people("tran", WORKFLOW_PLAN=plan)
        run.ok("members", "add", "nguyen", "so-y-te", "--plan", plan, env=nguyen)
        run.ok("members", "add", "tran", "so-tai-chinh", "--plan", plan, env=nguyen)
        (start, _o1, err1), (remove, _o2, err2) = race(
            [(["start", "a", "--as", "so-tai-chinh"], tran),
             (["members", "remove", "tran", "so-tai-chinh"], nguyen)], tmp_path, trial)
        assert remove == 0, err2
        assert start in (0, 4), err1
        if start:
            assert one_line(start, err1).startswith(
                f"Error: tran may not act for so-tai-chinh in plan {plan}: tran is not a "
                "member of any of its agencies")
        events = run.ok("history", "--plan", plan, "--json").json
        kinds = [e["event"] for e in events]
        if start == 0:  # the move committed while tran was still a member
            assert kinds.index("start") < kinds.index("member_removed"), kinds
        else:
            assert "start" not in kinds, kinds
        assert run.ok("audit", "verify", "--plan", plan).code == 0
