"""Audit: the hash chain and its verification, append-only storage, who/when/why, the plan as
of any moment (rebuilt from history), history queries and export.

Tamper tests change the database behind workflow's back (SQLAlchemy on the same file or
database), then expect `audit verify` to exit 7 with a first line naming the right event.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import SMALL_PLAN, write_plan
from workflow import clock, logs
from workflow.errors import ConflictError, MoveRefusedError
from workflow.ops.extend import extend
from workflow.ops.load import load_plan
from workflow.ops.move import move
from workflow.ops.sweep import sweep
from workflow.plan.definitions import parse
from workflow.rules.machine import TRIGGERS
from workflow.store.audit import GENESIS, event_hash
from workflow.store.db import Store, database_url
from workflow.store.lookup import find_task, select_plan
from workflow.store.models import EventRow, PlanRow
from workflow.views import asof, history
from workflow.views import queries as reports

EVENT, PLAN = EventRow.__table__, PlanRow.__table__
T0 = "2024-04-01T08:00:00+07:00"


def day(d: int, hour: int = 9) -> str:
    """A moment in April 2024 (d may run past 30: May, June...), Hà Nội time."""
    moment = datetime.fromisoformat("2024-04-01T00:00:00+07:00") + timedelta(days=d - 1,
                                                                           hours=hour)
    return moment.isoformat()


# --------------------------------------------------------------------------- helpers


def engine_logs() -> io.StringIO:
    """Tests that call the engine directly log here: the CLI pointed structlog at a captured
    stderr that pytest may have closed since."""
    stream = io.StringIO()
    logs.configure("warning", stream)
    return stream


class Db:
    """Direct access to the database under workflow, as someone with the file would have."""

    def __init__(self, db: str) -> None:
        self.engine = create_engine(database_url(db))
        self.dialect = self.engine.dialect.name

    def sql(self, stmt: str, **params) -> None:
        with self.engine.begin() as c:
            c.execute(text(stmt), params)

    def rows(self, plan: str = "small") -> list:
        with self.engine.connect() as c:
            return c.execute(select(EVENT).where(EVENT.c.plan_id == plan)
                             .order_by(EVENT.c.seq)).all()

    def insert(self, **values) -> None:
        with self.engine.begin() as c:
            c.execute(insert(EVENT).values(**values))

    def drop_triggers(self) -> None:
        if self.dialect == "sqlite":
            self.sql("DROP TRIGGER wf_event_no_update")
            self.sql("DROP TRIGGER wf_event_no_delete")
        else:
            self.sql("DROP TRIGGER wf_event_no_change ON wf_event")

    def set_seq(self, old: int, new: int) -> None:
        self.sql("UPDATE wf_event SET seq = :new WHERE plan_id = 'small' AND seq = :old",
                 old=old, new=new)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def db(run):
    d = Db(run.db)
    yield d
    d.close()


@pytest.fixture
def eight(small):
    """SMALL_PLAN with eight events: load, start, block (+ raised), unblock (+ resolved),
    report, approve."""
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("block", "a", "--as", "ttyt", "--note", "Chưa có số liệu của 3 huyện", now=day(3))
    small.ok("unblock", "a", "--as", "so-tai-chinh", "--note", "Đã có số liệu", now=day(4))
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Đã quyết toán", now=day(5))
    small.ok("approve", "a", "--as", "so-y-te", now=day(6))
    events = [e["event"] for e in small.ok("history", "--json").json]
    assert events == ["load", "start", "block", "escalation_raised", "unblock",
                      "escalation_resolved", "report", "approve"]
    return small


def verify_error(run, *args) -> str:
    r = run("audit", "verify", *args)
    assert r.code == 7, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    return r.error


def forged(prev: str, seq: int, **over) -> dict:
    """An event someone fabricated, with a hash made exactly as workflow makes them."""
    values = {"plan_id": "small", "seq": seq, "task_id": "b", "event": "start",
              "from_state": "assigned", "to_state": "in_progress", "actor": "so-tai-chinh",
              "person": "someone", "at": clock.to_utc(datetime.fromisoformat(day(7))),
              "note": None, "escalated_to": None, "level": None, "reason": None, "data": None,
              **over}
    values["prev_hash"] = prev
    values["hash"] = event_hash(prev, values)
    return values


# --------------------------------------------------------------------------- 1. the chain


def test_verify_counts_events_and_prints_the_head(eight):
    r = eight.ok("audit", "verify")
    head = eight.ok("history", "--json").json[-1]["hash"]
    assert r.out == f"ok  small: 8 events verified; head {head}\n"
    assert eight.ok("audit", "verify", "--json").json == [
        {"plan": "small", "ok": True, "events": 8, "head": head}]


@pytest.mark.sqlite_only
def test_every_event_links_to_the_one_before(eight, db):
    rows = db.rows()
    assert rows[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash
    for r in rows:
        assert event_hash(r.prev_hash, r._asdict()) == r.hash


def test_altering_a_note_names_that_event(eight, db):
    db.drop_triggers()
    db.sql("UPDATE wf_event SET note = 'Không có khó khăn' WHERE plan_id = 'small' AND seq = 3")
    assert verify_error(eight) == ("Error: plan small: event seq 3 (block on a): its content "
                                   "does not match its hash (the event was altered)")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("column", "value"), [
    ("note", "Đã có số liệu đầy đủ"), ("actor", "so-y-te"), ("person", "mallory"),
    ("to_state", "approved"), ("task_id", "b"), ("event", "approve"),
    ("at", "2024-04-01 00:00:00.000000"), ("data", '{"x": 1}'),
])
def test_altering_any_field_names_that_event(eight, db, column, value):
    db.drop_triggers()
    db.sql(f"UPDATE wf_event SET {column} = :v WHERE plan_id = 'small' AND seq = 3", v=value)
    task, kind = {"task_id": ("b", "block"), "event": ("a", "approve")}.get(column,
                                                                          ("a", "block"))
    assert verify_error(eight) == (f"Error: plan small: event seq 3 ({kind} on {task}): its "
                                   "content does not match its hash (the event was altered)")


@pytest.mark.sqlite_only
def test_altering_the_escalation_level_names_that_event(eight, db):
    db.drop_triggers()
    db.sql("UPDATE wf_event SET level = 3, escalated_to = 'ubnd-tinh' "
           "WHERE plan_id = 'small' AND seq = 4")
    assert verify_error(eight) == ("Error: plan small: event seq 4 (escalation_raised on a): "
                                   "its content does not match its hash (the event was altered)")


def test_deleting_a_middle_event_names_the_next_one(eight, db):
    db.drop_triggers()
    db.sql("DELETE FROM wf_event WHERE plan_id = 'small' AND seq = 4")
    assert verify_error(eight) == ("Error: plan small: event seq 5: seq 4 is missing before it; "
                                   "events were deleted")


@pytest.mark.sqlite_only
def test_deleting_several_events_names_the_gap(eight, db):
    db.drop_triggers()
    db.sql("DELETE FROM wf_event WHERE plan_id = 'small' AND seq IN (3, 4, 5)")
    assert verify_error(eight) == ("Error: plan small: event seq 6: seqs 3-5 are missing before "
                                   "it; events were deleted")


@pytest.mark.sqlite_only
def test_deleting_and_renumbering_is_caught_by_the_link(eight, db):
    db.drop_triggers()
    db.sql("DELETE FROM wf_event WHERE plan_id = 'small' AND seq = 4")
    for seq in range(5, 9):
        db.set_seq(seq, seq - 1)
    db.sql("UPDATE wf_plan SET head_seq = 7 WHERE id = 'small'")
    assert verify_error(eight) == ("Error: plan small: event seq 4: it does not follow seq 3: "
                                   "seq 3 was altered and re-hashed, or an event between them "
                                   "was deleted")


def test_deleting_the_last_event_is_caught_by_the_plan_head(eight, db):
    db.drop_triggers()
    db.sql("DELETE FROM wf_event WHERE plan_id = 'small' AND seq = 8")
    assert verify_error(eight) == ("Error: plan small: event seq 8 is missing: the history ends "
                                   "at seq 7 but the plan records 8 events (the last events were "
                                   "deleted)")


@pytest.mark.sqlite_only
def test_deleting_the_whole_history_is_caught(eight, db):
    db.drop_triggers()
    db.sql("DELETE FROM wf_event WHERE plan_id = 'small'")
    assert verify_error(eight) == ("Error: plan small: event seqs 1-8 are missing: the history "
                                   "ends at seq 0 but the plan records 8 events (the last events "
                                   "were deleted)")


def test_a_forged_event_appended_with_a_plausible_hash_is_caught(eight, db):
    """Inserting needs no trigger dropped: the database allows INSERT; the chain catches it."""
    db.insert(**forged(db.rows()[-1].hash, 9))
    assert verify_error(eight) == ("Error: plan small: event seq 9 comes after the head the plan "
                                   "records (seq 8); it was inserted (1 event(s) after the head)")


@pytest.mark.sqlite_only
def test_a_forged_event_inserted_in_the_middle_is_named(eight, db):
    db.drop_triggers()
    for seq in range(8, 4, -1):  # make room at seq 5
        db.set_seq(seq, seq + 1)
    db.insert(**forged(db.rows()[3].hash, 5, task_id="a", event="approve", from_state="reported",
                       to_state="approved", actor="so-y-te"))
    db.sql("UPDATE wf_plan SET head_seq = 9 WHERE id = 'small'")
    assert verify_error(eight) == ("Error: plan small: event seq 5 (approve on a) was inserted: "
                                   "seq 6 links past it to seq 4")


@pytest.mark.sqlite_only
def test_a_forged_event_with_a_made_up_hash_is_named(eight, db):
    db.drop_triggers()
    for seq in range(8, 2, -1):
        db.set_seq(seq, seq + 1)
    values = forged(db.rows()[1].hash, 3)
    values["hash"] = "f" * 64
    db.insert(**values)
    assert verify_error(eight) == ("Error: plan small: event seq 3 (start on b): its content does "
                                   "not match its hash (the event was altered)")


@pytest.mark.sqlite_only
def test_an_event_inserted_before_the_first_is_named(eight, db):
    db.insert(**forged(GENESIS, 0))
    assert verify_error(eight) == ("Error: plan small: event seq 0: out of sequence (expected seq "
                                   "1); the event was inserted")


def test_swapping_two_events_is_caught_at_the_first(eight, db):
    db.drop_triggers()
    db.set_seq(3, -1)
    db.set_seq(4, 3)
    db.set_seq(-1, 4)
    assert verify_error(eight) == ("Error: plan small: event seq 3: out of order: it follows seq "
                                   "4, which comes after it; events were reordered")


@pytest.mark.sqlite_only
def test_swapping_the_content_of_two_events_is_caught(eight, db):
    """Seqs kept, rows' contents exchanged (e.g. to change who reported first)."""
    db.drop_triggers()
    rows = db.rows()
    cols = ("task_id", "event", "from_state", "to_state", "actor", "note", "prev_hash", "hash")
    for seq, src in ((7, rows[7]), (8, rows[6])):
        db.sql(f"UPDATE wf_event SET {', '.join(f'{c} = :{c}' for c in cols)} "
               "WHERE plan_id = 'small' AND seq = :seq",
               seq=seq, **{c: getattr(src, c) for c in cols})
    assert verify_error(eight) == ("Error: plan small: event seq 7: out of order: it follows seq "
                                   "8, which comes after it; events were reordered")


