"""Read-only queries returning plain data (dicts, lists). No formatting here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.rules.kinds import ESCALATION_EVENTS, EventKind, Kind, State
from workflow.rules.leads import approvers_delay, co_leads, must_act
from workflow.rules.lifecycle import task_clocks
from workflow.rules.membership import role
from workflow.store.lookup import agency_names
from workflow.store.models import DEP, ESC, EVENT, MEMBER, PLAN, PLAN_ROW, TASK
from workflow.store.rows import recorded_changes


def _iso(moment: datetime | None, tz: str) -> str | None:
    return clock.local(moment, tz).isoformat() if moment else None


def _open_esc_columns():
    return (ESC.c.level.label("esc_level"), ESC.c.escalated_to.label("esc_to"),
            ESC.c.reason.label("esc_reason"), ESC.c.since.label("esc_since"),
            ESC.c.raised_at.label("esc_raised"))


def _with_escalation(query):
    return query.outerjoin(ESC, and_(ESC.c.task_pk == TASK.c.pk, ESC.c.resolved_at.is_(None)))


def task_dict(row: Row, plan: Row, now_u: datetime) -> dict[str, Any]:
    overdue = (row.state != State.APPROVED and row.overdue_at is not None
               and row.overdue_at <= now_u)
    joint = co_leads(row)
    return {
        "id": row.task_id, "plan": plan.id, "title": row.title, "ref": row.ref,
        "state": row.state,
        # Joint leads: ``lead`` lists them all, the first (who heads the chain) first.
        "lead": [row.lead, *joint] if joint else row.lead, "co_leads": joint,
        "support": json.loads(row.support), "approver": row.approver,
        "must_act": None if row.state == State.APPROVED or row.kind == Kind.GROUP
        else must_act(row),
        "due": row.due.isoformat() if row.due else None,
        "start": row.start.isoformat() if row.start else None,
        "original_due": row.original_due.isoformat() if row.original_due else None,
        "due_text": row.due_text, "due_after": row.due_after, "due_within": row.due_within,
        "remind_at": _iso(row.remind_at, plan.timezone),
        "reminded_for": row.reminded_for.isoformat() if row.reminded_for else None,
        "depends_on": json.loads(row.depends_on), "overdue": overdue,
        "escalation_level": row.esc_level or 0, "escalated_to": row.esc_to,
        "escalation_reason": row.esc_reason, "blocked_from": row.blocked_from,
        "on_time": row.on_time, "version": row.version, "note": row.note,
        "kind": row.kind, "parent": row.parent, "unit": row.unit,
        "last_move_at": _iso(row.last_move_at, plan.timezone),
    }


def with_names(task: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Adds ``lead_name``, ``co_lead_names``, ``support_names``, ``approver_name`` and
    ``must_act_name`` beside the ids (joint leads' ``lead`` is a list, and so is their
    ``lead_name``); None where an id has no agency."""
    lead = task["lead"]
    task["lead_name"] = ([names.get(a) for a in lead] if isinstance(lead, list)
                         else names.get(lead))
    task["co_lead_names"] = [names.get(a) for a in task.get("co_leads", ())]
    task["support_names"] = [names.get(a) for a in task["support"]]
    task["approver_name"] = names.get(task["approver"])
    task["must_act_name"] = names.get(task.get("must_act") or "")
    return task


