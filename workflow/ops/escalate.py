"""Escalations in the database: raised, climbed and resolved inside the caller's transaction.

The rules (which cause, which level, who is next) are ``workflow.rules.escalation``; this
module records what they decide: the open escalation's row, its history events and, for
raised and climbed ones, the outbox rows delivered after the transaction commits.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.ops import outbox
from workflow.rules.clocks import Clocks
from workflow.rules.escalation import (
    Action,
    Cause,
    cause_of,
    escalation_chain,
    level_at,
    next_climb,
)
from workflow.rules.kinds import EventKind, Kind, Reason, State, Step
from workflow.rules.lifecycle import task_clocks
from workflow.store.audit import Appender
from workflow.store.models import EscalationRow, TaskRow
from workflow.store.timeorder import task_last_at

TASK = TaskRow.__table__
ESC = EscalationRow.__table__


def raise_escalation(conn: Connection, log: Appender, task, chain: list[str], cause: Cause,
                     clocks: Clocks, now: datetime) -> list[Action]:
    """Opens an escalation at level 1, then climbs it as far as the time since its cause."""
    step = clocks.step
    level, max_level = level_at(cause, len(chain), step, now)
    to = chain[cause.first]
    conn.execute(ESC.insert().values(
        plan_id=task.plan_id, task_pk=task.pk, task_id=task.task_id, reason=cause.reason,
        must_act=cause.must_act, chain=json.dumps(chain), level=level,
        escalated_to=chain[cause.first + level - 1], since=cause.since,
        raised_at=to_utc(now),
        next_climb_at=next_climb(cause.since, level, max_level, step)))
    raised = _record(log, task, Step.RAISED, 1, to, cause.reason, now, cause.must_act)
    if cause.reason == Reason.STALLED and clocks.stall is not None:
        # The stall clock ran the task's stall_after up to ``since``: did holidays stop it?
        began = clocks.stall.after(cause.since, -1)
        raised = _paused(raised, "stall", clocks.stall.paused(began, cause.since))
    actions = [raised]
    for lvl in range(2, level + 1):
        actions.append(_record(log, task, Step.CLIMBED, lvl, chain[cause.first + lvl - 1],
                               cause.reason, now, cause.must_act))
    return _climbs_paused(actions, step, cause.since, now)


def _paused(action: Action, which: str, why: str | None) -> Action:
    return action if why is None else replace(action, clock=which, paused=why)


def _climbs_paused(actions: list[Action], step, since: datetime, now: datetime) -> list[Action]:
    """Climbs counted in working days say when holidays held them back."""
    if not any(a.action == Step.CLIMBED for a in actions):
        return actions
    why = step.paused(since, now)
    return [_paused(a, "step", why) if a.action == Step.CLIMBED else a for a in actions]


def _record(log: Appender, task, action: str, level: int, to: str, reason: str,
            now: datetime, must_act: str, note: str | None = None) -> Action:
    event = log.add(event=f"escalation_{action}", at=now, task_id=task.task_id,
                    from_state=task.state, to_state=task.state, escalated_to=to, level=level,
                    reason=reason, note=note or f"{must_act} must act ({reason})")
    # To the outbox in this same transaction, whatever the mover's environment: the host that
    # delivers decides the channel. Resolutions are not sent (SPEC.md: raises and climbs are).
    outbox.enqueue(log, task, event=event, action=action, level=level, to=to, reason=reason,
                   must_act=must_act, now=now)
    return Action(task.task_id, action, level, to, reason, task.plan_id)


def resolve_open(conn: Connection, log: Appender, task, now: datetime,
                 why: str) -> list[Action]:
    """Closes the task's open escalation, if any, naming the agency and level it had reached."""
    row = conn.execute(select(ESC).where(ESC.c.task_pk == task.pk,
                                         ESC.c.resolved_at.is_(None))).one_or_none()
    if row is None:
        return []
    conn.execute(update(ESC).where(ESC.c.id == row.id).values(resolved_at=to_utc(now),
                                                              next_climb_at=None))
    log.add(event=EventKind.ESCALATION_RESOLVED, at=now, task_id=task.task_id,
            from_state=task.state, to_state=task.state, escalated_to=row.escalated_to,
            level=row.level, reason=row.reason, note=why)
    return [Action(task.task_id, Step.RESOLVED, row.level, row.escalated_to, row.reason,
                   task.plan_id)]


def recheck_open(conn: Connection, log: Appender, plan, now: datetime) -> list[Action]:
    """Every open escalation of the plan against its task as it is now (after an upgrade)."""
    return _recheck(conn, log, plan, now, None)


def recheck_task(conn: Connection, log: Appender, plan, task_pk: int,
                 now: datetime) -> list[Action]:
    """One task's open escalation against the task as it is now (after an extension)."""
    return _recheck(conn, log, plan, now, [ESC.c.task_pk == task_pk])


