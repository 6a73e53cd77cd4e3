"""Verifying a plan's hash chain, its time order, the tables it implies, and the triggers.

Kept apart from ``workflow.store.audit`` (which appends) so that a move or ``show`` does not
import the cross-check (``workflow.store.crosscheck``) it never runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.errors import AuditError, NotFoundError, UsageError
from workflow.i18n import _
from workflow.store.audit import EVENT, GENESIS, HASHED, PLAN, event_hash, utc_text
from workflow.store.crosscheck import Replay
from workflow.store.timeorder import PLAN_EVENTS


@dataclass(frozen=True)
class Verification:
    plan_id: str
    events: int
    head_hash: str
    head_seq: int
    head_found_at: int | None = None  # the seq whose hash is the --head given


MIN_HEAD = 16  # hex digits: a shorter prefix could be matched by a forged history


def _what(fields: dict[str, Any]) -> str:
    if fields["task_id"]:
        return _("({event} on {task})").format(event=fields["event"], task=fields["task_id"])
    return f"({fields['event']})"


def verify(conn: Connection, plan_id: str, head: str | None = None, *,
           triggers: bool = True) -> Verification:
    """Recomputes the chain; raises AuditError naming the first event that does not match.

    Then checks that the database still refuses changes to the history (its triggers): a
    dropped trigger is reported even when every event still verifies.
    """
    if head is not None:
        head = head.strip().lower()
        if len(head) < MIN_HEAD or any(c not in "0123456789abcdef" for c in head):
            raise UsageError(_("--head {head!r}: give the head hash that audit verify printed "
                               "(64 hex digits; at least the first {digits})").format(
                head=head, digits=MIN_HEAD))
    plan = conn.execute(select(PLAN.c.head_seq, PLAN.c.head_hash)
                        .where(PLAN.c.id == plan_id)).one_or_none()
    if plan is None:
        raise NotFoundError(_("no plan {plan!r}").format(plan=plan_id))
    prev, expected_seq, count, found_at = GENESIS, 1, 0, None
    last: dict[str, Any] | None = None
    order = _TimeOrder()
    replay = Replay(plan_id)  # what the other tables must hold, rebuilt from the events
    cols = [EVENT.c[k] for k in (*HASHED, "prev_hash", "hash", "id")]
    result = conn.execute(  # yield_per on the statement: on the connection it would stick
        select(*cols).where(EVENT.c.plan_id == plan_id).order_by(EVENT.c.seq)
        .execution_options(yield_per=2000))
    for row in result:
        fields = row._asdict()
        seq = fields["seq"]
        where = _("plan {plan}: event seq {seq}").format(plan=plan_id, seq=seq)
        if seq != expected_seq:
            if seq > expected_seq:
                raise AuditError((_("{where}: seq {first} is missing before it; events were "
                                    "deleted") if seq == expected_seq + 1 else
                                  _("{where}: seqs {first}-{last} are missing before it; events "
                                    "were deleted")).format(where=where, first=expected_seq,
                                                            last=seq - 1))
            raise AuditError(_("{where}: out of sequence (expected seq {expected}); the event "
                               "was inserted").format(where=where, expected=expected_seq))
        if fields["prev_hash"] != prev:
            raise AuditError(_broken_link(conn, plan_id, fields, last))
        if event_hash(prev, fields) != fields["hash"]:
            raise AuditError(_("{where} {what}: its content does not match its hash (the event "
                               "was altered)").format(where=where, what=_what(fields)))
        prev, last = fields["hash"], fields
        order.check(fields, where)
        replay.feed(fields)
        count += 1
        expected_seq += 1
        if head is not None and found_at is None and prev.startswith(head):
            found_at = seq
    _check_head(plan_id, plan, count, prev)
    if head is not None and found_at is None:
        raise AuditError(_("plan {plan}: head {head} is not in the history; the history written "
                           "before that head was altered or the hash is wrong").format(
            plan=plan_id, head=head))
    replay.check(conn)  # tasks, members, escalations, outbox against the history
    if triggers:
        check_append_only(conn)
    return Verification(plan_id, count, prev, count, found_at)


def _check_head(plan_id: str, plan: Any, count: int, last_hash: str) -> None:
    """The chain read must end where the plan row says its history ends."""
    if count > plan.head_seq:
        raise AuditError(_("plan {plan}: event seq {seq} comes after the head the plan records "
                           "(seq {head}); it was inserted ({after} event(s) after the head)")
                         .format(plan=plan_id, seq=plan.head_seq + 1, head=plan.head_seq,
                                 after=count - plan.head_seq))
    if count < plan.head_seq:
        raise AuditError((_("plan {plan}: event seq {first} is missing: the history ends at seq "
                            "{count} but the plan records {head} events (the last events were "
                            "deleted)") if plan.head_seq == count + 1 else
                          _("plan {plan}: event seqs {first}-{head} are missing: the history "
                            "ends at seq {count} but the plan records {head} events (the last "
                            "events were deleted)")).format(
            plan=plan_id, first=count + 1, count=count, head=plan.head_seq))
    if count and last_hash != plan.head_hash:
        raise AuditError(_("plan {plan}: event seq {seq}: its hash is not the head the plan "
                           "records; the last event was replaced").format(plan=plan_id,
                                                                          seq=count))


class _TimeOrder:
    """Finds an event dated before its predecessor in the same task (or, for a plan-level
    event, the plan's previous one), or a task's event dated before the plan's load or an
    upgrade before it: history that runs backwards was written by hand or by a bug."""

    def __init__(self) -> None:
        self.last: dict[str | None, tuple[datetime, int]] = {}  # task (None: plan) -> at, seq
        self.loaded: tuple[datetime, int] | None = None  # the latest load or upgrade

    def check(self, fields: dict[str, Any], where: str) -> None:
        task, at, seq = fields["task_id"], to_utc(fields["at"]), fields["seq"]
        for before, whose in ((self.last.get(task), _(
                "the previous event of the same task ({task})").format(task=task) if task else
                _("the previous event of the same plan")),
                              (self.loaded if task else None, _("the plan's load or upgrade"))):
            if before is not None and at < before[0]:
                raise AuditError(_("{where} {what}: dated {at} UTC, before {whose}, seq {seq} at "
                                   "{then} UTC; history never runs backwards (events were "
                                   "written out of time order, outside workflow or by an old "
                                   "version)").format(
                    where=where, what=_what(fields), at=utc_text(at), whose=whose,
                    seq=before[1], then=utc_text(before[0])))
        self.last[task] = (at, seq)
        if task is None and fields["event"] in PLAN_EVENTS:
            self.loaded = (at, seq)


def verify_plans(conn: Connection, plan_ids: list[str],
                 head: str | None = None) -> list[Verification]:
    """Every plan's chain first (so a tampered event is named), then the triggers, once."""
    results = [verify(conn, pid, head, triggers=False) for pid in plan_ids]
    check_append_only(conn)
    return results


def _broken_link(conn: Connection, plan_id: str, fields: dict[str, Any],
                 last: dict[str, Any] | None) -> str:
    """Why an event does not link to the one before it: finds the event it does link to."""
    seq = fields["seq"]
    where = _("plan {plan}: event seq {seq}").format(plan=plan_id, seq=seq)
    linked = conn.execute(select(EVENT.c.seq).where(
        EVENT.c.plan_id == plan_id, EVENT.c.hash == fields["prev_hash"])).scalar()
    if fields["prev_hash"] == GENESIS:
        linked = 0
    if last is not None and linked == seq - 2:
        past = f"seq {linked}" if linked else _("the start of the history")
        return _("plan {plan}: event seq {inserted} {what} was inserted: seq {seq} links past it "
                 "to {past}").format(plan=plan_id, inserted=last["seq"], what=_what(last),
                                     seq=seq, past=past)
    if linked is not None and linked > seq:
        return _("{where}: out of order: it follows seq {linked}, which comes after it; events "
                 "were reordered").format(where=where, linked=linked)
    if linked is not None:
        after = f"seq {linked}" if linked else _("the start of the history")
        return _("{where}: it follows {after}, not seq {previous}; events were inserted or "
                 "reordered between them").format(where=where, after=after, previous=seq - 1)
    if last is None:
        return _("{where}: it does not start the history; the events before it were "
                 "deleted").format(where=where)
    return _("{where}: it does not follow seq {previous}: seq {previous} was altered and "
             "re-hashed, or an event between them was deleted").format(where=where,
                                                                       previous=seq - 1)


# --------------------------------------------------------------------------- triggers

_OPS = {"UPDATE": 16, "DELETE": 8}  # PostgreSQL's pg_trigger.tgtype bits


def check_append_only(conn: Connection) -> None:
    """Raises AuditError unless the database refuses UPDATE and DELETE on the history.

    SQLite: a BEFORE UPDATE and a BEFORE DELETE trigger on wf_event that RAISE, with no WHEN.
    PostgreSQL: enabled BEFORE row triggers for UPDATE and DELETE on wf_event.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'wf_event'").all()
        for op in _OPS:
            if not any(_sqlite_refuses(sql or "", op) for _name, sql in rows):
                _missing(op, [name for name, _sql in rows])
    elif dialect == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT t.tgname, t.tgtype, t.tgenabled FROM pg_trigger t "
            "WHERE t.tgrelid = 'wf_event'::regclass AND NOT t.tgisinternal").all()
        for op, bit in _OPS.items():
            # tgtype: 1 = row-level, 2 = BEFORE; tgenabled 'D' = disabled.
            if not any(tgtype & bit and tgtype & 2 and tgtype & 1 and enabled != "D"
                       for _name, tgtype, enabled in rows):
                _missing(op, [name for name, _t, _e in rows])
        _check_guards(conn)


# The guards of revision 0003 (PostgreSQL): each must be there and enabled.
GUARDS = {"wf_event_guard": "wf_event", "wf_event_settle": "wf_event",
          "wf_plan_guard": "wf_plan", "wf_task_guard": "wf_task", "wf_task_settle": "wf_task",
          "wf_member_guard": "wf_member", "wf_member_settle": "wf_member",
          "wf_escalation_settle": "wf_escalation", "wf_delivery_settle": "wf_delivery"}


def _check_guards(conn: Connection) -> None:
    found = dict(conn.exec_driver_sql(
        "SELECT t.tgname, t.tgenabled FROM pg_trigger t WHERE NOT t.tgisinternal "
        "AND t.tgrelid IN ('wf_event'::regclass, 'wf_plan'::regclass, 'wf_task'::regclass, "
        "'wf_member'::regclass, 'wf_escalation'::regclass, 'wf_delivery'::regclass)").all())
    for name, table in GUARDS.items():
        if found.get(name, "D") == "D":
            raise AuditError(_("the database's guard {guard} on {table} was dropped or "
                               "disabled: people's roles could write rows in other people's "
                               "names or without their events; restore it (workflow/migrations, "
                               "revision 0003) and investigate who removed it").format(
                guard=name, table=table))


def _sqlite_refuses(sql: str, op: str) -> bool:
    text = " ".join(sql.upper().split())
    return (f"BEFORE {op} ON" in text and " WHEN " not in text
            and any(f"RAISE({k}" in text.replace("RAISE (", "RAISE(")
                    for k in ("ABORT", "FAIL", "ROLLBACK")))


def _missing(op: str, present: list[str]) -> None:
    raise AuditError(_("the database no longer refuses {op} on the history (wf_event): its "
                       "append-only trigger was dropped or disabled; the chain verifies, but "
                       "restore the trigger and investigate who removed it").format(op=op),
                     details=[_("triggers on wf_event now: {triggers}").format(
                         triggers=", ".join(present) or _("none"))])
