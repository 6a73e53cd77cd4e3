"""As-of views: ``tasks``, ``show`` and ``summary`` as the plan stood at a past moment.

The plan is replayed from its history (``workflow.views.replay``) into a private in-memory
SQLite database with the live tables' schema, and asked the very queries that answer for the
present (``workflow.views.queries``): one query path for now and for the past.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from workflow import clock
from workflow.errors import NotFoundError, UsageError
from workflow.i18n import _
from workflow.plan.names import numbering
from workflow.rules.escalation import chain_for
from workflow.rules.kinds import Kind
from workflow.rules.lifecycle import Task
from workflow.store.models import (
    AgencyRow,
    DependencyRow,
    EscalationRow,
    EventRow,
    PlanRow,
    TaskRow,
)
from workflow.text import nfc
from workflow.views import queries
from workflow.views.replay import Replay, rebuild

AGENCY = AgencyRow.__table__
PLAN, TASK, EVENT, DEP, ESC = (PlanRow.__table__, TaskRow.__table__, EventRow.__table__,
                              DependencyRow.__table__, EscalationRow.__table__)


def as_of(value: str | datetime | date, plan: Row, now: datetime) -> datetime:
    """The moment ``--at VALUE`` asks about, in UTC; never after ``now``.

    A date whose day is today means now; any other moment after now is refused: history does
    not know the future.
    """
    now_u = clock.to_utc(now)
    at = clock.parse_moment(value, plan.timezone, what="--at")
    if at <= now_u:
        return at
    if (not isinstance(value, datetime) and clock.read_date(str(value)) is not None
            and clock.today(now_u, plan.timezone) == clock.local(at, plan.timezone).date()):
        return now_u
    shown = clock.local(now_u, plan.timezone).isoformat(timespec="minutes")
    raise UsageError(_("--at {value}: that is after now ({now}); the history only knows the "
                       "past. Leave out --at for the present state").format(value=value, now=shown))


# --------------------------------------------------------------------------- as-of views
# The rebuilt state is written into a private in-memory SQLite database with the same tables,
# and the very functions that answer for the live tables (workflow.views.queries) answer for
# it: the as-of views have the live views' shape, filters and ordering by construction.


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
                 for t in replay.tasks.values() if t.get("kind") != Kind.GROUP
                 for d in dict.fromkeys(json.loads(t.depends_on))]
        if edges:
            mem.execute(DEP.insert(), edges)
        s = replay.settings
        escalations = []
        for task_id, esc in replay.escalations.items():
            t = replay.tasks.get(task_id)
            if t is None:
                continue
            chain = chain_for(t, s)
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
    would ask the live tables (``workflow.views.queries``), as of that moment."""
    at_u = as_of(at, plan, now)
    with _materialized(conn, plan, rebuild(conn, plan, at_u)) as mem:
        yield mem, at_u


def tasks_at(conn: Connection, plan: Row, at: str | datetime | date, now: datetime,
             **filters: Any) -> list[dict[str, Any]]:
    """``workflow tasks --at``: ``queries.tasks`` (same filters) as of ``at``."""
    with as_of_connection(conn, plan, at, now) as (mem, at_u):
        return queries.tasks(mem, plan, at_u, **filters)


def task_at(conn: Connection, plan: Row, ref: str, at: str | datetime | date, now: datetime,
            last: int = 10) -> dict[str, Any]:
    """``workflow show TASK --at``: ``queries.task_detail`` as of ``at``."""
    at_u = as_of(at, plan, now)
    replay = rebuild(conn, plan, at_u)
    t = _find(replay, plan, nfc(ref.strip()), at_u)
    events = conn.execute(select(EVENT).where(
        EVENT.c.plan_id == plan.id, EVENT.c.task_id == t.task_id, EVENT.c.at <= at_u)
        .order_by(EVENT.c.seq.desc()).limit(last)).all()
    with _materialized(conn, plan, replay, events) as mem:
        return queries.task_detail(mem, plan, t.pk, at_u, last=last)


def summary_at(conn: Connection, plan: Row, at: str | datetime | date, now: datetime,
               **options: Any) -> dict[str, Any]:
    """``workflow summary --at``: ``queries.summary`` (same options) as of ``at``."""
    with as_of_connection(conn, plan, at, now) as (mem, at_u):
        return queries.summary(mem, plan, at_u, **options)


def _find(replay: Replay, plan: Row, ref: str, at_u: datetime) -> Task:
    """A task by id (any case), or by the document's numbering (``ref``): the task itself rather
    than its instances when they share it; ``REF/UNIT`` its instance for UNIT (as
    ``store.lookup.find_task``)."""
    for task_id in (ref, ref.lower()):
        if task_id in replay.tasks:
            return replay.tasks[task_id]
    hits = [t for t in replay.tasks.values() if t.get("ref") in numbering(ref)]
    top = [t for t in hits if t.get("kind") != Kind.INSTANCE]
    if len(hits) == 1 or len(top) == 1:
        return (top or hits)[0]
    if not hits and "/" in ref:
        head, unit = ref.rsplit("/", 1)
        groups = [t for t in replay.tasks.values()
                  if t.get("ref") in numbering(head) and t.get("kind") != Kind.INSTANCE]
        instance = f"{groups[0].task_id}/{unit.strip().lower()}" if len(groups) == 1 else ""
        if instance in replay.tasks:
            return replay.tasks[instance]
    when = clock.local(at_u, plan.timezone).isoformat(timespec="minutes")
    if hits:
        raise NotFoundError(_("{ref} numbers several tasks of plan {plan} at {when} ({tasks}); "
                              "give the task id").format(
            ref=repr(ref), plan=plan.id, when=when, tasks=", ".join(t.task_id for t in hits[:4])))
    if ref in replay.live or ref in replay.live.values():
        raise NotFoundError(_("task {ref} was not in plan {plan} at {when}; it was added later "
                              "(workflow history shows when)").format(
            ref=repr(ref), plan=plan.id, when=when))
    if ref in replay.known or ref in replay.known.values():
        raise NotFoundError(_("task {ref} was no longer in plan {plan} at {when}; an upgrade "
                              "had removed it (workflow history --event upgrade)").format(
            ref=repr(ref), plan=plan.id, when=when))
    close = difflib.get_close_matches(ref, list(replay.tasks), n=3, cutoff=0.6)
    hint = (_("did you mean {tasks}?").format(tasks=", ".join(close)) if close
            else _("list them with workflow tasks"))
    raise NotFoundError(_("no task {ref} in plan {plan} at {when}; {hint}").format(
        ref=repr(ref), plan=plan.id, when=when, hint=hint))


