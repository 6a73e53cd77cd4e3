"""The plan as it stood at any moment, replayed from its history.

As of a moment T, the plan is rebuilt by replaying the plan's events with ``at <= T`` in
``seq`` order, through the same rules the live writes use (``workflow.rules.lifecycle``):

- ``load`` creates the tasks (all ``assigned``), ``created`` adds a recurring occurrence,
  ``upgrade`` applies the row changes its event records (``data.rows``: each added and removed
  row in full, each changed column before and after);
- a move is ``lifecycle.apply_move``: the task's state, times and stall clock, the tasks
  waiting on it released, its group rolled up (an approval rated against the extensions
  granted before it);
- ``extend`` is ``lifecycle.extended``: the new due and the clocks that follow it;
- ``escalation_raised`` / ``climbed`` / ``resolved`` open, climb and close the task's
  escalation.

What the definition says about each task (title, lead, due, ...) comes from the task table
rewound through the upgrades' recorded changes, so it is what was in force at T; states, times
and escalations come from the events alone. At the present moment the result equals the live
tables (``tests/test_audit.py`` checks it on simulated plans). The load and upgrade events also
carry the canonical definition itself (``data.definition``, whose SHA-256 is ``data.digest``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import NotFoundError
from workflow.i18n import _
from workflow.rules import lifecycle
from workflow.rules.escalation import cause_of, chain_for
from workflow.rules.kinds import ESCALATION_EVENTS, MOVE_EVENTS, EventKind, Kind, State
from workflow.rules.lifecycle import Task
from workflow.rules.recurrence import next_create_at, rule_from_json
from workflow.store.lookup import settings_from
from workflow.store.models import EventRow, TaskRow
from workflow.store.rows import current, decode, decoded, plain

TASK, EVENT = TaskRow.__table__, EventRow.__table__


class Replay:
    """The plan's tasks and open escalations, replayed event by event. It is the rules'
    ``lifecycle.Tasks``: a move changes these dicts as it changes rows in the database."""

    def __init__(self, plan: Row, static: dict[str, dict[str, Any]], created: set[str]) -> None:
        self.plan_row = plan
        self.settings = _settings(plan, None)
        self.static = static  # task id -> the row as the definition had it at load
        self.created = created  # tasks that come into being with a `created` event
        self.tasks: dict[str, Task] = {}
        self.escalations: dict[str, dict[str, Any]] = {}
        self.extensions: dict[str, list[tuple[datetime, date]]] = defaultdict(list)
        self.loaded_at: datetime | None = None
        self.live: dict[str, str | None] = {}  # the tasks it has now -> their refs
        self.known: dict[str, str | None] = {}  # and those it had at load or later removed
        self._dependents: dict[str, list[str]] | None = None
        self._children: dict[str, list[str]] | None = None

    # ------------------------------------------------------------------ lifecycle.Tasks

    def task(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def dependents(self, task_id: str) -> list[Task]:
        if self._dependents is None:
            index: dict[str, list[str]] = defaultdict(list)
            for t in self.tasks.values():
                self._index_dependent(index, t)
            self._dependents = index
        return [self.tasks[d] for d in self._dependents.get(task_id, [])]

    def child_states(self, parent: str) -> dict[str, int]:
        if self._children is None:
            index: dict[str, list[str]] = defaultdict(list)
            for t in self.tasks.values():
                if t.get("parent"):
                    index[t.parent].append(t.task_id)
            self._children = index
        return dict(Counter(self.tasks[c].state for c in self._children.get(parent, [])))

    def followers(self, task_id: str) -> list[Task]:
        return [t for t in self.tasks.values()
                if t.get("due_after") == task_id and t.get("due") is None]

    def change(self, task: Task, changes: dict[str, Any]) -> None:
        task.update(changes)

    @staticmethod
    def _index_dependent(index: dict[str, list[str]], t: Task) -> None:
        if t.get("kind") != Kind.GROUP:  # a group's dependencies are its instances' edges
            for dep in json.loads(t.depends_on):
                index[dep].append(t.task_id)

    def _add(self, t: Task) -> None:
        """A new task joins the indexes already built (occurrences arrive one by one)."""
        self.tasks[t.task_id] = t
        if self._dependents is not None:
            self._index_dependent(self._dependents, t)
        if self._children is not None and t.get("parent"):
            self._children[t.parent].append(t.task_id)

    # ------------------------------------------------------------------ events

    def apply(self, e: Row) -> None:
        at = clock.to_utc(e.at)
        kind = e.event
        if kind == EventKind.LOAD:
            self._load(e, at)
        elif kind == EventKind.UPGRADE:
            self._upgrade(e)
        elif kind == EventKind.CREATED:
            self._create(e.task_id, at)
        elif kind in MOVE_EVENTS:
            if e.task_id in self.tasks:
                lifecycle.apply_move(self, self.tasks[e.task_id], e.event, e.actor, e.to_state,
                                     at, self.settings, self.extensions.get(e.task_id, ()))
        elif kind == EventKind.EXTEND:
            self._extend(e, at)
        elif kind in ESCALATION_EVENTS:
            self._escalation(e, at)
        elif kind == EventKind.DUE_FIXED and e.task_id in self.tasks:
            # The approval before it fixed the date already (the same rule); the event says so.
            t = self.tasks[e.task_id]
            due = date.fromisoformat(json.loads(e.data)["due"])
            t.update(lifecycle.due_changes(t, due, self.settings))
        elif kind == EventKind.REMINDER and e.task_id in self.tasks:
            t = self.tasks[e.task_id]
            t.update(lifecycle.reminded(t))
        # Other kinds (member_added, member_removed) carry no task state.

    def _born(self, values: dict[str, Any], open_deps: int, at: datetime) -> Task:
        t = Task(values)
        if t.get("due_after"):  # no date until its task is approved (``due_fixed``)
            t["due"] = None
        t.update(lifecycle.new_task(kind=t.kind, due=t.due, start=t.start, open_deps=open_deps,
                                    at=at, settings=self.settings, clock=t.get("clock")))
        return t

    def _load(self, e: Row, at: datetime) -> None:
        data = json.loads(e.data) if e.data else {}
        self.settings = _settings(self.plan_row, data.get("definition"))
        self.loaded_at = at
        self.tasks = {}
        for task_id, values in self.static.items():
            if task_id in self.created:
                continue
            t = self._born(values, len(json.loads(values["depends_on"])), at)
            if t.get("kind") == Kind.GROUP and t.get("rule"):
                t["next_create_at"] = next_create_at(rule_from_json(t.rule), None,
                                                     self.settings.timezone)
            self.tasks[task_id] = t
        self._dependents = self._children = None

    def _upgrade(self, e: Row) -> None:
        data = json.loads(e.data) if e.data else {}
        self.settings = _settings(self.plan_row, data.get("definition"))
        if data.get("rows") is None:  # an upgrade recorded before rows were kept: nothing
            return  # to replay
        rows = current(data["rows"])
        for task_id in rows["removed"]:
            self.tasks.pop(task_id, None)
            self.escalations.pop(task_id, None)
        for task_id, values in rows["added"].items():
            self.tasks[task_id] = Task(decoded(values))
        for task_id, diff in rows["changed"].items():
            if task_id in self.tasks:
                self.tasks[task_id].update({k: decode(k, pair[1]) for k, pair in diff.items()})
        self._dependents = self._children = None

    def _extend(self, e: Row, at: datetime) -> None:
        t = self.tasks.get(e.task_id)
        if t is None:
            return
        new_due = date.fromisoformat(json.loads(e.data)["new_due"])
        t.update(lifecycle.extended(t, new_due, self.settings))
        self.extensions[e.task_id].append((at, new_due))

    def _create(self, task_id: str, at: datetime) -> None:
        """A recurring occurrence, as ``workflow.ops.occurrences`` writes it."""
        values = self.static.get(task_id)
        if values is None:
            return
        deps = json.loads(values["depends_on"])
        open_deps = sum(1 for d in deps
                        if d in self.tasks and self.tasks[d].state != State.APPROVED)
        t = self._born(values, open_deps, at)
        self._add(t)
        group = self.tasks.get(t.get("parent") or "")
        if group is not None:
            if group.get("rule") and t.get("unit"):
                group["next_create_at"] = next_create_at(
                    rule_from_json(group.rule), date.fromisoformat(t.unit),
                    self.settings.timezone)
            lifecycle.roll_up(self, group.task_id, at, self.settings)

    def _escalation(self, e: Row, at: datetime) -> None:
        task_id = e.task_id
        if e.event == EventKind.ESCALATION_RESOLVED:
            self.escalations.pop(task_id, None)
            return
        if e.event == EventKind.ESCALATION_CLIMBED and task_id in self.escalations:
            self.escalations[task_id].update(level=e.level, escalated_to=e.escalated_to)
            return
        since, must_act = self._cause(task_id, e.reason, at)
        self.escalations[task_id] = {"level": e.level, "escalated_to": e.escalated_to,
                                     "reason": e.reason, "raised_at": at, "since": since,
                                     "must_act": must_act}

    def _cause(self, task_id: str, reason: str | None,
               at: datetime) -> tuple[datetime, str | None]:
        """When the escalation's cause began and who must act, as the engine judged them."""
        t = self.tasks.get(task_id)
        if t is None:
            return at, None
        try:
            cause = cause_of(t, chain_for(t, self.settings), at)
        except ValueError:
            cause = None
        if cause is None or cause.reason != reason:
            return at, None
        return cause.since, cause.must_act


