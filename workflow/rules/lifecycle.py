"""What happens to a task, written once: its birth, a move, its dependants, its group.

The database path (``workflow.ops.move``, the sweep, load and upgrade) and the as-of replay
(``workflow.views.asof``) both call these functions; each gives them its own ``Tasks`` (rows
in a transaction, or dicts being replayed) and applies the changes they return. So a rule
added here (a deadline extension, a joint lead) holds for the present and for the past alike.

Pure: no database, no clock of its own; ``at`` is always a parameter (UTC).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from workflow import clock
from workflow.rules import clocks
from workflow.rules.calendar import relative_due, remind_moment, stored_duration
from workflow.rules.extension import rated_due
from workflow.rules.kinds import OPEN_STATES, Kind, State, Trigger

Extensions = Sequence[tuple[datetime, date]]  # a task's extensions: (granted at, to), in order


class Settings(Protocol):
    """The plan settings the rules read (a plan row, or the settings in force as of then).

    ``definition`` holds the clocks in working days, ``remind_before`` and the calendar
    (``clocks.plan_clocks`` reads them). Optional, read with ``getattr``: ``follows`` (the ids
    of the tasks some deadline follows; absent: look each approval up)."""

    timezone: str
    stall_after: int  # seconds
    step_after: int  # seconds
    definition: str | None  # JSON: working-day clocks and calendar (``rules.clocks``)


class Task(dict):
    """A task row as a dict that reads like a database Row (``task.state``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Tasks(Protocol):
    """The tasks of one plan, as the caller holds them (database rows or replayed dicts)."""

    def task(self, task_id: str) -> Task | None: ...

    def dependents(self, task_id: str) -> Iterable[Task]: ...

    def child_states(self, parent: str) -> dict[str, int]: ...

    def followers(self, task_id: str) -> Iterable[Task]:
        """The tasks whose deadline follows ``task_id`` (``due: {after: ...}``), not yet fixed."""

    def change(self, task: Task, changes: dict[str, Any]) -> None:
        """Writes ``changes`` to the task, and updates ``task`` itself to match."""


# --------------------------------------------------------------------------- timing


def stall_at(state: str, open_deps: int, start: date | None, moved: datetime,
             settings: Settings, *, due: date | None, own_clock: str | None) -> datetime | None:
    """When the task stalls if nothing moves it; None while it cannot stall (waiting, done,
    ``stall_after: never``, or no due date and no ``stall_after`` of its own). ``own_clock`` is
    the task's ``clock`` column; a clock in working days skips weekends and holidays."""
    if state not in OPEN_STATES:
        return None
    span = task_clocks(own_clock, due, settings).stall
    if span is None:
        return None
    clock_from = moved
    if state == State.ASSIGNED:
        if open_deps:
            return None  # waiting on dependencies: the clock starts when they are approved
        if start is not None:
            clock_from = max(clock_from, clock.start_of_day(start, settings.timezone))
    return span.after(clock_from)


def task_clocks(own_clock: str | None, due: date | None, settings: Settings) -> clocks.Clocks:
    """The task's clocks in force under the plan's settings (``rules.clocks.effective``)."""
    return clocks.effective(own_clock, clocks.plan_clocks(settings), dated=due is not None)


def overdue_at(due: date | None, settings: Settings) -> datetime | None:
    """The first moment the task is overdue: the end of its due day in the plan's timezone."""
    return clock.end_of_day(due, settings.timezone) if due else None


def due_changes(task: Mapping[str, Any], due: date | None, settings: Settings) -> dict[str, Any]:
    """A task's due day changes (a relative deadline fixed, an extension, an upgrade): the
    columns that follow from it. The one place a due change is worked out: the overdue moment,
    the stall clock (a task without a due date may not stall) and the reminder (once per due)."""
    group = task.get("kind") == Kind.GROUP
    return {"due": due,
            "overdue_at": None if group or task["state"] == State.APPROVED
            else overdue_at(due, settings),
            "stall_at": None if group else stall_at(task["state"], task["open_deps"],
                                                    task["start"], task["last_move_at"],
                                                    settings, due=due,
                                                    own_clock=task.get("clock")),
            "remind_at": remind_at({**task, "due": due}, settings)}


def extended(task: Task, due: date, settings: Settings) -> dict[str, Any]:
    """An extension to ``due``: the due and its clocks; ``original_due`` keeps the day before
    the first extension (a relative deadline has none until it is fixed)."""
    changes = due_changes(task, due, settings)
    if task.get("original_due") is None:
        changes["original_due"] = task.due
    return changes
def remind_at(task: Mapping[str, Any], settings: Settings) -> datetime | None:
    """When the sweep reminds the lead of the due day (nhắc việc); None: no reminder to send
    (no due, no ``remind_before``, already reminded for this due, reported or done, a group).
    ``task`` needs kind, state, blocked_from, due, reminded_for and clock."""
    due = task.get("due")
    if (due is None or task.get("kind") == Kind.GROUP or task.get("reminded_for") == due
            or task["state"] not in (State.ASSIGNED, State.IN_PROGRESS, State.BLOCKED)
            or (task["state"] == State.BLOCKED and task.get("blocked_from") == State.REPORTED)):
        return None
    before = remind_before(task.get("clock"), settings)
    if before is None:
        return None
    return remind_moment(due, before, settings.timezone, clocks.plan_clocks(settings).calendar)


def remind_before(own: str | None, settings: Settings):
    """The task's own ``remind_before`` (its ``clock`` JSON), else the plan's; None: none."""
    mine = json.loads(own).get("remind_before") if own else None
    return stored_duration(mine) if mine else clocks.plan_clocks(settings).remind_before


def reminded(task: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a sent reminder writes: reminded for this due, nothing more to send."""
    return {"reminded_for": task["due"], "remind_at": None}


# --------------------------------------------------------------------------- birth


def new_task(*, kind: str, due: date | None, start: date | None, open_deps: int,
             at: datetime, settings: Settings, clock: str | None = None) -> dict[str, Any]:
    """The state columns of a task that comes into being at ``at`` (loaded, created as a
    recurring occurrence, or added by an upgrade). A group never stalls itself: it rolls up.
    ``clock``: the task's own clocks (JSON), for its reminder."""
    group = kind == Kind.GROUP
    return {
        "state": State.ASSIGNED.value, "version": 0, "last_move_at": at, "blocked_from": None,
        "blocked_by": None, "reported_at": None, "approved_at": None, "on_time": None,
        "open_deps": open_deps,
        "stall_at": None if group else stall_at(State.ASSIGNED, open_deps, start, at, settings,
                                                due=due, own_clock=clock),
        "overdue_at": None if group else overdue_at(due, settings),
        "remind_at": remind_at({"kind": kind, "state": State.ASSIGNED, "due": due,
                                "clock": clock}, settings),
        "reminded_for": None,
    }


# --------------------------------------------------------------------------- moves


def move_changes(task: Task, trigger: str, actor: str, new_state: str, at: datetime,
                 settings: Settings, extensions: Extensions = ()) -> dict[str, Any]:
    """What a move the machine allowed does to the task's own row. An approval rates the report
    against the due day its ``extensions`` earned in time (``extension.rated_due``)."""
    changes: dict[str, Any] = {
        "state": new_state, "version": task.version + 1, "last_move_at": at,
        "stall_at": stall_at(new_state, task.open_deps, task.start, at, settings,
                             due=task.due, own_clock=task.get("clock"))}
    if trigger == Trigger.BLOCK:
        changes.update(blocked_from=task.state, blocked_by=actor)
    elif trigger == Trigger.UNBLOCK:
        changes.update(blocked_from=None, blocked_by=None)
    elif trigger == Trigger.REPORT:
        changes["reported_at"] = at
    elif trigger == Trigger.APPROVE:
        due_end = overdue_at(rated_due(task.get("original_due", task.due), extensions,
                                       settings.timezone) if extensions else task.due, settings)
        changes.update(approved_at=at, overdue_at=None,
                       on_time=due_end is None or (task.reported_at or at) < due_end)
    changes["remind_at"] = remind_at({**task, **changes}, settings)
    return changes


def apply_move(tasks: Tasks, task: Task, trigger: str, actor: str, new_state: str,
               at: datetime, settings: Settings, extensions: Extensions = ()) -> list[Task]:
    """A move and everything it sets off: dependants released, deadlines that follow it fixed,
    the group rolled up. Returns the tasks whose deadline it fixed (each is a history event)."""
    tasks.change(task, move_changes(task, trigger, actor, new_state, at, settings, extensions))
    fixed: list[Task] = []
    if trigger == Trigger.APPROVE:
        release(tasks, task.task_id, at, settings)
        fixed += fix_followers(tasks, task.task_id, at, settings)
    if task.get("parent"):
        fixed += roll_up(tasks, task.parent, at, settings)
    return fixed


def follower_due(approved_at: datetime, within: str, settings: Settings) -> date:
    """A deadline that follows a task approved at ``approved_at``: ``within`` (``"15wd"``) after
    the approval day in the plan's timezone, working days by the plan's calendar."""
    return relative_due(clock.today(approved_at, settings.timezone), stored_duration(within),
                        clocks.plan_clocks(settings).calendar)


def fix_followers(tasks: Tasks, task_id: str, at: datetime, settings: Settings) -> list[Task]:
    """``task_id`` was approved at ``at``: each deadline that follows it gets its date, that
    long after the approval day (in the plan's timezone; ``wd`` by the plan's calendar)."""
    follows = getattr(settings, "follows", None)
    if follows is not None and task_id not in follows:
        return []  # nothing follows it: no lookup
    fixed = []
    for follower in list(tasks.followers(task_id)):
        due = follower_due(at, follower.due_within, settings)
        # ``original_due`` stays NULL: the definition gave no date (and a person's role may
        # write only the columns a move changes, ``roles.MOVE_COLUMNS``).
        tasks.change(follower, due_changes(follower, due, settings))
        fixed.append(follower)
    return fixed


def released(dependent: Task, at: datetime, settings: Settings) -> dict[str, Any]:
    """One dependency of ``dependent`` was approved: its wait may end, its stall clock start."""
    left = dependent.open_deps - 1
    changes: dict[str, Any] = {"open_deps": left}
    if left == 0 and dependent.state == State.ASSIGNED:
        changes["stall_at"] = stall_at(State.ASSIGNED, 0, dependent.start, at, settings,
                                       due=dependent.due, own_clock=dependent.get("clock"))
    return changes


def release(tasks: Tasks, task_id: str, at: datetime, settings: Settings) -> None:
    for dependent in list(tasks.dependents(task_id)):
        tasks.change(dependent, released(dependent, at, settings))


# --------------------------------------------------------------------------- groups


def roll_up_state(counts: Mapping[str, int], finished: bool = True) -> str:
    """A group's state from its instances': blocked while any is, approved when all are."""
    total = sum(counts.values())
    if counts.get(State.BLOCKED):
        return State.BLOCKED
    if total and counts.get(State.APPROVED, 0) == total:
        return State.APPROVED if finished else State.IN_PROGRESS
    if counts.get(State.ASSIGNED, 0) == total:
        return State.ASSIGNED
    if counts.get(State.REPORTED, 0) + counts.get(State.APPROVED, 0) == total:
        return State.REPORTED
    return State.IN_PROGRESS


def roll_up(tasks: Tasks, parent: str, at: datetime, settings: Settings) -> list[Task]:
    """The group follows its instances; a group that becomes approved releases its dependants
    and fixes the deadlines that follow it (returned). A recurring group is finished only when
    its rule has no occurrence left to create."""
    group = tasks.task(parent)
    if group is None:
        return []
    finished = not group.get("rule") or group.get("next_create_at") is None
    state = roll_up_state(tasks.child_states(parent), finished=finished)
    if state == group.state:
        return []
    tasks.change(group, {"state": state.value, "version": group.version + 1,
                         "last_move_at": at,
                         "approved_at": at if state == State.APPROVED else None})
    if state == State.APPROVED:
        release(tasks, parent, at, settings)
        return fix_followers(tasks, parent, at, settings)
    return []
