"""Who may act: plan members, the bootstrap, refusals, and the history of membership changes.

A person is the OS user on SQLite (``WORKFLOW_PERSON`` stands in for other users here) and the
connected database role on PostgreSQL: there each person below is a real login role of the
test server, connected through its own URL (the ``person`` fixture).
"""

from __future__ import annotations

import re

import pytest
from psycopg import sql

from tests.conftest import SMALL_PLAN, write_plan
from tests.pgserver import DATABASE, ROLE
from workflow.store import roles
from workflow.store.db import Store

# SMALL_PLAN: coordinator so-y-te, issuer ubnd-tinh; a and b led by so-tai-chinh (support
# ttyt / so-y-te), c led by so-y-te.


@pytest.fixture
def person(run, db_kind, request):
    """``person("nguyen")``: the env that makes a command run as that person."""
    if db_kind == "sqlite":
        return lambda name: {"WORKFLOW_PERSON": name}
    server = request.getfixturevalue("postgres")
    schema = re.search(r"search_path%3D(\w+)", run.db).group(1)
    urls: dict[str, str] = {}

    def env(name: str) -> dict[str, str]:
        if name not in urls:
            urls[name] = login_role(server, schema, name)
        return {"WORKFLOW_DB": urls[name]}

    return env


def login_role(server, schema: str, name: str) -> str:
    """A login role of its own for ``name`` with a person's privileges on the schema's
    tables, as ``workflow db grant NAME --apply`` gives them (README, PostgreSQL); returns the
    URL that connects as it."""
    password = f"pw-{name}"
    with server.admin(DATABASE) as con:
        exists = con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            con.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)))
    admin = Store(server.url(schema=schema, user=server.superuser))
    try:
        with admin.write() as conn:
            roles.apply(conn, roles.grants(conn, name, "person"))
    finally:
        admin.dispose()
    return server.url(schema=schema, user=name).replace(f"//{name}@",
                                                        f"//{name}:{password}@")


def events(run) -> list[dict]:
    return run.ok("history", "--json").json


def listed(run) -> list[tuple[str, str]]:
    return [(m["person"], m["agency"]) for m in run.ok("members", "list", "--json").json]


def move(run, env, trigger, task, actor, note=None):
    args = [trigger, task, "--as", actor, "--json"] + (["--note", note] if note else [])
    return run(*args, env=env)


@pytest.fixture
def staffed(small, person):
    """SMALL_PLAN with nguyen in so-y-te (the coordinator) and tran in so-tai-chinh."""
    small.ok("members", "add", "nguyen", "so-y-te", env=person("nguyen"))
    small.ok("members", "add", "tran", "so-tai-chinh", env=person("nguyen"))
    return small


# --------------------------------------------------------------------------- open plans


def test_a_plan_without_members_is_open(small, person):
    r = small.ok("members", "list")
    assert r.out.startswith("plan small has no members: it is open, anyone may act for any "
                            "agency")
    assert "workflow members add PERSON so-y-te" in r.out
    assert small.ok("members", "list", "--json").json == []
    assert move(small, person("anyone"), "start", "a", "so-tai-chinh").code == 0
    assert move(small, person("someone-else"), "block", "a", "ttyt", "khó").code == 0


# --------------------------------------------------------------------------- bootstrap


def test_the_first_member_must_be_of_the_coordinator_or_issuer(small, person):
    before = events(small)
    r = small("members", "add", "tran", "so-tai-chinh", env=person("tran"))
    assert (r.code, r.error) == (4, "Error: plan small has no members yet: the first member "
                                    "must be added to so-y-te (the coordinator) or ubnd-tinh "
                                    "(the issuer), who then add the others: workflow members "
                                    "add tran so-y-te")
    assert r.out == ""
    assert events(small) == before and listed(small) == []

    r = small.ok("members", "add", "nguyen", "Sở Y tế", "--json", env=person("nguyen"))
    assert r.json == {"plan": "small", "person": "nguyen", "agency": "so-y-te",
                      "status": "added", "by": "nguyen", "actor": "so-y-te",
                      "seq": len(before) + 1, "members": 1, "open": False}
    assert listed(small) == [("nguyen", "so-y-te")]
    # From now on the plan is closed: a person who is no member may not act.
    r = move(small, person("tran"), "start", "a", "so-tai-chinh")
    assert r.code == 4