def _settings(plan: Row, definition: dict | None) -> SimpleNamespace:
    """The plan's settings in force: from the definition an event carries, else the plan row."""
    d = definition or {}
    return SimpleNamespace(
        id=plan.id, timezone=d.get("timezone", plan.timezone),
        stall_after=d.get("stall_after", plan.stall_after),
        step_after=d.get("step_after", plan.step_after),
        coordinator=d.get("coordinator", plan.coordinator),
        issuer=d.get("issuer", plan.issuer),
        # the working-day clocks and calendar (``rules.clocks``): the event's definition has
        # them under the same keys as the plan row's, and has none when the plan used none
        definition=definition if definition is not None else plan.definition,
        **settings_from(d if definition is not None else json.loads(plan.definition or "{}")))


def _static(conn: Connection, plan: Row) -> tuple[dict[str, dict[str, Any]], dict]:
    """The task table rewound through every upgrade to what the first load wrote, and the
    tasks it has now (id -> ref)."""
    static = {r.task_id: decoded(plain(r)) for r in conn.execute(
        select(TASK).where(TASK.c.plan_id == plan.id))}
    live = {t: v.get("ref") for t, v in static.items()}
    upgrades = conn.execute(select(EVENT.c.task_id, EVENT.c.event, EVENT.c.data).where(
        EVENT.c.plan_id == plan.id, EVENT.c.event.in_((EventKind.UPGRADE, EventKind.EXTEND)))
        .order_by(EVENT.c.seq.desc()))
    for task_id, kind, data in upgrades:
        if kind == EventKind.EXTEND:  # the due it replaced
            if task_id in static:
                static[task_id]["due"] = date.fromisoformat(json.loads(data)["old_due"])
            continue
        rows = json.loads(data).get("rows") if data else None
        if rows is None:
            continue
        rows = current(rows)
        for task_id in rows["added"]:
            static.pop(task_id, None)
        for task_id, values in rows["removed"].items():
            static[task_id] = decoded(values)
        for task_id, diff in rows["changed"].items():
            if task_id in static:
                static[task_id].update({k: decode(k, pair[0]) for k, pair in diff.items()})
    return static, live