@pytest.mark.sqlite_only
def test_an_event_altered_and_rehashed_is_caught_at_the_next(eight, db):
    db.drop_triggers()
    row = db.rows()[2]._asdict()
    row["note"] = "Không có khó khăn"
    db.sql("UPDATE wf_event SET note = :n, hash = :h WHERE plan_id = 'small' AND seq = 3",
           n=row["note"], h=event_hash(row["prev_hash"], row))
    assert verify_error(eight) == ("Error: plan small: event seq 4: it does not follow seq 3: "
                                   "seq 3 was altered and re-hashed, or an event between them "
                                   "was deleted")


@pytest.mark.sqlite_only
def test_a_rewritten_history_passes_alone_but_not_against_a_noted_head(eight, db):
    """Someone rewrites every hash after an alteration and the plan's head: only a head hash
    written down earlier (audit verify --head) can prove it."""
    noted = eight.ok("audit", "verify", "--json").json[0]["head"]
    db.drop_triggers()
    prev = GENESIS
    for r in db.rows():
        values = r._asdict()
        if values["seq"] == 3:
            values["note"] = "Không có khó khăn"
        values["prev_hash"] = prev
        prev = values["hash"] = event_hash(prev, values)
        db.sql("UPDATE wf_event SET note = :n, prev_hash = :p, hash = :h "
               "WHERE plan_id = 'small' AND seq = :s",
               n=values["note"], p=values["prev_hash"], h=values["hash"], s=values["seq"])
    db.sql("UPDATE wf_plan SET head_hash = :h WHERE id = 'small'", h=prev)
    assert verify_error(eight).startswith("Error: the database no longer refuses UPDATE")
    assert verify_error(eight, "--head", noted) == (
        f"Error: plan small: head {noted} is not in the history; the history written before "
        "that head was altered or the hash is wrong")