def test_the_issuer_may_be_bootstrapped_too(small, person):
    small.ok("members", "add", "pham", "ubnd-tinh", env=person("pham"))
    small.ok("members", "add", "tran", "so-tai-chinh", env=person("pham"))
    last = events(small)[-1]
    assert (last["event"], last["person"], last["actor"]) == ("member_added", "pham",
                                                              "ubnd-tinh")


# --------------------------------------------------------------------------- moves


def test_a_non_member_is_refused_and_nothing_is_written(staffed, person):
    before = events(staffed)
    r = move(staffed, person("tran"), "start", "c", "so-y-te")
    assert (r.code, r.error) == (4, "Error: tran may not act for so-y-te in plan small: tran "
                                    "is a member of so-tai-chinh; ask a member of so-y-te (the "
                                    "coordinator) to add you: workflow members add tran so-y-te")
    assert r.out == ""
    r = move(staffed, person("le"), "start", "a", "so-tai-chinh")
    assert (r.code, r.error) == (4, "Error: le may not act for so-tai-chinh in plan small: le "
                                    "is not a member of any of its agencies; ask a member of "
                                    "so-y-te (the coordinator) to add you: workflow members "
                                    "add le so-tai-chinh")
    assert events(staffed) == before
    assert staffed.ok("show", "c", "--json").json["state"] == "assigned"
    assert staffed.ok("show", "a", "--json").json["state"] == "assigned"


def test_members_act_for_their_agencies_and_the_rules_still_apply(staffed, person):
    assert move(staffed, person("tran"), "start", "a", "so-tai-chinh").code == 0
    # Membership lets a person speak for an agency; the move table still decides the move.
    r = move(staffed, person("nguyen"), "report", "c", "so-y-te", "xong")
    assert (r.code, r.error) == (4, "Error: c cannot report: it is assigned; from assigned it "
                                    "may start, block")


def test_a_member_of_two_agencies(staffed, person):
    tran = person("tran")
    r = move(staffed, tran, "block", "a", "ttyt", "Thiếu biên bản")
    assert r.code == 4 and "tran is a member of so-tai-chinh;" in r.error
    staffed.ok("members", "add", "tran", "ttyt", env=person("nguyen"))
    assert move(staffed, tran, "block", "a", "ttyt", "Thiếu biên bản").code == 0
    assert move(staffed, tran, "unblock", "a", "so-tai-chinh", "Đã bổ sung").code == 0
    r = move(staffed, tran, "start", "c", "so-y-te")
    assert r.error.startswith("Error: tran may not act for so-y-te in plan small: tran is a "
                              "member of so-tai-chinh, ttyt;")
    assert [m["agency"] for m in staffed.ok("members", "list", "--json").json
            if m["person"] == "tran"] == ["so-tai-chinh", "ttyt"]


# --------------------------------------------------------------------------- managing


def test_only_members_of_the_coordinator_or_issuer_manage(staffed, person):
    tran = person("tran")
    before = events(staffed)
    r = staffed("members", "add", "le", "ttyt", env=tran)
    assert (r.code, r.error) == (4, "Error: tran may not manage the members of plan small: "
                                    "only members of so-y-te (the coordinator) or ubnd-tinh "
                                    "(the issuer) may, and tran is a member of so-tai-chinh; "
                                    "ask nguyen")
    r = staffed("members", "remove", "tran", "so-tai-chinh", env=tran)
    assert r.code == 4 and "tran may not manage the members of plan small" in r.error
    r = staffed("members", "add", "tran", "so-y-te", env=person("stranger"))
    assert r.code == 4 and "stranger is not a member of any of its agencies" in r.error
    assert events(staffed) == before

    # A member of the issuer manages too; --as says for which agency.
    staffed.ok("members", "add", "pham", "ubnd-tinh", env=person("nguyen"))
    r = staffed("members", "add", "le", "ttyt", "--as", "so-y-te", env=person("pham"))
    assert (r.code, r.error) == (4, "Error: pham may not manage the members of plan small for "
                                    "so-y-te: pham is a member of ubnd-tinh")
    r = staffed("members", "add", "le", "ttyt", "--as", "ttyt", env=person("pham"))
    assert r.code == 4 and r.error.endswith("members are managed for so-y-te (the "
                                            "coordinator) or ubnd-tinh (the issuer) only")
    r = staffed.ok("members", "add", "le", "ttyt", "--json", env=person("pham"))
    assert (r.json["by"], r.json["actor"]) == ("pham", "ubnd-tinh")
    r = staffed.ok("members", "remove", "le", "ttyt", env=person("pham"))
    assert r.out == "removed le from ttyt in plan small (by pham for ubnd-tinh)\n"