def rebuild(conn: Connection, plan: Row, at: datetime) -> Replay:
    """The plan as it stood at ``at`` (inclusive), from its history."""
    at_u = clock.to_utc(at)
    static, live = _static(conn, plan)
    created = set(conn.execute(select(EVENT.c.task_id).where(
        EVENT.c.plan_id == plan.id, EVENT.c.event == EventKind.CREATED)).scalars())
    replay = Replay(plan, static, created)
    replay.live = live
    replay.known = {**live, **{t: v.get("ref") for t, v in static.items()}}
    cols = [EVENT.c[k] for k in ("seq", "task_id", "event", "from_state", "to_state", "actor",
                                 "at", "escalated_to", "level", "reason", "data")]
    events = conn.execute(  # yield_per on the statement: on the connection it would stick
        select(*cols).where(EVENT.c.plan_id == plan.id, EVENT.c.at <= at_u)
        .order_by(EVENT.c.seq).execution_options(yield_per=2000))
    for e in events:
        replay.apply(e)
    if replay.loaded_at is None:
        loaded = clock.local(plan.loaded_at, plan.timezone).isoformat(timespec="minutes")
        raise NotFoundError(_("plan {plan} was not loaded yet at {when}; it was loaded "
                              "{loaded}").format(
            plan=plan.id, loaded=loaded,
            when=clock.local(at_u, plan.timezone).isoformat(timespec="minutes")))
    return replay