def plans(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    now_u = clock.to_utc(now)
    counts: dict[str, dict[str, int]] = {}
    for plan_id, state, n in conn.execute(select(TASK.c.plan_id, TASK.c.state, func.count())
                                          .where(TASK.c.kind != Kind.GROUP)
                                          .group_by(TASK.c.plan_id, TASK.c.state)):
        counts.setdefault(plan_id, {})[state] = n
    overdue = dict(conn.execute(select(TASK.c.plan_id, func.count()).where(
        TASK.c.overdue_at <= now_u, TASK.c.state != State.APPROVED).group_by(TASK.c.plan_id)).all())
    escalated = dict(conn.execute(select(ESC.c.plan_id, func.count()).where(
        ESC.c.resolved_at.is_(None)).group_by(ESC.c.plan_id)).all())
    out = []
    for p in conn.execute(select(*PLAN_ROW).order_by(PLAN.c.id)):
        c = counts.get(p.id, {})
        out.append({
            "id": p.id, "title": p.title, "issuer": p.issuer, "coordinator": p.coordinator,
            "tasks": sum(c.values()), "counts": {s.value: c.get(s, 0) for s in State},
            "overdue": overdue.get(p.id, 0), "escalated": escalated.get(p.id, 0),
            "loaded_at": _iso(p.loaded_at, p.timezone), "events": p.head_seq,
        })
    return out


def tasks(conn: Connection, plan: Row, now: datetime, *, state: str | None = None,
          agency: str | None = None, lead: str | None = None, overdue: bool = False,
          blocked: bool = False, pattern: str | None = None,
          unit: str | None = None) -> list[dict[str, Any]]:
    now_u = clock.to_utc(now)
    q = _with_escalation(select(TASK, *_open_esc_columns())).where(TASK.c.plan_id == plan.id)
    filtered = bool(state or agency or lead or overdue or blocked or unit
                    or (pattern and "/" in pattern))
    # Unfiltered: one line per task of the plan (a fanned-out task as its group, with counts).
    # Filtered or a pattern with '/': the concrete work, instances included.
    q = q.where(TASK.c.kind != (Kind.GROUP if filtered else Kind.INSTANCE))
    if unit:
        q = q.where(TASK.c.unit == unit)
    if state:
        q = q.where(TASK.c.state == state)
    if blocked:
        q = q.where(TASK.c.state == State.BLOCKED)
    if overdue:
        q = q.where(TASK.c.overdue_at <= now_u, TASK.c.state != State.APPROVED)
    # co_leads and support are JSON lists of ids; ids cannot contain '"', so these match exactly.
    if lead:
        q = q.where(or_(TASK.c.lead == lead, TASK.c.co_leads.contains(f'"{lead}"')))
    if agency:
        q = q.where(or_(TASK.c.lead == agency, TASK.c.co_leads.contains(f'"{agency}"'),
                        TASK.c.support.contains(f'"{agency}"')))
    if pattern:
        q = q.where(TASK.c.task_id.like(_like(pattern), escape="\\"))
    names = agency_names(conn, plan)
    out = [with_names(task_dict(r, plan, now_u), names)
           for r in conn.execute(q.order_by(TASK.c.position, TASK.c.pk))]
    groups = [t for t in out if t["kind"] == Kind.GROUP]
    if groups:
        counts = instance_counts(conn, plan, [g["id"] for g in groups])
        for g in groups:
            g["instances"] = counts.get(g["id"], {})
    return out


def instance_counts(conn: Connection, plan: Row, parents: list[str]) -> dict[str, dict]:
    """Per group task: how many of its instances are in each state."""
    out: dict[str, dict[str, int]] = {}
    for parent, state, n in conn.execute(
            select(TASK.c.parent, TASK.c.state, func.count())
            .where(TASK.c.plan_id == plan.id, TASK.c.parent.in_(parents))
            .group_by(TASK.c.parent, TASK.c.state)):
        out.setdefault(parent, dict.fromkeys((s.value for s in State), 0))[state] = n
    return out


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def task_detail(conn: Connection, plan: Row, task_pk: int, now: datetime,
                last: int = 10) -> dict[str, Any]:
    now_u = clock.to_utc(now)
    row = conn.execute(_with_escalation(select(TASK, *_open_esc_columns()))
                       .where(TASK.c.pk == task_pk)).one()
    out = with_names(task_dict(row, plan, now_u), agency_names(conn, plan))
    deps = dict(conn.execute(select(TASK.c.task_id, TASK.c.state).where(
        TASK.c.plan_id == plan.id, TASK.c.task_id.in_(out["depends_on"]))).all())
    kinds = dict(conn.execute(select(TASK.c.task_id, TASK.c.kind).where(
        TASK.c.plan_id == plan.id, TASK.c.task_id.in_(out["depends_on"]))).all())
    paired = set()
    if row.kind == Kind.GROUP and out["depends_on"]:
        paired = set(conn.execute(select(DEP.c.depends_on).where(
            DEP.c.plan_id == plan.id, DEP.c.task_id.like(f"{_like(row.task_id)}/%", escape="\\"),
            DEP.c.depends_on.contains("/"))).scalars())
        paired = {p.rsplit("/", 1)[0] for p in paired}
    out["dependencies"] = [
        {"id": d, "state": deps.get(d),
         "waits_for": "the same unit" if "/" in d or d in paired else
                      "every instance" if kinds.get(d) == Kind.GROUP else "the task"}
        for d in out["depends_on"]]
    if row.kind == Kind.GROUP:
        out["instances"] = instance_counts(conn, plan, [row.task_id]).get(row.task_id, {})
    out["escalation"] = None if row.esc_level is None else {
        "level": row.esc_level, "escalated_to": row.esc_to, "reason": row.esc_reason,
        "since": _iso(row.esc_since, plan.timezone),
        "raised_at": _iso(row.esc_raised, plan.timezone),
    }
    out["stall"] = stall_clock(row, plan)
    events = conn.execute(select(EVENT).where(EVENT.c.plan_id == plan.id,
                                              EVENT.c.task_id == row.task_id)
                          .order_by(EVENT.c.seq.desc()).limit(last)).all()
    out["last_moves"] = [event_dict(e, plan) for e in reversed(events)]
    return out


def stall_clock(row: Row, plan: Row) -> dict[str, Any]:
    """The task's stall clock: its length (``after``; None when it cannot stall, and ``off``
    says why: "never" or "no due date"), when it runs out (``at``, while it runs) and why
    holidays stopped it on the way (``paused``, for a clock in working days)."""
    span = task_clocks(row.clock, row.due, plan).stall
    off = None
    if span is None:
        off = "never" if task_clocks(row.clock, row.due or date.min, plan).stall is None \
            else "no due date"
    at = row.stall_at if span is not None else None
    return {"after": str(span) if span else None, "off": off, "at": _iso(at, plan.timezone),
            "paused": span.paused(span.after(at, -1), at) if span and at else None}


def event_dict(e: Row, plan: Row, task: str | None = None) -> dict[str, Any]:
    """An event as JSON. An extension also carries ``old_due``, ``new_due`` and ``in_time``;
    an upgrade the fields it changed (``changes``; only ``task``'s when given)."""
    out = {
        "seq": e.seq, "plan": e.plan_id, "task": e.task_id, "event": e.event,
        "from": e.from_state, "to": e.to_state, "actor": e.actor, "person": e.person,
        "at": _iso(e.at, plan.timezone), "note": e.note,
    }
    if e.event in ESCALATION_EVENTS:
        out.update(escalated_to=e.escalated_to, level=e.level, reason=e.reason)
    elif e.event == EventKind.EXTEND:
        data = json.loads(e.data or "{}")
        out.update(old_due=data.get("old_due"), new_due=data.get("new_due"),
                   in_time=data.get("in_time"))
    elif e.event == EventKind.UPGRADE:
        out["changes"] = upgrade_changes(json.loads(e.data or "{}"), task)
    elif e.event == EventKind.REMINDER:
        out.update(escalated_to=e.escalated_to)
    if e.event in (EventKind.REMINDER, EventKind.DUE_FIXED) and e.data:
        out["data"] = json.loads(e.data)
    out["hash"] = e.hash
    return out


def upgrade_changes(data: dict[str, Any], task: str | None) -> list[dict[str, Any]]:
    """What an upgrade changed (of ``task``, when given: the task added or removed too)."""
    changes = recorded_changes(data)
    if task is None:
        return changes
    mine = [c for c in changes if c["task"] == task]
    for how in ("added", "removed"):
        if task in (data.get(how) or ()):
            mine.insert(0, {"task": task, "field": None, "old": None, "new": how})
    return mine


def history(conn: Connection, plan: Row, *, task: str | None = None, agency: str | None = None,
            events: Iterable[str] | None = None, since: datetime | None = None,
            until: datetime | None = None) -> list[dict[str, Any]]:
    return list(iter_history(conn, plan, task=task, agency=agency, events=events, since=since,
                             until=until))


def iter_history(conn: Connection, plan: Row, *, task: str | None = None,
                 agency: str | None = None, events: Iterable[str] | None = None,
                 since: datetime | None = None,
                 until: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The plan's events oldest first, streamed: ``agency`` acted or was escalated to;
    ``events`` are kinds; ``since`` and ``until`` are inclusive. Parsing: workflow.views.asof."""
    q = select(EVENT).where(EVENT.c.plan_id == plan.id)
    if task is not None:  # its own events, and the plan's upgrades that changed it
        q = q.where(or_(EVENT.c.task_id == task, and_(EVENT.c.task_id.is_(None),
                                                      EVENT.c.event == EventKind.UPGRADE)))
    if agency is not None:
        q = q.where(or_(EVENT.c.actor == agency, EVENT.c.escalated_to == agency))
    if events is not None:
        q = q.where(EVENT.c.event.in_(list(events)))
    if since is not None:
        q = q.where(EVENT.c.at >= clock.to_utc(since))
    if until is not None:
        q = q.where(EVENT.c.at <= clock.to_utc(until))
    for e in conn.execute(q.order_by(EVENT.c.seq).execution_options(yield_per=1000)):
        out = event_dict(e, plan, task)
        if task is None or e.task_id == task or out["changes"]:
            yield out


SUMMARY_COLUMNS = ("tasks", "approved", "on_time", "done_late", "overdue", "not_yet_due",
                   "awaiting_approval", "blocked", "escalated")


def summary(conn: Connection, plan: Row, now: datetime, by: str = "agency") -> dict[str, Any]:
    """Per lead agency (or task, or unit) and for the plan, classified as the government's
    task-tracking reports do. Fanned-out and recurring tasks count once per instance; a task
    with joint leads counts once for each of them (and once in ``total``). An overdue task is
    counted against whoever must act: one reported by its due day and awaiting approval is its
    approver's delay (``approvers``), not in its lead's ``overdue``."""
    now_u = clock.to_utc(now)
    is_open = TASK.c.state != State.APPROVED
    late = and_(is_open, TASK.c.overdue_at.is_not(None), TASK.c.overdue_at <= now_u)

    def n(cond):
        return func.sum(case((cond, 1), else_=0))

    key = {"agency": TASK.c.lead, "task": func.coalesce(TASK.c.parent, TASK.c.task_id),
           "unit": func.coalesce(TASK.c.unit, "-")}[by]
    keys = [key, *([TASK.c.co_leads] if by == "agency" else [])]
    q = _with_escalation(select(
        key.label("key"), *keys[1:], func.count(),
        n(TASK.c.state == "approved"),
        n(and_(TASK.c.state == "approved", TASK.c.on_time.is_(True))),
        n(and_(TASK.c.state == "approved", TASK.c.on_time.is_(False))),
        n(late), n(and_(is_open, ~late)), n(TASK.c.state == State.REPORTED),
        n(TASK.c.state == State.BLOCKED),
        n(ESC.c.id.is_not(None)),
    )).where(TASK.c.plan_id == plan.id, TASK.c.kind != Kind.GROUP).group_by(*keys)
    rows: dict[str, dict[str, int]] = {}
    total = dict.fromkeys(SUMMARY_COLUMNS, 0)
    for r in conn.execute(q):
        values = r[len(keys):]
        counts = dict(zip(SUMMARY_COLUMNS, (int(v or 0) for v in values), strict=True))
        for name in _names(r, by):
            _add(rows.setdefault(name, dict.fromkeys(SUMMARY_COLUMNS, 0)), counts)
        _add(total, counts)
    approvers = _approvers_delays(conn, plan, now_u, key, by, rows, total)
    return {"plan": plan.id, "at": clock.local(now_u, plan.timezone).isoformat(), "by": by,
            "rows" if by != "agency" else "agencies": [{by: k, **rows[k]} for k in sorted(rows)],
            "total": total,
            "approvers": [{"agency": a, "approvals_overdue": approvers[a]}
                          for a in sorted(approvers)]}


def _names(r: Row, by: str) -> tuple[str, ...]:
    """The rows a group counts in: by agency, every lead of its tasks; else its key."""
    return (r.key, *co_leads(r)) if by == "agency" else (r.key,)


def _add(into: dict[str, int], counts: dict[str, int], sign: int = 1) -> None:
    for k, v in counts.items():
        into[k] += sign * v


def _approvers_delays(conn: Connection, plan: Row, now_u: datetime, key, by: str,
                      rows: dict, total: dict) -> dict[str, int]:
    """Moves each overdue task that is its approver's delay (``rules.leads.approvers_delay``,
    judged row by row among the reported overdue ones) out of its leads' ``overdue``; returns
    how many each approver owes."""
    q = select(key.label("key"), TASK.c.co_leads, TASK.c.approver, TASK.c.state,
               TASK.c.reported_at, TASK.c.overdue_at).where(
        TASK.c.plan_id == plan.id, TASK.c.kind != Kind.GROUP,
        TASK.c.state == State.REPORTED, TASK.c.overdue_at <= now_u)
    owed: dict[str, int] = {}
    one = {"overdue": 1}
    for t in conn.execute(q):
        if not approvers_delay(t, now_u):
            continue
        owed[t.approver] = owed.get(t.approver, 0) + 1
        for name in _names(t, by):
            _add(rows[name], one, -1)
        _add(total, one, -1)
    return owed


def open_escalations(conn: Connection, plan: Row, now: datetime) -> list[dict[str, Any]]:
    now_u = clock.to_utc(now)
    rows = conn.execute(select(ESC).where(ESC.c.plan_id == plan.id, ESC.c.resolved_at.is_(None))
                        .order_by(ESC.c.since, ESC.c.task_id)).all()
    return [{"task": r.task_id, "plan": plan.id, "escalated_to": r.escalated_to,
             "level": r.level, "reason": r.reason, "must_act": r.must_act,
             "since": _iso(r.since, plan.timezone),
             "age_hours": round((now_u - r.since).total_seconds() / 3600, 1)} for r in rows]


def members(conn: Connection, plan: Row, agency: str | None = None) -> list[dict[str, Any]]:
    """The plan's memberships (of one agency), by agency then person."""
    rows = conn.execute(select(MEMBER).where(MEMBER.c.plan_id == plan.id)
                        .order_by(MEMBER.c.agency, MEMBER.c.person))
    return [{"plan": plan.id, "person": r.person, "agency": r.agency,
             "role": role(plan, r.agency), "added_by": r.added_by,
             "added_at": clock.local(r.added_at, plan.timezone).isoformat()}
            for r in rows if agency is None or r.agency == agency]