def test_head_prefix_and_its_seq(eight):
    head = eight.ok("audit", "verify", "--json").json[0]["head"]
    eight.ok("start", "c", "--as", "so-y-te", now=day(7))
    r = eight.ok("audit", "verify", "--head", head[:16].upper())
    assert r.out.splitlines()[1] == (f"    --head {head[:16]} is event seq 8: the history up to "
                                     "it is intact")
    assert eight.ok("audit", "verify", "--head", head, "--json").json[0]["head_found_at"] == 8
    assert verify_error(eight, "--head", "ab" * 32).startswith(
        f"Error: plan small: head {'ab' * 32} is not in the history")


@pytest.mark.sqlite_only
@pytest.mark.parametrize("head", ["", "abc", "0123456789abcde", "z" * 64])
def test_a_head_too_short_or_not_hex_is_a_usage_error(small, head):
    r = small("audit", "verify", "--head", head)
    assert r.code == 2
    assert r.error.startswith(f"Error: --head {head.strip().lower()!r}: give the head hash")


@pytest.mark.sqlite_only
def test_verify_checks_every_plan_and_names_the_tampered_one(eight, db, tmp_path):
    eight.ok("load", write_plan(tmp_path, SMALL_PLAN.replace("id: small", "id: other"), "o.yaml"))
    assert [p["plan"] for p in eight.ok("audit", "verify", "--json").json] == ["other", "small"]
    db.drop_triggers()
    db.sql("UPDATE wf_event SET note = 'x' WHERE plan_id = 'small' AND seq = 7")
    assert verify_error(eight).startswith("Error: plan small: event seq 7 (report on a)")
    assert eight("audit", "verify", "--plan", "other").code == 7  # triggers still missing


@pytest.mark.sqlite_only
def test_verify_an_unknown_plan(run, tmp_path):
    run.ok("load", write_plan(tmp_path, SMALL_PLAN))
    r = run("audit", "verify", "--plan", "nope")
    assert r.code == 5 and r.error.startswith("Error: no plan 'nope'")


# --------------------------------------------------------------------------- 2. append-only


def test_update_and_delete_are_refused_by_the_database(eight, db):
    for stmt in ("UPDATE wf_event SET note = 'x' WHERE seq = 3",
                 "DELETE FROM wf_event WHERE seq = 8", "DELETE FROM wf_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.sql(stmt)
    assert len(db.rows()) == 8
    eight.ok("audit", "verify")


@pytest.mark.postgresql_only
def test_truncate_is_refused_by_postgresql(eight, db):
    with pytest.raises(DBAPIError, match="append-only"):
        db.sql("TRUNCATE wf_event CASCADE")


def test_the_engine_itself_cannot_change_history(eight):
    engine_logs()
    store = Store(eight.db)
    from workflow.errors import StoreError
    with pytest.raises(StoreError, match=r"refused by the database: .*append-only"), \
            store.write() as conn:
        conn.execute(text("UPDATE wf_event SET note = 'x'"))
    store.dispose()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("trigger", "op"), [("wf_event_no_update", "UPDATE"),
                                             ("wf_event_no_delete", "DELETE")])
def test_a_dropped_trigger_is_detected(eight, db, trigger, op):
    db.sql(f"DROP TRIGGER {trigger}")
    r = eight("audit", "verify")
    assert r.code == 7
    assert r.error == (f"Error: the database no longer refuses {op} on the history (wf_event): "
                       "its append-only trigger was dropped or disabled; the chain verifies, but "
                       "restore the trigger and investigate who removed it")
    assert "triggers on wf_event now:" in r.err


@pytest.mark.sqlite_only
def test_a_trigger_replaced_by_one_that_never_fires_is_detected(eight, db):
    db.sql("DROP TRIGGER wf_event_no_update")
    db.sql("CREATE TRIGGER wf_event_no_update BEFORE UPDATE ON wf_event WHEN 0 "
           "BEGIN SELECT RAISE(ABORT, 'wf_event is append-only'); END")
    assert verify_error(eight).startswith("Error: the database no longer refuses UPDATE")


@pytest.mark.postgresql_only
def test_a_dropped_or_disabled_postgresql_trigger_is_detected(eight, db):
    db.sql("ALTER TABLE wf_event DISABLE TRIGGER wf_event_no_change")
    assert verify_error(eight).startswith("Error: the database no longer refuses UPDATE")
    db.sql("ALTER TABLE wf_event ENABLE TRIGGER wf_event_no_change")
    eight.ok("audit", "verify")
    db.sql("DROP TRIGGER wf_event_no_change ON wf_event")
    assert verify_error(eight).startswith("Error: the database no longer refuses UPDATE")


# --------------------------------------------------------------------------- 3. who, when, why