def test_adding_twice_changes_nothing(staffed, person):
    before = events(staffed)
    r = staffed.ok("members", "add", "tran", "so-tai-chinh", env=person("nguyen"))
    assert r.out == "tran is already a member of so-tai-chinh in plan small; nothing changed\n"
    assert events(staffed) == before


def test_the_last_manager_cannot_be_removed_while_others_remain(staffed, person):
    nguyen = person("nguyen")
    before = events(staffed)
    r = staffed("members", "remove", "nguyen", "so-y-te", env=nguyen)
    assert (r.code, r.error) == (4, "Error: cannot remove nguyen from so-y-te: nobody else is "
                                    "a member of so-y-te (the coordinator) or ubnd-tinh (the "
                                    "issuer), so nobody could manage the 1 membership left; "
                                    "add another member first: workflow members add PERSON "
                                    "so-y-te")
    assert events(staffed) == before
    assert listed(staffed) == [("tran", "so-tai-chinh"), ("nguyen", "so-y-te")]

    staffed.ok("members", "add", "pham", "ubnd-tinh", env=nguyen)
    staffed.ok("members", "remove", "nguyen", "so-y-te", env=nguyen)
    assert move(staffed, nguyen, "start", "c", "so-y-te").code == 4
    # Removing every member opens the plan again.
    pham = person("pham")
    staffed.ok("members", "remove", "tran", "so-tai-chinh", env=pham)
    r = staffed.ok("members", "remove", "pham", "ubnd-tinh", env=pham)
    assert r.out.endswith("the plan has no members now: it is open again (anyone may act for "
                          "any agency)\n")
    assert move(staffed, nguyen, "start", "c", "so-y-te").code == 0


def test_wrong_arguments(staffed, person):
    nguyen = person("nguyen")
    before = events(staffed)
    r = staffed("members", "add", "le", "so-xay-dung", env=nguyen)
    assert r.code == 5 and r.error.startswith("Error: no agency 'so-xay-dung' in plan small")
    r = staffed("members", "remove", "le", "ttyt", env=nguyen)
    assert (r.code, r.error) == (5, "Error: le is not a member of ttyt in plan small; its "
                                    "members: none")
    for bad in ("", "   ", "a\tb", "x" * 200):
        r = staffed("members", "add", bad, "ttyt", env=nguyen)
        assert r.code == 2 and r.error.startswith("Error: PERSON"), (bad, r.err)
    r = staffed("members", "add", "le", "ttyt", "--plan", "nope", env=nguyen)
    assert r.code == 5
    r = staffed("members", "list", "--agency", "nope")
    assert r.code == 5
    assert events(staffed) == before


def test_list_one_agency(staffed):
    r = staffed.ok("members", "list", "--agency", "so-y-te", "--json")
    assert [(m["person"], m["agency"], m["role"], m["added_by"]) for m in r.json] == [
        ("nguyen", "so-y-te", "coordinator", "nguyen")]
    assert r.json[0]["added_at"] == "2024-04-02T09:00:00+07:00"
    text = staffed.ok("members", "list").out
    assert text.splitlines()[0] == ("plan small: 2 memberships; a move's --as must name an "
                                    "agency of the person making it")
    assert "nguyen  so-y-te (the coordinator)" in text
    r = staffed.ok("members", "list", "--agency", "ttyt")
    assert r.out.endswith("  ttyt has no members\n")


# --------------------------------------------------------------------------- history


