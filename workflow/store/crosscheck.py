"""The tables against the history: what ``audit verify`` checks once the hash chain holds.

Every row workflow keeps beside the history is a consequence of events in it, so each can be
rebuilt from them and compared:

- a task's state and version: its moves (each one a move the state machine allows from the
  state the one before left, an unblock back to the state it was blocked from);
- the membership table: the ``member_added`` / ``member_removed`` events, with who added;
- the escalation rows: one per ``escalation_raised``, climbed and resolved by its events;
- the outbox: each row one raised or climbed escalation event, or a reminder, saying what
  that event says.

The first disagreement is an ``AuditError`` (exit 7) naming it. On PostgreSQL the database's
guards refuse these changes from a person's role (revision 0003); on SQLite, or by a role that
owns the tables, they can still be made, and this is where they show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.errors import AuditError
from workflow.i18n import N_, _
from workflow.rules.machine import TRIGGERS, machine
from workflow.store.models import DeliveryRow, EscalationRow, MemberRow, TaskRow

TASK, MEMBER = TaskRow.__table__, MemberRow.__table__
ESC, OUTBOX = EscalationRow.__table__, DeliveryRow.__table__
MEMBER_EVENTS = ("member_added", "member_removed")


@cache
def _destinations() -> dict[tuple[str, str], tuple[str, ...]]:
    """(trigger, from state) -> the states the machine may take the task to."""
    return {(t, src): tuple(tr.dest for tr in trs)
            for t, ev in machine().events.items() for src, trs in ev.transitions.items()}


def _same_moment(a: datetime | None, b: datetime | None) -> bool:
    return (a is None) == (b is None) and (a is None or to_utc(a) == to_utc(b))


@dataclass
class Episode:
    """One escalation as its events tell it."""

    seq: int
    reason: str
    level: int
    escalated_to: str
    raised_at: datetime
    resolved_at: datetime | None = None


@dataclass
class Replay:
    """Folds a plan's events (in seq order) into what the tables must hold."""

    plan_id: str
    tasks: dict[str, tuple[str, int]] = field(default_factory=dict)  # state after, moves
    blocked_from: dict[str, str] = field(default_factory=dict)
    members: dict[tuple[str, str], str] = field(default_factory=dict)  # -> who added
    episodes: dict[str, list[Episode]] = field(default_factory=dict)
    notices: dict[int, dict[str, Any]] = field(default_factory=dict)  # raised/climbed by seq
    problem: str | None = None  # the first move the state machine does not allow

    def feed(self, e: dict[str, Any]) -> None:
        kind = e["event"]
        if kind in TRIGGERS:
            self._move(e)
        elif kind in MEMBER_EVENTS:
            data = json.loads(e["data"] or "{}")
            key = (data.get("person"), data.get("agency"))
            if kind == "member_added":
                self.members[key] = e["person"]
            else:
                self.members.pop(key, None)
        elif kind.startswith("escalation_"):
            self._escalation(e)
        elif kind == "reminder":  # delivered like an escalation: one outbox row
            self.notices[e["seq"]] = {"action": "reminder", "task": e["task_id"], "level": None,
                                      "escalated_to": e["escalated_to"], "reason": e["reason"]}

    def _move(self, e: dict[str, Any]) -> None:
        task = e["task_id"]
        state, moves = self.tasks.get(task, ("assigned", 0))
        self.tasks[task] = (e["to_state"], moves + 1)
        if self.problem is not None:
            return
        where = _("plan {plan}: event seq {seq} ({event} on {task})").format(
            plan=self.plan_id, seq=e["seq"], event=e["event"], task=task)
        if e["from_state"] != state:
            self.problem = _("{where} starts from {source}, but the history before it leaves the "
                             "task {state}").format(where=where, source=e["from_state"],
                                                    state=state)
        elif e["to_state"] not in _destinations().get((e["event"], state), ()):
            self.problem = _("{where}: the state machine does not {event} a task that is {state} "
                             "(to {dest})").format(where=where, event=e["event"], state=state,
                                                   dest=e["to_state"])
        elif e["event"] == "unblock" and e["to_state"] != self.blocked_from.get(task):
            self.problem = _("{where} goes back to {dest}, but the task was blocked from "
                             "{source}").format(where=where, dest=e["to_state"],
                                                source=self.blocked_from.get(task))
        if e["event"] == "block":
            self.blocked_from[task] = state

    def _escalation(self, e: dict[str, Any]) -> None:
        kind, episodes = e["event"], self.episodes.setdefault(e["task_id"], [])
        if kind == "escalation_raised":
            episodes.append(Episode(e["seq"], e["reason"], e["level"], e["escalated_to"],
                                    e["at"]))
        elif episodes and kind == "escalation_climbed":
            episodes[-1].level, episodes[-1].escalated_to = e["level"], e["escalated_to"]
        elif episodes and kind == "escalation_resolved":
            episodes[-1].resolved_at = e["at"]
        if kind in ("escalation_raised", "escalation_climbed"):
            self.notices[e["seq"]] = {"action": kind.removeprefix("escalation_"),
                                      "task": e["task_id"], "level": e["level"],
                                      "escalated_to": e["escalated_to"], "reason": e["reason"]}

    # ------------------------------------------------------------------ the tables

    def check(self, conn: Connection) -> None:
        if self.problem is not None:
            raise AuditError(_("{problem}; the history was written outside workflow").format(
                problem=self.problem))
        self._tasks(conn)
        self._members(conn)
        self._escalations(conn)
        self._outbox(conn)

    def _tasks(self, conn: Connection) -> None:
        rows = conn.execute(select(TASK.c.task_id, TASK.c.state, TASK.c.version).where(
            TASK.c.plan_id == self.plan_id, TASK.c.kind != "group")
            .execution_options(yield_per=5000))
        for task_id, state, version in rows:
            expected, moves = self.tasks.get(task_id, ("assigned", 0))
            if (state, version) != (expected, moves):
                raise AuditError(_("plan {plan}: task {task} is {state} (version {version}) but "
                                   "its history says {expected} after {moves} move(s); the task "
                                   "table was changed outside workflow").format(
                    plan=self.plan_id, task=task_id, state=state, version=version,
                    expected=expected, moves=moves))

    def _members(self, conn: Connection) -> None:
        have = {(r.person, r.agency): r.added_by for r in conn.execute(
            select(MEMBER.c.person, MEMBER.c.agency, MEMBER.c.added_by)
            .where(MEMBER.c.plan_id == self.plan_id))}
        for (person, agency), by in sorted(have.items()):
            if (person, agency) not in self.members:
                raise AuditError(_("plan {plan}: {person} is a member of {agency} but no "
                                   "member_added event in the history made them one; the "
                                   "membership table was changed outside workflow").format(
                    plan=self.plan_id, person=person, agency=agency))
            if self.members[(person, agency)] != by:
                raise AuditError(_("plan {plan}: {person}'s membership of {agency} says added by "
                                   "{by}, but the history says {said}; the membership table was "
                                   "changed outside workflow").format(
                    plan=self.plan_id, person=person, agency=agency, by=by,
                    said=self.members[(person, agency)]))
        for person, agency in sorted(set(self.members) - set(have)):
            raise AuditError(_("plan {plan}: the history makes {person} a member of {agency}, "
                               "but the membership table does not; it was changed outside "
                               "workflow").format(plan=self.plan_id, person=person,
                                                  agency=agency))

    def _escalations(self, conn: Connection) -> None:
        rows: dict[str, list] = {}
        for r in conn.execute(select(ESC).where(ESC.c.plan_id == self.plan_id)
                              .order_by(ESC.c.id)):
            rows.setdefault(r.task_id, []).append(r)
        for task in sorted(set(rows) | set(self.episodes)):
            told, kept = self.episodes.get(task, []), rows.get(task, [])
            for i in range(max(len(told), len(kept))):
                ep = told[i] if i < len(told) else None
                row = kept[i] if i < len(kept) else None
                what = _("plan {plan}: task {task}: escalation {n}").format(
                    plan=self.plan_id, task=task, n=i + 1)
                if ep is None:
                    raise AuditError(_("{what} ({reason}, to {to}) has no escalation_raised "
                                       "event; it was added outside workflow").format(
                        what=what, reason=row.reason, to=row.escalated_to))
                if row is None:
                    raise AuditError(_("{what}, raised at event seq {seq}, is missing from the "
                                       "escalations; it was deleted outside workflow").format(
                        what=what, seq=ep.seq))
                if ((row.reason, row.level, row.escalated_to) != (
                        ep.reason, ep.level, ep.escalated_to)
                        or not _same_moment(row.raised_at, ep.raised_at)
                        or not _same_moment(row.resolved_at, ep.resolved_at)):
                    state = N_("resolved") if row.resolved_at else N_("open")
                    said = N_("resolved") if ep.resolved_at else N_("open")
                    raise AuditError(_(
                        "{what} is {state} at level {level} ({to}) but its events (from seq "
                        "{seq}) say {said} at level {said_level} ({said_to}); it was changed "
                        "outside workflow").format(
                        what=what, state=_(state), level=row.level, to=row.escalated_to,
                        seq=ep.seq, said=_(said), said_level=ep.level, said_to=ep.escalated_to))

    def _outbox(self, conn: Connection) -> None:
        seen: set[int] = set()
        for r in conn.execute(select(OUTBOX.c.id, OUTBOX.c.event_seq, OUTBOX.c.task_id,
                                     OUTBOX.c.payload)
                              .where(OUTBOX.c.plan_id == self.plan_id).order_by(OUTBOX.c.id)):
            what = _("plan {plan}: outbox row {row} (event seq {seq})").format(
                plan=self.plan_id, row=r.id, seq=r.event_seq)
            told = self.notices.get(r.event_seq)
            if told is None:
                raise AuditError(_("{what}: that event is not a raised or climbed escalation; the "
                                   "row was added outside workflow").format(what=what))
            if r.event_seq in seen:
                raise AuditError(_("{what}: a second row for the same event; it was added outside "
                                   "workflow").format(what=what))
            seen.add(r.event_seq)
            try:
                payload = json.loads(r.payload)
            except ValueError:
                payload = None
            if (not isinstance(payload, dict) or r.task_id != told["task"]
                    or payload.get("plan") != self.plan_id
                    or any(payload.get(k) != v for k, v in told.items())):
                raise AuditError(_("{what} does not say what its event says; it was changed "
                                   "outside workflow").format(what=what))