def test_each_event_records_agency_person_time_and_note(small, db_kind):
    nfd = unicodedata.normalize("NFD", "Chưa có biên bản kiểm kê")
    env = {"USER": "nguyen.thi.b", "LOGNAME": "nguyen.thi.b"}
    small.ok("start", "c", "--as", "SYT", now="2024-04-03T14:30:00", env=env)
    small.ok("block", "c", "--as", "Sở Nội vụ", "--note", f"  {nfd}  ", env=env,
             now="2024-04-04T08:15:00+07:00")
    events = small.ok("history", "c", "--json").json
    person = "nguyen.thi.b" if db_kind == "sqlite" else "workflow"  # the database role on PG
    assert [(e["event"], e["actor"], e["person"], e["at"], e["note"]) for e in events] == [
        ("start", "so-y-te", person, "2024-04-03T14:30:00+07:00", None),
        ("block", "so-noi-vu", person, "2024-04-04T08:15:00+07:00", "Chưa có biên bản kiểm kê"),
        ("escalation_raised", None, person, "2024-04-04T08:15:00+07:00",
         "so-y-te must act (blocked)"),
    ]
    assert events[1]["note"] == unicodedata.normalize("NFC", nfd)
    assert events[2]["escalated_to"] == "so-y-te" and events[2]["level"] == 1
    load = small.ok("history", "--event", "load", "--json").json[0]
    assert load["at"] == T0 and load["person"]


def test_the_load_event_carries_the_definition_it_loaded(small, db):
    data = json.loads(db.rows()[0].data)
    plan = parse(SMALL_PLAN, "plan.yaml")
    assert data["digest"] == plan.digest
    assert data["definition"] == json.loads(json.dumps(plan.canonical()))
    text_ = json.dumps(data["definition"], ensure_ascii=False, sort_keys=True,
                       separators=(",", ":"))
    assert hashlib.sha256(text_.encode()).hexdigest() == data["digest"]


# --------------------------------------------------------------------------- 4. as of a date