def test_history_records_person_and_agency(staffed, person):
    assert move(staffed, person("tran"), "start", "a", "so-tai-chinh").code == 0
    staffed.ok("members", "remove", "tran", "so-tai-chinh", env=person("nguyen"))
    rows = events(staffed)
    kinds = [(e["event"], e["task"], e["person"], e["actor"], e["note"]) for e in rows[1:]]
    assert kinds == [
        ("member_added", None, "nguyen", "so-y-te",
         "added nguyen to so-y-te: the plan's first member (only members of its agencies may "
         "act for them from now on)"),
        ("member_added", None, "nguyen", "so-y-te", "added tran to so-tai-chinh"),
        ("start", "a", "tran", "so-tai-chinh", None),
        ("member_removed", None, "nguyen", "so-y-te", "removed tran from so-tai-chinh"),
    ]
    only = staffed.ok("history", "--event", "member_added,member_removed", "--json").json
    assert [e["event"] for e in only] == ["member_added", "member_added", "member_removed"]
    text = staffed.ok("history").out
    assert ("member_added         by nguyen for so-y-te\n"
            "        added tran to so-tai-chinh\n") in text
    csv_text = staffed.ok("history", "--format", "csv").out
    assert ",member_removed,,,so-y-te,nguyen,removed tran from so-tai-chinh," in csv_text
    r = staffed.ok("audit", "verify", "--json")
    assert r.json[0]["ok"] is True and r.json[0]["events"] == len(rows)
    # The plan as of any moment replays past membership events.
    assert staffed.ok("show", "a", "--at", "2024-04-02T09:00", "--json").json["state"] == (
        "in_progress")
    assert staffed.ok("summary", "--at", "2024-04-02").code == 0


def test_members_travel_with_db_copy(staffed, tmp_path):
    target = tmp_path / "copy.db"
    staffed.ok("db", "copy", "--from", staffed.db, "--to", str(target))
    r = staffed.ok("members", "list", "--json", "--db", str(target))
    assert [(m["person"], m["agency"]) for m in r.json] == [("tran", "so-tai-chinh"),
                                                            ("nguyen", "so-y-te")]
    assert staffed.ok("audit", "verify", "--db", str(target)).code == 0


# --------------------------------------------------------------------------- who the person is


@pytest.mark.sqlite_only
def test_sqlite_person_is_the_os_user_unless_workflow_person(small):
    import getpass
    small.ok("members", "add", getpass.getuser(), "so-y-te")
    assert events(small)[-1]["person"] == getpass.getuser()
    r = small("start", "c", "--as", "so-y-te", env={"WORKFLOW_PERSON": "mallory"})
    assert r.code == 4 and r.error.startswith("Error: mallory may not act for so-y-te")
    assert small("start", "c", "--as", "so-y-te").code == 0


@pytest.mark.postgresql_only
def test_postgresql_person_is_the_database_role(run, tmp_path, person, postgres):
    """Two real login roles: the history records each role, and WORKFLOW_PERSON cannot make
    one pass for the other."""
    # The owner role loads (it creates the tables); people's roles act through their grants.
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now="2024-04-01T08:00:00+07:00")
    nguyen, tran = person("nguyen"), person("tran")  # db grant: once the tables are there
    r = run.ok("members", "add", "nguyen", "so-y-te", "--json", env=nguyen)
    assert r.json["by"] == "nguyen"
    run.ok("members", "add", "tran", "so-tai-chinh", env=nguyen)
    assert move(run, tran, "start", "a", "so-tai-chinh").code == 0
    rows = events(run)
    assert [(e["event"], e["person"]) for e in rows] == [
        ("load", ROLE), ("member_added", "nguyen"), ("member_added", "nguyen"),
        ("start", "tran")]

    before = len(rows)
    r = run("start", "c", "--as", "so-y-te", env={**tran, "WORKFLOW_PERSON": "nguyen"})
    assert (r.code, r.error) == (2, "Error: WORKFLOW_PERSON='nguyen', but on PostgreSQL the "
                                    "person is the database role you connect as (tran); "
                                    "connect as nguyen's own role instead, or unset "
                                    "WORKFLOW_PERSON")
    r = run("members", "add", "tran", "so-y-te", env={**tran, "WORKFLOW_PERSON": "nguyen"})
    assert r.code == 2
    assert len(events(run)) == before
    # The owner role is a person like any other: not a member, so refused.
    r = move(run, {}, "start", "c", "so-y-te")
    assert r.code == 4 and r.error.startswith(f"Error: {ROLE} may not act for so-y-te")
    # Naming the role you are is fine.
    assert move(run, {**nguyen, "WORKFLOW_PERSON": "nguyen"}, "start", "c", "so-y-te").code == 0
    assert run.ok("audit", "verify").code == 0
