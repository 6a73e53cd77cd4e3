"""The history read back: the plan as of any moment, history queries and export.

As of a moment T, the plan is rebuilt by replaying the plan's events with ``at <= T`` in
``seq`` order, mirroring what each write did to the live tables:

- ``load`` creates the tasks (all ``assigned``), ``created`` adds a recurring occurrence,
  ``upgrade`` applies the row changes its event records (``data.rows``: each added and removed
  row in full, each changed column before and after);
- a move sets the state, the times and the stall clock, an approval releases the tasks waiting
  on it, and a move on an instance rolls its group up;
- ``escalation_raised`` / ``climbed`` / ``resolved`` open, climb and close the task's
  escalation.

What the definition says about each task (title, lead, due, ...) comes from the task table
rewound through the upgrades' recorded changes, so it is what was in force at T; states, times
and escalations come from the events alone. At the present moment the result equals the live
tables (``tests/test_audit.py`` checks it on simulated plans). The load and upgrade events also
carry the canonical definition itself (``data.definition``, whose SHA-256 is ``data.digest``).

Nothing here writes to the database, prints or formats for a terminal; export writes to the
text stream it is given.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from typing import IO, Any

from sqlalchemy import Date, DateTime, create_engine, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from workflow import clock, escalation, recurrence, render, reports
from workflow.audit import utc_text
from workflow.definitions import nfc
from workflow.errors import NotFoundError, UsageError
from workflow.machine import TRIGGERS
from workflow.models import AgencyRow, DependencyRow, EscalationRow, EventRow, PlanRow, TaskRow
from workflow.names import numbering
from workflow.text import escape_lines, json_safe

AGENCY = AgencyRow.__table__
PLAN, TASK, EVENT, DEP, ESC = (PlanRow.__table__, TaskRow.__table__, EventRow.__table__,
                              DependencyRow.__table__, EscalationRow.__table__)
ESCALATION_EVENTS = ("escalation_raised", "escalation_climbed", "escalation_resolved")
EVENT_KINDS = (*TRIGGERS, "load", "upgrade", "created", *ESCALATION_EVENTS, "member_added",
               "member_removed")
FORMATS = ("text", "json", "jsonl", "csv")
CSV_COLUMNS = ("seq", "at", "plan", "task", "event", "from", "to", "actor", "person", "note",
               "escalated_to", "level", "reason", "hash")
ONE_US = timedelta(microseconds=1)


# --------------------------------------------------------------------------- moments


def parse_moment(value: str | datetime | date, tz: str, *, what: str,
                 end: bool = True) -> datetime:
    """An ISO date-time (naive: in the plan's timezone), an ISO date or d/m/yyyy, in UTC.

    A date means its last moment (``end``, for --at and --until) or its first (--since), in
    the plan's timezone.
    """
    if isinstance(value, datetime):
        return clock.to_utc(value)
    day = value if isinstance(value, date) else _read_date(value, what)
    try:
        if day is not None:
            return (clock.end_of_day(day, tz) - ONE_US) if end else clock.start_of_day(day, tz)
        moment = clock.read_iso(value, tz)
        if moment is None:
            raise UsageError(f"{what} {value!r} is not a date or time; write e.g. 2024-05-01, "
                             "1/5/2024 or 2024-05-01T09:00:00+07:00")
        return clock.to_utc(moment)
    except OverflowError:  # 0001-01-01 or 9999-12-31: its day does not fit in UTC
        raise UsageError(f"{what} {value!r} is beyond the calendar; give a date between "
                         "1900 and 2199") from None


def _read_date(text: str, what: str = "date") -> date | None:
    text = text.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a date in the calendar") from None
    return None


def as_of(value: str | datetime | date, plan: Row, now: datetime) -> datetime:
    """The moment ``--at VALUE`` asks about, in UTC; never after ``now``.

    A date whose day is today means now; any other moment after now is refused: history does
    not know the future.
    """
    now_u = clock.to_utc(now)
    at = parse_moment(value, plan.timezone, what="--at")
    if at <= now_u:
        return at
    if (not isinstance(value, datetime) and _read_date(str(value)) is not None
            and clock.today(now_u, plan.timezone) == clock.local(at, plan.timezone).date()):
        return now_u
    shown = clock.local(now_u, plan.timezone).isoformat(timespec="minutes")
    raise UsageError(f"--at {value}: that is after now ({shown}); the history only knows the "
                     "past. Leave out --at for the present state")


# --------------------------------------------------------------------------- rows <-> JSON


def _column_types() -> dict[str, type]:
    """Which task columns hold times and which dates (UTCDateTime wraps a DateTime)."""
    out: dict[str, type] = {}
    for col in TASK.columns:
        kind = getattr(col.type, "impl_instance", col.type)
        if isinstance(kind, DateTime):
            out[col.name] = datetime
        elif isinstance(kind, Date):
            out[col.name] = date
    return out


_TYPES = _column_types()


def _plain(row: Row | Mapping[str, Any]) -> dict[str, Any]:
    """A task row as JSON-safe values (times as UTC text, dates as ISO)."""
    values = row._mapping if isinstance(row, Row) else row
    out = {}
    for key, value in values.items():
        if key == "plan_id":
            continue
        if isinstance(value, datetime):
            value = utc_text(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def _decode(key: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _TYPES.get(key)
    if kind is datetime:
        return clock.to_utc(datetime.fromisoformat(value))
    if kind is date:
        return date.fromisoformat(value)
    return value


def _decoded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _decode(k, v) for k, v in values.items()}


def row_changes(before: Mapping[str, Row], after: Mapping[str, Row]) -> dict[str, Any]:
    """What an upgrade did to the task rows (by task id), so history can replay and rewind it:
    ``added`` and ``removed`` rows in full, ``changed`` columns as [before, after]."""
    out: dict[str, dict[str, Any]] = {"added": {}, "removed": {}, "changed": {}}
    for task_id, row in after.items():
        new = _plain(row)
        if task_id not in before:
            out["added"][task_id] = new
            continue
        old = _plain(before[task_id])
        diff = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
        if diff:
            out["changed"][task_id] = diff
    for task_id, row in before.items():
        if task_id not in after:
            out["removed"][task_id] = _plain(row)
    return out


# --------------------------------------------------------------------------- replay


class _Task(dict):
    """A task row being replayed: a dict, readable as attributes like a database Row."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class Replay:
    """The plan's tasks and open escalations, replayed event by event."""

    def __init__(self, plan: Row, static: dict[str, dict[str, Any]], created: set[str]) -> None:
        self.plan_row = plan
        self.settings = _settings(plan, None)
        self.static = static  # task id -> the row as the definition had it at load
        self.created = created  # tasks that come into being with a `created` event
        self.tasks: dict[str, _Task] = {}
        self.escalations: dict[str, dict[str, Any]] = {}
        self.loaded_at: datetime | None = None
        self.live: dict[str, str | None] = {}  # the tasks it has now -> their refs
        self.known: dict[str, str | None] = {}  # and those it had at load or later removed
        self._dependents: dict[str, list[str]] | None = None
        self._children: dict[str, list[str]] | None = None

    # ------------------------------------------------------------------ indexes

    def dependents(self, task_id: str) -> list[str]:
        if self._dependents is None:
            index: dict[str, list[str]] = defaultdict(list)
            for t in self.tasks.values():
                if t.kind != "group":  # a group's dependencies are its instances' edges
                    for dep in json.loads(t.depends_on):
                        index[dep].append(t.task_id)
            self._dependents = index
        return self._dependents.get(task_id, [])

    def children(self, parent: str) -> list[str]:
        if self._children is None:
            index: dict[str, list[str]] = defaultdict(list)
            for t in self.tasks.values():
                if t.get("parent"):
                    index[t.parent].append(t.task_id)
            self._children = index
        return self._children.get(parent, [])

    def _reindex(self) -> None:
        self._dependents = self._children = None

    def _index(self, t: _Task) -> None:
        """Adds one new task to the indexes already built (occurrences arrive one by one)."""
        if self._dependents is not None and t.get("kind") != "group":
            for dep in json.loads(t.depends_on):
                self._dependents[dep].append(t.task_id)
        if self._children is not None and t.get("parent"):
            self._children[t.parent].append(t.task_id)

    # ------------------------------------------------------------------ events

    def apply(self, e: Row) -> None:
        at = clock.to_utc(e.at)
        kind = e.event
        if kind == "load":
            self._load(e, at)
        elif kind == "upgrade":
            self._upgrade(e)
        elif kind == "created":
            self._create(e.task_id, at)
        elif kind in TRIGGERS:
            if e.task_id in self.tasks:
                self._move(self.tasks[e.task_id], e, at)
        elif kind in ESCALATION_EVENTS:
            self._escalation(e, at)
        # Other kinds (member_added, member_removed) carry no task state.

    def _load(self, e: Row, at: datetime) -> None:
        data = json.loads(e.data) if e.data else {}
        self.settings = _settings(self.plan_row, data.get("definition"))
        self.loaded_at = at
        self.tasks = {}
        for task_id, values in self.static.items():
            if task_id in self.created:
                continue
            t = _Task(values)
            deps = json.loads(t.depends_on)
            t.update(state="assigned", version=0, last_move_at=at, blocked_from=None,
                     blocked_by=None, reported_at=None, approved_at=None, on_time=None,
                     open_deps=len(deps))
            if t.get("kind") == "group":
                t.update(stall_at=None, overdue_at=None)
                if t.get("rule"):
                    t["next_create_at"] = recurrence.next_create_at(
                        recurrence.rule_from_json(t.rule), None, self.settings.timezone)
            else:
                t["stall_at"] = self._stall_at("assigned", len(deps), t.start, at)
                t["overdue_at"] = self._end_of(t.due)
            self.tasks[task_id] = t
        self._reindex()

    def _upgrade(self, e: Row) -> None:
        data = json.loads(e.data) if e.data else {}
        self.settings = _settings(self.plan_row, data.get("definition"))
        rows = data.get("rows")
        if rows is None:  # an upgrade recorded before rows were kept: nothing to replay
            return
        for task_id in rows["removed"]:
            self.tasks.pop(task_id, None)
            self.escalations.pop(task_id, None)
        for task_id, values in rows["added"].items():
            self.tasks[task_id] = _Task(_decoded(values))
        for task_id, diff in rows["changed"].items():
            if task_id in self.tasks:
                self.tasks[task_id].update({k: _decode(k, pair[1]) for k, pair in diff.items()})
        self._reindex()

    def _create(self, task_id: str, at: datetime) -> None:
        """A recurring occurrence, as ``recurrence.create_due`` writes it."""
        values = self.static.get(task_id)
        if values is None:
            return
        t = _Task(values)
        deps = json.loads(t.depends_on)
        open_deps = sum(1 for d in deps if d in self.tasks and self.tasks[d].state != "approved")
        t.update(state="assigned", version=0, last_move_at=at, blocked_from=None,
                 blocked_by=None, reported_at=None, approved_at=None, on_time=None,
                 open_deps=open_deps, stall_at=self._stall_at("assigned", open_deps, None, at),
                 overdue_at=self._end_of(t.due))
        self.tasks[task_id] = t
        self._index(t)
        group = self.tasks.get(t.get("parent") or "")
        if group is not None:
            if group.get("rule") and t.get("unit"):
                group["next_create_at"] = recurrence.next_create_at(
                    recurrence.rule_from_json(group.rule), date.fromisoformat(t.unit),
                    self.settings.timezone)
            self._roll_up(group.task_id, at)

    def _move(self, t: _Task, e: Row, at: datetime) -> None:
        """As ``engine._commit_move`` writes a move."""
        new = e.to_state
        trigger = e.event
        if trigger == "block":
            t.update(blocked_from=t.state, blocked_by=e.actor)
        elif trigger == "unblock":
            t.update(blocked_from=None, blocked_by=None)
        elif trigger == "report":
            t["reported_at"] = at
        elif trigger == "approve":
            due_end = self._end_of(t.due)
            t.update(approved_at=at, overdue_at=None,
                     on_time=due_end is None or (t.reported_at or at) < due_end)
        t.update(state=new, version=t.version + 1, last_move_at=at,
                 stall_at=self._stall_at(new, t.open_deps, t.start, at))
        if trigger == "approve":
            self._release(t.task_id, at)
        if t.get("parent"):
            self._roll_up(t.parent, at)

    def _release(self, task_id: str, at: datetime) -> None:
        """As ``engine._release_dependents``: their wait may end, their stall clock starts."""
        for dep_id in self.dependents(task_id):
            d = self.tasks[dep_id]
            d["open_deps"] = d.open_deps - 1
            if d.open_deps == 0 and d.state == "assigned":
                d["stall_at"] = self._stall_at("assigned", 0, d.start, at)

    def _roll_up(self, parent: str, at: datetime) -> None:
        """As ``engine._roll_up``: a group's state follows its instances'."""
        from workflow.engine import roll_up_state

        group = self.tasks.get(parent)
        if group is None:
            return
        counts = Counter(self.tasks[c].state for c in self.children(parent))
        finished = not group.get("rule") or group.get("next_create_at") is None
        state = roll_up_state(dict(counts), finished=finished)
        if state == group.state:
            return
        group.update(state=state, version=group.version + 1, last_move_at=at,
                     approved_at=at if state == "approved" else None)
        if state == "approved":
            self._release(parent, at)

    def _escalation(self, e: Row, at: datetime) -> None:
        task_id = e.task_id
        if e.event == "escalation_resolved":
            self.escalations.pop(task_id, None)
            return
        if e.event == "escalation_climbed" and task_id in self.escalations:
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
        s = self.settings
        chain = escalation.escalation_chain(t.lead, t.approver, s.coordinator, s.issuer)
        try:
            cause = escalation.cause_of(t, chain, at)
        except ValueError:
            cause = None
        if cause is None or cause.reason != reason:
            return at, None
        return cause.since, cause.must_act

    # ------------------------------------------------------------------ timing

    def _stall_at(self, state: str, open_deps: int, start: date | None,
                  moved: datetime) -> datetime | None:
        from workflow.engine import stall_at

        return stall_at(state, open_deps, start, moved, self.settings)

    def _end_of(self, day: date | None) -> datetime | None:
        return clock.end_of_day(day, self.settings.timezone) if day else None


def _settings(plan: Row, definition: dict | None) -> SimpleNamespace:
    """The plan's settings in force: from the definition an event carries, else the plan row."""
    d = definition or {}
    return SimpleNamespace(
        id=plan.id, timezone=d.get("timezone", plan.timezone),
        stall_after=d.get("stall_after", plan.stall_after),
        step_after=d.get("step_after", plan.step_after),
        coordinator=d.get("coordinator", plan.coordinator),
        issuer=d.get("issuer", plan.issuer))


def rebuild(conn: Connection, plan: Row, at: datetime) -> Replay:
    """The plan as it stood at ``at`` (inclusive), from its history."""
    at_u = clock.to_utc(at)
    static = {r.task_id: _decoded(_plain(r)) for r in conn.execute(
        select(TASK).where(TASK.c.plan_id == plan.id))}
    live = {t: v.get("ref") for t, v in static.items()}
    upgrades = conn.execute(select(EVENT.c.data).where(
        EVENT.c.plan_id == plan.id, EVENT.c.event == "upgrade").order_by(EVENT.c.seq.desc()))
    for (data,) in upgrades:  # rewind the task table to what the first load wrote
        rows = json.loads(data).get("rows") if data else None
        if rows is None:
            continue
        for task_id in rows["added"]:
            static.pop(task_id, None)
        for task_id, values in rows["removed"].items():
            static[task_id] = _decoded(values)
        for task_id, diff in rows["changed"].items():
            if task_id in static:
                static[task_id].update({k: _decode(k, pair[0]) for k, pair in diff.items()})
    created = set(conn.execute(select(EVENT.c.task_id).where(
        EVENT.c.plan_id == plan.id, EVENT.c.event == "created")).scalars())
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
        raise NotFoundError(f"plan {plan.id} was not loaded yet at "
                            f"{clock.local(at_u, plan.timezone).isoformat(timespec='minutes')}; "
                            f"it was loaded {loaded}")
    return replay


# --------------------------------------------------------------------------- as-of views
# The rebuilt state is written into a private in-memory SQLite database with the same tables,
# and the very functions that answer for the live tables (workflow.reports) answer for it: the
# as-of views have the live views' shape, filters and ordering by construction.


@cache
def _memory() -> tuple[Engine, tuple[str, ...]]:
    """One engine for every as-of view (its compiled-statement cache is what makes them fast);
    each connection is a new, empty in-memory database (NullPool), created from this DDL."""
    mem = create_engine("sqlite://", poolclass=NullPool)
    ddl = []
    for table in (PLAN, AGENCY, TASK, DEP, ESC, EVENT):
        ddl.append(str(CreateTable(table).compile(dialect=mem.dialect)))
        ddl += [str(CreateIndex(i).compile(dialect=mem.dialect)) for i in table.indexes]
    return mem, tuple(ddl)


@contextmanager
def _materialized(conn: Connection, plan: Row, replay: Replay,
                  events: list[Row] = ()) -> Iterator[Connection]:
    mem_engine, ddl = _memory()
    with mem_engine.connect() as mem:
        for stmt in ddl:
            mem.exec_driver_sql(stmt)
        if conn.dialect.name != "sqlite":  # LIKE compares as the source database does
            mem.exec_driver_sql("PRAGMA case_sensitive_like = ON")
        mem.execute(PLAN.insert().values(**{"definition": "{}", **plan._mapping}))
        agencies = conn.execute(select(AGENCY).where(AGENCY.c.plan_id == plan.id)).all()
        if agencies:  # today's names, shown beside the ids
            mem.execute(AGENCY.insert(), [dict(a._mapping) for a in agencies])
        rows = [{**t, "plan_id": plan.id} for t in replay.tasks.values()]
        if rows:
            mem.execute(TASK.insert(), rows)
        edges = [{"plan_id": plan.id, "task_id": t.task_id, "depends_on": d}
                 for t in replay.tasks.values() if t.get("kind") != "group"
                 for d in dict.fromkeys(json.loads(t.depends_on))]
        if edges:
            mem.execute(DEP.insert(), edges)
        s = replay.settings
        escalations = []
        for task_id, esc in replay.escalations.items():
            t = replay.tasks.get(task_id)
            if t is None:
                continue
            chain = escalation.escalation_chain(t.lead, t.approver, s.coordinator, s.issuer)
            escalations.append({
                "plan_id": plan.id, "task_pk": t.pk, "task_id": task_id,
                "reason": esc["reason"] or "", "must_act": esc["must_act"] or "",
                "chain": json.dumps(chain), "level": esc["level"],
                "escalated_to": esc["escalated_to"], "since": esc["since"],
                "raised_at": esc["raised_at"]})
        if escalations:
            mem.execute(ESC.insert(), escalations)
        if events:
            mem.execute(EVENT.insert(), [dict(e._mapping) for e in events])
        yield mem


@contextmanager
def as_of_connection(conn: Connection, plan: Row, at: str | datetime | date,
                     now: datetime) -> Iterator[tuple[Connection, datetime]]:
    """(a connection to the plan as it stood at ``at``, that moment in UTC): ask it what you
    would ask the live tables (``workflow.reports``), as of that moment."""
    at_u = as_of(at, plan, now)
    with _materialized(conn, plan, rebuild(conn, plan, at_u)) as mem:
        yield mem, at_u


def tasks_at(conn: Connection, plan: Row, at: str | datetime | date, now: datetime,
             **filters: Any) -> list[dict[str, Any]]:
    """``workflow tasks --at``: ``reports.tasks`` (same filters) as of ``at``."""
    with as_of_connection(conn, plan, at, now) as (mem, at_u):
        return reports.tasks(mem, plan, at_u, **filters)


def task_at(conn: Connection, plan: Row, ref: str, at: str | datetime | date, now: datetime,
            last: int = 10) -> dict[str, Any]:
    """``workflow show TASK --at``: ``reports.task_detail`` as of ``at``."""
    at_u = as_of(at, plan, now)
    replay = rebuild(conn, plan, at_u)
    t = _find(replay, plan, nfc(ref.strip()), at_u)
    events = conn.execute(select(EVENT).where(
        EVENT.c.plan_id == plan.id, EVENT.c.task_id == t.task_id, EVENT.c.at <= at_u)
        .order_by(EVENT.c.seq.desc()).limit(last)).all()
    with _materialized(conn, plan, replay, events) as mem:
        return reports.task_detail(mem, plan, t.pk, at_u, last=last)


def summary_at(conn: Connection, plan: Row, at: str | datetime | date, now: datetime,
               **options: Any) -> dict[str, Any]:
    """``workflow summary --at``: ``reports.summary`` (same options) as of ``at``."""
    with as_of_connection(conn, plan, at, now) as (mem, at_u):
        return reports.summary(mem, plan, at_u, **options)


def _find(replay: Replay, plan: Row, ref: str, at_u: datetime) -> _Task:
    """A task by id (any case), or by the document's numbering (``ref``): the task itself rather
    than its instances when they share it; ``REF/UNIT`` its instance for UNIT (as
    ``engine.find_task``)."""
    for task_id in (ref, ref.lower()):
        if task_id in replay.tasks:
            return replay.tasks[task_id]
    hits = [t for t in replay.tasks.values() if t.get("ref") in numbering(ref)]
    top = [t for t in hits if t.get("kind") != "instance"]
    if len(hits) == 1 or len(top) == 1:
        return (top or hits)[0]
    if not hits and "/" in ref:
        head, unit = ref.rsplit("/", 1)
        groups = [t for t in replay.tasks.values()
                  if t.get("ref") in numbering(head) and t.get("kind") != "instance"]
        instance = f"{groups[0].task_id}/{unit.strip().lower()}" if len(groups) == 1 else ""
        if instance in replay.tasks:
            return replay.tasks[instance]
    when = clock.local(at_u, plan.timezone).isoformat(timespec="minutes")
    if hits:
        raise NotFoundError(f"{ref!r} numbers several tasks of plan {plan.id} at {when} "
                            f"({', '.join(t.task_id for t in hits[:4])}); give the task id")
    if ref in replay.live or ref in replay.live.values():
        raise NotFoundError(f"task {ref!r} was not in plan {plan.id} at {when}; it was added "
                            "later (workflow history shows when)")
    if ref in replay.known or ref in replay.known.values():
        raise NotFoundError(f"task {ref!r} was no longer in plan {plan.id} at {when}; an "
                            "upgrade had removed it (workflow history --event upgrade)")
    close = difflib.get_close_matches(ref, list(replay.tasks), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; list them with workflow tasks"
    raise NotFoundError(f"no task {ref!r} in plan {plan.id} at {when}{hint}")


# --------------------------------------------------------------------------- queries


def event_kinds(conn: Connection, plan: Row, values: Iterable[str] | None) -> list[str] | None:
    """``--event`` values (repeatable, or comma lists) checked; ``escalation`` means all three
    escalation events. None when not filtering."""
    kinds: list[str] = []
    for value in values or []:
        for word in (w.strip().lower() for w in value.split(",")):
            if not word:
                continue
            kinds.extend(ESCALATION_EVENTS if word in ("escalation", "escalations") else [word])
    if not kinds:
        return None
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:  # a kind this version does not list may still be in the history
        seen = set(conn.execute(select(EVENT.c.event).where(EVENT.c.plan_id == plan.id)
                                .distinct()).scalars())
        unknown = [k for k in unknown if k not in seen]
    if unknown:
        raise UsageError(f"unknown event kind {unknown[0]!r}; kinds are "
                         f"{', '.join(EVENT_KINDS)} (or escalation for all three)")
    return list(dict.fromkeys(kinds))


def events(conn: Connection, plan: Row, *, task: str | None = None, agency: str | None = None,
           kinds: Iterable[str] | None = None, since: str | datetime | date | None = None,
           until: str | datetime | date | None = None) -> Iterator[dict[str, Any]]:
    """The plan's history, filtered, oldest first, as ``reports.event_dict`` objects.

    Checks every filter before returning, then streams: iterate inside the connection's
    transaction. ``since``/``until`` are inclusive; a date means the whole day.
    """
    chosen = event_kinds(conn, plan, kinds)
    start = parse_moment(since, plan.timezone, what="--since", end=False) if since else None
    stop = parse_moment(until, plan.timezone, what="--until") if until else None
    return reports.iter_history(conn, plan, task=task, agency=agency, events=chosen,
                                since=start, until=stop)


# --------------------------------------------------------------------------- export


def write(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    """Writes events to ``out`` one at a time; returns how many.

    ``csv``: a byte-order mark first (so Excel reads UTF-8 and shows Vietnamese whole), a
    header, CRLF rows. ``jsonl``: one object a line. ``json``: one array. ``text``: the
    ``workflow history`` lines.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; formats are {', '.join(FORMATS)}")
    n = 0
    if fmt == "csv":
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in rows:
            writer.writerow(["" if e.get(c) is None else e.get(c) for c in CSV_COLUMNS])
            n += 1
    elif fmt == "jsonl":  # json_safe: the same values, no raw control character
        for e in rows:
            out.write(json_safe(json.dumps(e, ensure_ascii=False)) + "\n")
            n += 1
    elif fmt == "json":
        for e in rows:
            body = json_safe(json.dumps(e, ensure_ascii=False, indent=2)).replace("\n", "\n  ")
            out.write(("[\n  " if n == 0 else ",\n  ") + body)
            n += 1
        out.write("\n]\n" if n else "[]\n")
    else:
        for e in rows:
            out.write(escape_lines(render.event_line(e)) + "\n")
            n += 1
        if not n:
            out.write("no events\n")
    return n
