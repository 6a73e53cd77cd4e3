"""Escalation rules as pure functions of a task, its chain and ``now``.

Climbing is computed, not counted: an escalation whose cause began at ``since`` stands at level
``1 +`` the number of whole ``step_after`` lengths since then (capped at the top of the chain;
a length in working days skips weekends and holidays: ``rules.clocks.Span``). So a sweep that
comes a week late lands exactly where sweeps every fifteen minutes would have, and a second
sweep at the same moment finds nothing to do. For that, an open escalation always reflects the
cause that holds now: when a cause of higher precedence joins (a stalled task becomes overdue)
it is resolved and raised anew for that cause, dated from when the task first needed attention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from workflow.clock import to_utc
from workflow.rules.clocks import Span
from workflow.rules.kinds import OPEN_STATES, Reason, State
from workflow.rules.leads import leads, must_act


def escalation_chain(lead: str, approver: str, coordinator: str, issuer: str) -> list[str]:
    """Lowest first: lead, an approver from outside (just below the coordinator), coordinator,
    issuer. Each agency once, at its highest place: the issuer tops every chain, so when the
    issuer leads nobody is above it (not the coordinator, who answers to it)."""
    chain: list[str] = []
    for agency in (issuer, coordinator, approver, lead):  # highest first
        if agency and agency not in chain:
            chain.append(agency)
    return chain[::-1]


@dataclass(frozen=True)
class Cause:
    reason: str
    must_act: str
    first: int  # index in the chain of the agency it is first escalated to
    since: datetime  # UTC


@dataclass(frozen=True)
class Action:
    task: str
    action: str  # a Step: raised | climbed | resolved
    level: int
    escalated_to: str
    reason: str
    plan: str
    # A clock in working days that stood still for holidays on the way here: which ("stall"
    # for the stall that raised it, "step" for the climbs) and why (``Span.paused``).
    clock: str | None = None
    paused: str | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.paused is None:
            del out["clock"], out["paused"]
        return out


def cause_of(task, chain: list[str], now: datetime) -> Cause | None:
    """The escalation a task warrants now (first of blocked, overdue, stalled), or None."""
    now = to_utc(now)
    top = len(chain) - 1
    lead_at = chain.index(task.lead)
    if task.state == State.BLOCKED:
        # Blocked by a supporting agency: the lead must see to it; by a lead (any joint
        # lead): the agency above the first lead.
        first = lead_at if task.blocked_by and task.blocked_by not in leads(task) else lead_at + 1
        return Cause(Reason.BLOCKED, task.lead, min(first, top), task.last_move_at)
    if task.state not in OPEN_STATES:
        return None
    who = must_act(task)
    first = min(chain.index(who) + 1, top)
    held: list[tuple[str, datetime]] = []  # (reason, since), in order of precedence
    if task.overdue_at is not None and task.overdue_at <= now:
        held.append((Reason.OVERDUE, max(task.overdue_at, task.last_move_at)))
    if task.stall_at is not None and task.stall_at <= now:
        held.append((Reason.STALLED, task.stall_at))
    if not held:
        return None
    # The reason is the first cause that holds; the escalation dates from the earliest one, so
    # a stalled task that then becomes overdue does not fall back to level 1, and a late sweep
    # reaches the same level as sweeps that saw the stall first.
    return Cause(held[0][0], who, first, min(since for _, since in held))


def level_at(cause: Cause, chain_len: int, step: Span, now: datetime) -> tuple[int, int]:
    """(level, max level) for an escalation of this cause at ``now``."""
    max_level = chain_len - cause.first
    return min(1 + step.count(cause.since, now), max_level), max_level


def next_climb(since: datetime, level: int, max_level: int, step: Span) -> datetime | None:
    """When an escalation at ``level`` climbs next; None at the top of its chain."""
    return None if level >= max_level else step.after(since, level)


def chain_for(task, settings) -> list[str]:
    """The task's chain under the plan settings in force (coordinator, issuer)."""
    return escalation_chain(task.lead, task.approver, settings.coordinator, settings.issuer)