def test_as_of_a_date_is_the_end_of_that_day(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Xong", now=day(20, 23))
    small.ok("approve", "a", "--as", "so-y-te", now=day(23))
    now = day(31)

    def a_at(at):
        t = small.ok("show", "a", "--at", at, "--json", now=now).json
        return t["state"], t["overdue"]

    assert a_at("2024-04-19") == ("in_progress", False)
    assert a_at("2024-04-20T22:59:59+07:00") == ("in_progress", False)
    assert a_at("2024-04-20T23:00") == ("reported", False)  # naive: the plan's timezone
    assert a_at("2024-04-20") == ("reported", False)  # due that day: not overdue before its end
    assert a_at("21/4/2024") == ("reported", True)
    assert a_at("2024-04-22T16:00:00Z") == ("reported", True)  # 23:00 in Hà Nội
    assert a_at("2024-04-23T02:00:00Z") == ("approved", False)  # 09:00 in Hà Nội
    assert a_at("2024-04-01") == ("assigned", False)
    later = small.ok("show", "a", "--at", "2024-04-30", "--json", now=now).json
    assert later["on_time"] is True and [e["event"] for e in later["last_moves"]] == [
        "start", "report", "approve"]
    early = small.ok("show", "a", "--at", "2024-04-02", "--json", now=now).json
    assert [e["event"] for e in early["last_moves"]] == ["start"]


@pytest.mark.sqlite_only
def test_tasks_and_summary_as_of_a_date(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("block", "c", "--as", "so-y-te", "--note", "Thiếu người", now=day(3))
    small.ok("unblock", "c", "--as", "so-y-te", "--note", "Đã bổ sung", now=day(10))
    now = day(25)
    rows = small.ok("tasks", "--at", "2024-04-05", "--json", now=now).json
    assert [(t["id"], t["state"], t["escalation_level"], t["escalated_to"]) for t in rows] == [
        ("a", "in_progress", 0, None), ("b", "assigned", 0, None),
        ("c", "blocked", 1, "ubnd-tinh"),  # blocked by its lead: the agency above it
        ("d", "assigned", 0, None)]
    assert small.ok("tasks", "--blocked", "--at", "2024-04-05", "--json", now=now).json[0][
        "id"] == "c"
    assert small.ok("tasks", "--blocked", "--json", now=now).json == []
    text_ = small.ok("tasks", "--at", "2024-04-05", now=now).out
    assert "escalated L1 → ubnd-tinh" in text_
    s = small.ok("summary", "--at", "2024-04-05", "--json", now=now).json
    assert s["at"] == "2024-04-05T23:59:59.999999+07:00"
    assert s["total"] == {"tasks": 4, "approved": 0, "on_time": 0, "done_late": 0,
                          "overdue": 0, "not_yet_due": 4, "awaiting_approval": 0, "blocked": 1,
                          "escalated": 1}
    s = small.ok("summary", "--at", "2024-04-21", "--json", now=now).json
    assert s["total"]["overdue"] == 1 and s["total"]["blocked"] == 0


@pytest.mark.sqlite_only
def test_as_of_is_refused_before_the_plan_and_in_the_future(small):
    r = small("tasks", "--at", "2024-03-31")
    assert (r.code, r.error) == (5, "Error: plan small was not loaded yet at "
                                    "2024-03-31T23:59+07:00; it was loaded 2024-04-01T08:00+07:00")
    r = small("show", "a", "--at", "2024-05-01", now=day(2))
    assert r.code == 2 and r.error.startswith("Error: --at 2024-05-01: that is after now")
    r = small("summary", "--at", "yesterday")
    assert r.code == 2 and r.error.startswith("Error: --at 'yesterday' is not a date or time")
    r = small("tasks", "--at", "31/2/2024")
    assert r.code == 2 and r.error == "Error: --at '31/2/2024' is not a date in the calendar"
    # Today's date means now: the same as the live view.
    assert (small.ok("tasks", "--at", "2024-04-02", "--json").json
            == small.ok("tasks", "--json").json)


def test_as_of_follows_an_upgrade(small, tmp_path):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    v2 = (SMALL_PLAN.replace('title: "Quyết toán"', 'title: "Quyết toán năm 2023"')
          .replace("due: 2024-04-20", "due: 2024-04-30")
          + '  e:\n    title: "Việc mới"\n    lead: so-noi-vu\n    due: 2024-06-30\n')
    small.ok("load", write_plan(tmp_path, v2, "v2.yaml"), "--upgrade", now=day(10))
    small.ok("start", "e", "--as", "so-noi-vu", now=day(11))
    now = day(22)
    before = small.ok("show", "a", "--at", "2024-04-09", "--json", now=now).json
    after = small.ok("show", "a", "--at", "2024-04-21", "--json", now=now).json
    assert (before["title"], before["due"], before["overdue"]) == ("Quyết toán", "2024-04-20",
                                                                   False)
    assert (after["title"], after["due"], after["overdue"]) == ("Quyết toán năm 2023",
                                                                "2024-04-30", False)
    assert [t["id"] for t in small.ok("tasks", "--at", "2024-04-09", "--json", now=now).json
            ] == ["a", "b", "c", "d"]
    r = small("show", "e", "--at", "2024-04-09", now=now)
    assert (r.code, r.error) == (5, "Error: task 'e' was not in plan small at "
                                    "2024-04-09T23:59+07:00; it was added later (workflow "
                                    "history shows when)")
    assert small.ok("show", "e", "--at", "2024-04-10", "--json", now=now).json["state"] == (
        "assigned")
    assert (small.ok("tasks", "--json", now=now).json
            == small.ok("tasks", "--at", now, "--json", now=now).json)
    upgrade = small.ok("history", "--event", "upgrade", "--json").json[0]
    assert upgrade["note"].startswith("upgraded from")


@pytest.mark.sqlite_only
def test_as_of_equals_live_for_the_son_la_plan_run_to_the_end(son_la):
    """Every task and district instance of the Sơn La plan done in dependency order (a support
    agency blocks each once), with daily sweeps; the plan rebuilt from history equals what the
    live tables said every fifth day, and at the end."""
    engine_logs()
    store = Store(son_la.db)
    samples = drive_to_the_end(store, "son-la-2024-ttyt")
    check_rebuilt_equals_live(store, "son-la-2024-ttyt", samples)
    store.dispose()


def movable(conn, p, now) -> list[dict]:
    """Every task that moves itself: plain tasks and instances (groups roll up)."""
    return ([t for t in reports.tasks(conn, p, now, pattern="*") if t["kind"] != "group"]
            + reports.tasks(conn, p, now, pattern="*/*"))


def drive_to_the_end(store: Store, pid: str) -> list:
    """Each day: a sweep, then up to eight moves; samples the live views after them."""
    now = datetime.fromisoformat("2024-04-02T08:00:00+07:00")
    samples = []
    blocked_once: set[str] = set()
    for n in itertools.count():
        assert n < 200, "the simulation did not finish the plan"
        sweep(store, plan_id=pid, now=now)
        with store.read() as conn:
            tasks = movable(conn, select_plan(conn, pid), now)
        moved = 0
        for t in tasks:
            # joint leads (kiem-ke-tai-san): the last of them acts, the first heads the chain
            lead = t["lead"][-1] if isinstance(t["lead"], list) else t["lead"]
            step = {"assigned": ("start", lead, None),
                    "in_progress": ("report", lead, "Đã thực hiện xong"),
                    "reported": ("approve", t["approver"], None),
                    "blocked": ("unblock", lead, "Đã giải quyết")}.get(t["state"])
            if step is None or moved >= 8:
                continue
            if t["state"] == "in_progress" and t["id"] not in blocked_once and t["support"]:
                blocked_once.add(t["id"])
                step = ("block", t["support"][0], "Khó khăn: thiếu kinh phí")
            with contextlib.suppress(MoveRefusedError):  # waiting on a dependency or start
                move(store, plan_id=pid, task=t["id"], trigger=step[0], actor=step[1],
                            note=step[2], now=now)
                moved += 1
        with store.read() as conn:
            p = select_plan(conn, pid)
            done = all(t["state"] == "approved" for t in movable(conn, p, now))
            if n % 5 == 0 or done:
                samples.append((now, live_view(conn, p, now)))
        if done:
            return samples
        now += timedelta(days=1, hours=1)
    raise AssertionError("unreachable")


# ----------------------------------------------------------- 4b. property: rebuilt == live

FAN_PLAN = """\
id: fan
title: "Kế hoạch có huyện"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 5d, step_after: 2d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
units:
  huyen:
    moc-chau: {name: "Trung tâm Y tế huyện Mộc Châu"}
    mai-son: {name: "Trung tâm Y tế huyện Mai Sơn"}
tasks:
  kiem-ke:
    title: "Kiểm kê tài sản"
    for_each: huyen
    lead: each
    due: 2024-04-25
  ban-giao:
    title: "Bàn giao"
    for_each: huyen
    lead: so-y-te
    depends_on: [kiem-ke]
    due: 2024-05-20
  quyet-dinh:
    title: "Quyết định"
    lead: so-tai-chinh
    depends_on: [kiem-ke]
  bao-cao:
    title: "Báo cáo tuần"
    lead: so-tai-chinh
    repeat: {weekly: thứ 6, from: 2024-04-01, until: 2024-05-10}
"""
SMALL_V2 = (SMALL_PLAN.replace('title: "Quyết toán"', 'title: "Quyết toán 2023"')
            .replace("due: 2024-04-20", "due: 2024-05-10")
            .replace("stall_after: 7d", "stall_after: 4d")
            .replace("support: [so-noi-vu]", "support: [so-noi-vu, so-tai-chinh]")
            + '  e:\n    title: "Việc thêm"\n    lead: so-noi-vu\n    depends_on: [c]\n'
              "    due: 2024-06-01\n")
JOINT_PLAN = """\
id: joint
title: "Kế hoạch có nhiệm vụ hai cơ quan chủ trì"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 4d, step_after: 2d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-noi-vu: {name: "Sở Nội vụ"}
  ttyt: {name: "Trung tâm Y tế"}
units:
  huyen:
    moc-chau: {name: "Trung tâm Y tế huyện Mộc Châu"}
    mai-son: {name: "Trung tâm Y tế huyện Mai Sơn"}
tasks:
  a:
    title: "Hai cơ quan chủ trì"
    lead: [so-tai-chinh, so-noi-vu]
    support: [ttyt]
    due: 2024-04-10
  b:
    title: "Sở Y tế cùng chủ trì"
    lead: [so-tai-chinh, so-y-te]
    depends_on: [a]
    due: 2024-04-20
  c:
    title: "Từng huyện"
    for_each: huyen
    lead: [so-noi-vu, so-tai-chinh]
    due: 2024-04-12
  d:
    title: "Một cơ quan chủ trì"
    lead: ttyt
    approver: so-noi-vu
    due: 2024-04-08
"""
# The leads change both ways: a gains ttyt for so-noi-vu, b loses its second lead (so the
# coordinator approves it again), c's second lead goes.
JOINT_V2 = (JOINT_PLAN.replace("lead: [so-tai-chinh, so-noi-vu]\n    support: [ttyt]",
                               "lead: [so-tai-chinh, ttyt]\n    support: [so-noi-vu]")
            .replace("lead: [so-tai-chinh, so-y-te]", "lead: so-tai-chinh")
            .replace("lead: [so-noi-vu, so-tai-chinh]", "lead: [so-noi-vu]"))
ROLES = ("lead", "lead", "support", "approver", "approver", "coordinator", "issuer", "other")
NOTES = (None, "", "  ", "Đã xong", "Khó khăn: thiếu số liệu")
STEP = st.tuples(
    st.one_of(st.integers(1, 12 * 60), st.integers(12 * 60, 9 * 24 * 60)),  # minutes
    st.sampled_from(("move",) * 6 + ("sweep", "upgrade", "extend", "extend")),
    st.integers(0, 20), st.sampled_from(TRIGGERS), st.sampled_from(ROLES),
    st.sampled_from(NOTES))
# Half the moves are the task's next step ("next"), so that reports made by the due day and
# left waiting past it (the approver's delay) come up in most runs; a report's next step is
# its approval, tried as often by a (joint) lead, who is refused, as by its approver.
NEXT = {"assigned": ("start", "lead", None), "in_progress": ("report", "lead", "Đã xong"),
        "reported": ("approve", "approver", None), "blocked": ("unblock", "lead", "Đã có")}
FORWARD = st.tuples(
    st.one_of(st.integers(1, 12 * 60), st.integers(12 * 60, 4 * 24 * 60)),
    st.sampled_from(("move",) * 6 + ("sweep", "upgrade")), st.integers(0, 20),
    st.sampled_from(("next",) * len(TRIGGERS) + TRIGGERS), st.sampled_from(ROLES),
    st.sampled_from(NOTES))
_plans = itertools.count()


@pytest.fixture(scope="module")
def sim_store(tmp_path_factory):
    store = Store(str(tmp_path_factory.mktemp("sim") / "sim.db"), create=True)
    yield store
    store.dispose()


def simulate(store: Store, versions: list[str], steps, start: str = T0,
             view=None) -> tuple[str, list]:
    """Loads a fresh copy of the plan at ``start``, plays the steps; returns (plan id,
    samples of ``view``, by default ``live_view``)."""
    engine_logs()
    view = view or live_view
    pid = f"sim-{next(_plans)}"
    texts = [v.replace("id: small", f"id: {pid}").replace("id: fan", f"id: {pid}")
             .replace("id: joint", f"id: {pid}")
             for v in versions]
    defs = [parse(t, f"v{i}.yaml") for i, t in enumerate(texts)]
    now = datetime.fromisoformat(start)
    load_plan(store, defs[0], now=now)
    current, samples = 0, []
    for minutes, kind, index, trigger, role, note in steps:
        now += timedelta(minutes=minutes)
        if kind == "sweep":
            sweep(store, plan_id=pid, now=now)
        elif kind == "upgrade" and len(defs) > 1:
            try:
                load_plan(store, defs[1 - current], now=now, upgrade=True)
                current = 1 - current
            except ConflictError:
                pass  # a task with history cannot be removed
        else:
            with store.read() as conn:
                p = select_plan(conn, pid)
                tasks = movable(conn, p, now)
            t = tasks[index % len(tasks)]
            if trigger == "next":
                trigger, role, note = NEXT.get(t["state"], ("approve", "approver", None))
                role = "lead" if trigger == "approve" and minutes % 2 else role
            leads = t["lead"] if isinstance(t["lead"], list) else [t["lead"]]
            actor = {"lead": leads[minutes % len(leads)], "support": (t["support"] or leads)[0],
                     "approver": t["approver"], "coordinator": p.coordinator,
                     "issuer": p.issuer, "other": "so-tai-chinh"}[role]
            with contextlib.suppress(MoveRefusedError):
                if kind == "extend":  # mostly by one who may, to 5 days before to 34 after
                    due = date.fromisoformat(t["due"] or "2024-05-01")
                    actor = {"other": actor, "support": p.issuer}.get(role, p.coordinator)
                    extend(store, plan_id=pid, pattern=t["id"], actor=actor,
                           note=note and "Gia hạn", now=now,
                           to=(due + timedelta(days=minutes % 40 - 5)).isoformat())
                else:
                    move(store, plan_id=pid, task=t["id"], trigger=trigger, actor=actor,
                         note=note, now=now)
        with store.read() as conn:
            p = select_plan(conn, pid)
            samples.append((now, view(conn, p, now)))
    return pid, samples


def live_view(conn, p, now) -> dict:
    return {"tasks": reports.tasks(conn, p, now),
            "instances": reports.tasks(conn, p, now, pattern="*/*"),
            "late": reports.tasks(conn, p, now, overdue=True),
            "summary": reports.summary(conn, p, now),
            "by_task": reports.summary(conn, p, now, by="task"),
            "led": {a: reports.tasks(conn, p, now, lead=a)
                    for a in ("so-tai-chinh", "so-noi-vu", "so-y-te", "ttyt")}}


def check_rebuilt_equals_live(store: Store, pid: str, samples: list, view=None) -> None:
    """At every sampled moment, the plan rebuilt from history answers as the live tables did
    then; at the end, every task's detail (dependencies, escalation, last moves) too."""
    view = view or live_view
    with store.read() as conn:
        p = select_plan(conn, pid)
        for at, live in samples:
            with asof.as_of_connection(conn, p, at, at) as (mem, at_u):
                assert at_u == clock.to_utc(at)
                assert view(mem, p, at) == live, at
        end = samples[-1][0]
        with asof.as_of_connection(conn, p, end, end) as (mem, _at):
            every = reports.tasks(conn, p, end, pattern="*") + reports.tasks(
                conn, p, end, pattern="*/*")
            for t in every:
                live = reports.task_detail(conn, p, find_task(conn, p, t["id"]).pk, end)
                rebuilt = reports.task_detail(mem, p, find_task(mem, p, t["id"]).pk, end)
                live_moves, rebuilt_moves = live.pop("last_moves"), rebuilt.pop("last_moves")
                assert rebuilt == live
                assert rebuilt_moves == []  # its events are not copied; task_at adds them
                assert asof.task_at(conn, p, t["id"], end, end)["last_moves"] == live_moves


PROPERTY = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_property_rebuilt_equals_live_small_plan_with_upgrades(sim_store, steps):
    pid, samples = simulate(sim_store, [SMALL_PLAN, SMALL_V2], steps)
    check_rebuilt_equals_live(sim_store, pid, samples)


@PROPERTY
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_property_rebuilt_equals_live_fanned_out_and_recurring(sim_store, steps):
    pid, samples = simulate(sim_store, [FAN_PLAN], steps)
    check_rebuilt_equals_live(sim_store, pid, samples)


@PROPERTY
@given(steps=st.lists(FORWARD, min_size=8, max_size=20))
def test_property_rebuilt_equals_live_joint_leads_with_upgrades(sim_store, steps):
    pid, samples = simulate(sim_store, [JOINT_PLAN, JOINT_V2], steps)
    check_rebuilt_equals_live(sim_store, pid, samples)


# Deadlines that follow a task (fixed on its approval, in working days or days) and reminders
# (the plan's remind_before, and a task's own); the upgrade moves a due and a follower's span.
FOLLOW_PLAN = SMALL_PLAN.replace(
    "escalation: {stall_after: 7d, step_after: 3d}",
    "escalation: {stall_after: 7d, step_after: 3d, remind_before: 2wd}") + """\
  f:
    title: "Theo sau a"
    lead: so-y-te
    due: {after: a, within: 5wd}
  g:
    title: "Theo sau b"
    lead: so-noi-vu
    due: {after: b, within: 10d}
    remind_before: 1d
"""
FOLLOW_V2 = (FOLLOW_PLAN.replace("due: 2024-04-20", "due: 2024-05-10")
             .replace("within: 5wd", "within: 8wd"))
FAN_FOLLOW_PLAN = FAN_PLAN.replace(
    "escalation: {stall_after: 5d, step_after: 2d}",
    "escalation: {stall_after: 5d, step_after: 2d, remind_before: 3d}") + """\
  sau-kiem-ke:
    title: "Tổng hợp sau kiểm kê"
    lead: so-tai-chinh
    due: {after: kiem-ke, within: 3wd}
"""


FOLLOW_STEPS = [  # a approved on 1/4: f due 8/4, reminded, overdue; the upgrade moves its due
    (60, "move", 0, "start", "lead", None), (60, "move", 0, "report", "lead", "Đã xong"),
    (60, "move", 0, "approve", "approver", None), (5 * 24 * 60, "sweep", 0, "start", "lead", None),
    (60, "upgrade", 0, "start", "lead", None), (85 * 60, "sweep", 0, "start", "lead", None),
    (3 * 24 * 60, "sweep", 0, "start", "lead", None)]


@PROPERTY
@example(steps=FOLLOW_STEPS)
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_property_rebuilt_equals_live_following_deadlines_and_reminders(sim_store, steps):
    pid, samples = simulate(sim_store, [FOLLOW_PLAN, FOLLOW_V2], steps)
    check_rebuilt_equals_live(sim_store, pid, samples)


def test_the_following_example_fixes_reminds_and_reminds_again(sim_store):
    """FOLLOW_STEPS does what it is there for: the property sees a fixed deadline, its
    reminder, and a second reminder after the upgrade changed the due."""
    pid, samples = simulate(sim_store, [FOLLOW_PLAN, FOLLOW_V2], FOLLOW_STEPS)
    with sim_store.read() as conn:
        kinds = [(e["event"], e["task"], (e.get("data") or {}).get("due")) for e in
                 history.events(conn, select_plan(conn, pid))
                 if e["task"] == "f" and e["event"] in ("due_fixed", "reminder")]
    assert kinds == [("due_fixed", "f", "2024-04-08"), ("reminder", "f", "2024-04-08"),
                     ("reminder", "f", "2024-04-11")], kinds
    check_rebuilt_equals_live(sim_store, pid, samples)
    pid, samples = simulate(sim_store, [FAN_FOLLOW_PLAN], FAN_FOLLOW_STEPS)
    with sim_store.read() as conn:
        kinds = [(e["event"], (e.get("data") or {}).get("due")) for e in
                 history.events(conn, select_plan(conn, pid)) if e["task"] == "sau-kiem-ke"]
    assert kinds[:2] == [("due_fixed", "2024-04-04"), ("reminder", "2024-04-04")], kinds


FAN_FOLLOW_STEPS = [  # both kiem-ke instances approved: the group fixes sau-kiem-ke
    *((30, "move", i, trigger, role, "Đã xong") for i in (2, 3)
      for trigger, role in (("start", "lead"), ("report", "lead"), ("approve", "approver"))),
    (24 * 60, "sweep", 0, "start", "lead", None), (3 * 24 * 60, "sweep", 0, "start", "lead", None)]


@PROPERTY
@example(steps=FAN_FOLLOW_STEPS)
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_property_rebuilt_equals_live_following_a_fanned_out_task(sim_store, steps):
    pid, samples = simulate(sim_store, [FAN_FOLLOW_PLAN], steps)
    check_rebuilt_equals_live(sim_store, pid, samples)


# --------------------------------------------------------------------------- 5. queries


@pytest.fixture
def busy(eight):
    """eight, plus a block by c's lead (escalated to the agency above it, seq 9-10) and a
    sweep that finds b stalled (seq 11)."""
    eight.ok("block", "c", "--as", "so-y-te", "--note", "Thiếu nhân lực, \"khẩn\"\ndòng 2",
             now=day(8))
    eight.ok("escalate", now=day(14))
    return eight


def seqs(run, *args) -> list[int]:
    return [e["seq"] for e in run.ok("history", *args, "--json").json]


def test_history_filters(busy):
    assert seqs(busy) == list(range(1, 12))
    assert seqs(busy, "a") == list(range(2, 9))
    # acted, or was escalated to: so-tai-chinh got a's block escalation
    assert seqs(busy, "--agency", "so-tai-chinh") == [2, 4, 5, 6, 7]
    assert seqs(busy, "--agency", "UBND tỉnh") == [10]  # by name
    assert seqs(busy, "--agency", "so-y-te") == [8, 9, 11]
    assert seqs(busy, "--event", "block") == [3, 9]
    assert seqs(busy, "--event", "start,approve", "--event", "LOAD") == [1, 2, 8]
    assert seqs(busy, "--event", "escalation") == [4, 6, 10, 11]
    assert seqs(busy, "--since", "2024-04-04", "--until", "2024-04-06") == [5, 6, 7, 8]
    assert seqs(busy, "--since", "2024-04-04T09:00:01", "--until", "6/4/2024") == [7, 8]
    assert seqs(busy, "--until", "2024-04-01") == [1]
    assert seqs(busy, "a", "--agency", "so-y-te", "--event", "approve") == [8]
    assert seqs(busy, "b") == [11]
    assert busy.ok("history", "d").out == "no events\n"


@pytest.mark.sqlite_only
def test_history_filter_errors(busy):
    r = busy("history", "--event", "stat")
    assert r.code == 2 and r.error.startswith("Error: unknown event kind 'stat'; kinds are start,")
    r = busy("history", "--since", "last week")
    assert r.code == 2 and r.error.startswith("Error: --since 'last week' is not a date or time")
    r = busy("history", "--agency", "nobody")
    assert r.code == 5 and r.error.startswith("Error: no agency 'nobody'")
    r = busy("history", "--format", "xml")
    assert (r.code, r.error) == (2, "Error: --format 'xml': formats are text, json, jsonl, csv")
    r = busy("history", "--json", "--format", "csv")
    assert (r.code, r.error) == (2, "Error: --json and --format csv disagree; give one of them")


@pytest.mark.sqlite_only
def test_jsonl_and_json_formats_match_the_json_array(busy):
    array = busy.ok("history", "--json").json
    lines = busy.ok("history", "--format", "jsonl").out.splitlines()
    assert [json.loads(line) for line in lines] == array
    assert "Thiếu nhân lực" in lines[8]  # not \\u escapes
    assert json.loads(busy.ok("history", "--format", "json").out) == array
    assert busy.ok("history", "d", "--format", "json").out == "[]\n"
    assert busy.ok("history", "d", "--format", "jsonl").out == ""


@pytest.mark.sqlite_only
def test_csv_export_is_utf8_with_bom_and_keeps_vietnamese(busy, tmp_path):
    out = tmp_path / "lịch-sử.csv"
    r = busy.ok("history", "--format", "csv", "--output", out)
    assert r.out == "" and "wrote 11 events to" in r.err
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfseq,at,plan,task,event,from,to,actor,person,note,"
                          b"escalated_to,level,reason,hash\r\n")
    assert "Chưa có số liệu của 3 huyện".encode() in raw  # NFC, UTF-8: as Excel will show it
    assert b"Ch\xc6\xb0a c\xc3\xb3 s\xe1\xbb\x91 li\xe1\xbb\x87u" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    array = busy.ok("history", "--json").json
    assert len(rows) == len(array) == 11
    for row, e in zip(rows, array, strict=True):
        assert row["seq"] == str(e["seq"]) and row["hash"] == e["hash"]
        assert row["note"] == (e["note"] or "")  # commas, quotes and newlines survive
        assert row["escalated_to"] == (e.get("escalated_to") or "")
    assert rows[8]["note"] == "Thiếu nhân lực, \"khẩn\"\ndòng 2"
    assert rows[9]["level"] == "1" and rows[9]["reason"] == "blocked"


@pytest.mark.sqlite_only
def test_csv_to_stdout_also_starts_with_the_bom(busy):
    r = busy.ok("history", "a", "--event", "block", "--format", "csv")
    assert r.out.startswith("\ufeffseq,at,plan")
    assert r.out.splitlines()[1].startswith("3,2024-04-03T09:00:00+07:00,small,a,block,")


@pytest.mark.sqlite_only
def test_export_to_a_missing_directory_writes_nothing(busy, tmp_path):
    r = busy("history", "--format", "jsonl", "--output", tmp_path / "no" / "h.jsonl")
    assert r.code == 5 and r.error.startswith("Error: cannot write")
    r = busy("history", "--event", "nope", "--output", tmp_path / "h.csv")
    assert r.code == 2 and list(tmp_path.glob("*h.csv*")) == []


@pytest.mark.sqlite_only
def test_export_replaces_an_old_file_whole(busy, tmp_path):
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "h.jsonl"
    out.write_text("old\n" * 1000)
    busy.ok("history", "--format", "jsonl", "-o", out)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 11
    assert [p.name for p in out.parent.iterdir()] == ["h.jsonl"]  # no temporary file left


@pytest.mark.sqlite_only
def test_history_events_stream(busy):
    engine_logs()
    store = Store(busy.db)
    with store.read() as conn:
        p = select_plan(conn, "small")
        rows = history.events(conn, p)
        assert iter(rows) is rows  # a generator: rows are fetched as they are written
        buf = io.StringIO()
        assert history.write(rows, "csv", buf) == 11
    store.dispose()