def _each_once(conn: Connection, query, conditions: list | None) -> list:
    """The rows of ``query`` meeting any of ``conditions``, each once, in plan order.

    One query per condition rather than one with OR: SQLite answers each from its own index,
    where an OR over different columns falls back to reading the whole table."""
    if conditions is None:
        rows = conn.execute(query).all()
    else:
        found = {}
        for condition in conditions:
            for row in conn.execute(query.where(condition)):
                found[row.pk if "esc_id" not in row._fields else row.esc_id] = row
        rows = list(found.values())
    return sorted(rows, key=lambda r: (r.position, r.pk))


def _recheck(conn: Connection, log: Appender, plan, now: datetime,
             which: list | None) -> list[Action]:
    """Resolves an open escalation whose cause is gone or changed (step 2 of the sweep raises
    the one that holds); climbs one that is due, computed from its start, never down."""
    now_u = to_utc(now)
    actions: list[Action] = []
    query = (select(TASK, ESC.c.id.label("esc_id"), ESC.c.level.label("esc_level"),
                    ESC.c.escalated_to.label("esc_to"), ESC.c.reason.label("esc_reason"),
                    ESC.c.must_act.label("esc_must_act"), ESC.c.chain.label("esc_chain"),
                    ESC.c.since.label("esc_since"))
             .join(ESC, TASK.c.pk == ESC.c.task_pk)
             .where(ESC.c.plan_id == plan.id, ESC.c.resolved_at.is_(None)))
    for row in _each_once(conn, query, which):
        if _recorded_later(conn, row, now_u):
            continue
        chain = escalation_chain(row.lead, row.approver, plan.coordinator, plan.issuer)
        cause = cause_of(row, chain, now_u)
        if cause is None:
            actions += resolve_open(conn, log, row, now, "its cause no longer holds")
            continue
        if (cause.reason, cause.must_act, cause.since, chain) != (
                row.esc_reason, row.esc_must_act, row.esc_since, json.loads(row.esc_chain)):
            # A cause of higher precedence joined (stalled, then overdue), or an upgrade moved
            # the cause's start or the chain: close this one; the sweep raises the one that holds.
            actions += resolve_open(conn, log, row, now, "superseded: now "
                                    f"{cause.reason}, {cause.must_act} must act")
            continue
        step = task_clocks(row.clock, row.due, plan).step
        level, max_level = level_at(cause, len(chain), step, now_u)
        if level <= row.esc_level:
            continue
        actions += _climbs_paused(
            [_record(log, row, Step.CLIMBED, lvl, chain[cause.first + lvl - 1], cause.reason,
                     now, cause.must_act) for lvl in range(row.esc_level + 1, level + 1)],
            step, cause.since, now_u)
        conn.execute(update(ESC).where(ESC.c.id == row.esc_id).values(
            level=level, escalated_to=chain[cause.first + level - 1],
            next_climb_at=next_climb(cause.since, level, max_level, step)))
    return actions


def _recorded_later(conn: Connection, task, now_u: datetime) -> bool:
    """A task whose history already holds a later event (a sweep run with a clock behind it)
    is left to a later sweep: an escalation is never recorded before what it follows."""
    last = task_last_at(conn, task.plan_id, task.task_id)
    return last is not None and last > now_u


def sweep_plan(conn: Connection, log: Appender, plan, now: datetime) -> list[Action]:
    """One plan's sweep inside the caller's write transaction (which holds the plan's lock)."""
    now_u = to_utc(now)
    actions: list[Action] = []

    # 1. Open escalations that may have changed with time alone: due to climb, or stalled
    #    ones whose task has since become overdue. Everything else about an open escalation
    #    changes only by a move (which resolves it) or an upgrade (which rechecks them all),
    #    so a steady-state sweep reads nothing but these index ranges.
    actions += _recheck(conn, log, plan, now, [
        ESC.c.next_climb_at <= now_u,
        and_(ESC.c.reason == Reason.STALLED, TASK.c.overdue_at <= now_u)])

    # 2. Tasks that need an escalation and have none open: indexed range scans only.
    has_open = select(ESC.c.id).where(ESC.c.task_pk == TASK.c.pk,
                                      ESC.c.resolved_at.is_(None)).exists()
    candidates = _each_once(conn, select(TASK).where(TASK.c.plan_id == plan.id, ~has_open), [
        and_(TASK.c.state == State.BLOCKED, TASK.c.kind != Kind.GROUP),  # groups only roll up
        and_(TASK.c.overdue_at.is_not(None), TASK.c.overdue_at <= now_u),
        and_(TASK.c.stall_at.is_not(None), TASK.c.stall_at <= now_u),
    ])
    for task in candidates:
        if _recorded_later(conn, task, now_u):
            continue
        chain = escalation_chain(task.lead, task.approver, plan.coordinator, plan.issuer)
        cause = cause_of(task, chain, now_u)
        if cause is not None:
            actions += raise_escalation(conn, log, task, chain, cause,
                                        task_clocks(task.clock, task.due, plan), now)
    return actions
