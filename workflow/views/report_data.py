"""Everything a report shows, gathered once, read-only, into a frozen ``ReportData``.

The live tables answer through ``workflow.reports``; ``--at`` asks the same functions on the
plan rebuilt from its history (``workflow.views.asof.as_of_connection``), so a report of the past
has the numbers ``summary --at`` gives. The history itself (block notes, the latest events) is
read from the real database up to the same moment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import NotFoundError
from workflow.i18n import _
from workflow.logs import Progress, no_progress
from workflow.store.models import AgencyRow, EventRow, TaskRow
from workflow.views import asof
from workflow.views import queries as reports

AGENCY, EVENT, TASK = AgencyRow.__table__, EventRow.__table__, TaskRow.__table__


@dataclass(frozen=True)
class ReportData:
    plan_id: str
    title: str
    document: str | None  # the plan's number, place and date as the definition gives them
    timezone: str
    issuer: str
    coordinator: str
    loaded_on: date  # the plan's load day: where a task without a start begins
    at: datetime  # the moment reported on, in the plan's timezone
    as_of: bool  # True when asked about the past (--at)
    agencies: Mapping[str, str]  # id -> name
    tasks: tuple[dict[str, Any], ...]  # tasks and groups, in the document's order
    instances: Mapping[str, tuple[dict[str, Any], ...]]  # group id -> its instances
    summary: dict[str, Any]  # reports.summary
    escalations: tuple[dict[str, Any], ...]  # reports.open_escalations
    history: tuple[dict[str, Any], ...]  # the latest events, oldest first
    reported_on: Mapping[str, date]  # task id -> its last report day
    approved_on: Mapping[str, date]
    block_notes: Mapping[str, str]  # task id -> its last block note
    edges: tuple[tuple[str, str], ...]  # (dependency, dependant) between tasks and groups

    @property
    def today(self) -> date:
        return self.at.date()

    def name(self, agency: str | None) -> str:
        return self.agencies.get(agency or "", agency or "")

    def leads(self, task: dict[str, Any]) -> str:
        lead = task["lead"]
        return ", ".join(self.name(a) for a in (lead if isinstance(lead, list) else [lead]))

    def every_task(self) -> list[dict[str, Any]]:
        """Tasks in the document's order, each group followed by its instances."""
        out = []
        for t in self.tasks:
            out.append(t)
            out.extend(self.instances.get(t["id"], ()))
        return out

    def concrete(self) -> list[dict[str, Any]]:
        """The tasks the summary counts: plain tasks and instances, not their groups."""
        return [t for t in self.every_task() if t["kind"] != "group"]


def gather(conn: Connection, plan: Row, now: datetime, at: str | None = None, *,
           history_limit: int = 30, progress: Progress = no_progress) -> ReportData:
    """The plan as it stands now, or as it stood ``at`` (a date or ISO time; never after now)."""
    if at is None:
        return _collect(conn, conn, plan, clock.to_utc(now), False, history_limit, progress)
    with asof.as_of_connection(conn, plan, at, now) as (mem, at_u):
        return _collect(conn, mem, plan, at_u, True, history_limit, progress)


def _collect(conn: Connection, view: Connection, plan: Row, at_u: datetime, as_of: bool,
             history_limit: int, progress: Progress) -> ReportData:
    steps = 5
    progress("tasks", 0, steps)
    tasks = reports.tasks(view, plan, at_u)
    if not tasks:
        raise NotFoundError(_("plan {plan} has no tasks; nothing to report (add tasks to its "
                              "definition and run workflow load FILE --upgrade)").format(
            plan=plan.id))
    instances: dict[str, list[dict[str, Any]]] = {}
    for t in reports.tasks(view, plan, at_u, pattern="*/*"):
        instances.setdefault(t["parent"], []).append(t)
    progress("summary", 1, steps)
    summary = reports.summary(view, plan, at_u)
    escalations = reports.open_escalations(view, plan, at_u)
    progress("history", 2, steps)
    reported, approved = _days(view, plan)
    notes = {e["task"]: e["note"] for e in reports.iter_history(
        conn, plan, events=["block"], until=at_u) if e["note"]}
    progress("definition", 3, steps)
    agencies = dict(conn.execute(select(AGENCY.c.id, AGENCY.c.name)
                                 .where(AGENCY.c.plan_id == plan.id)).all())
    definition = _definition(conn, plan, at_u)
    data = ReportData(
        plan_id=plan.id, title=plan.title, document=definition.get("document"),
        timezone=plan.timezone, issuer=definition.get("issuer", plan.issuer),
        coordinator=definition.get("coordinator", plan.coordinator),
        loaded_on=clock.today(plan.loaded_at, plan.timezone),
        at=clock.local(at_u, plan.timezone), as_of=as_of,
        agencies=MappingProxyType(agencies), tasks=tuple(tasks),
        instances=MappingProxyType({k: tuple(v) for k, v in instances.items()}),
        summary=summary, escalations=tuple(escalations),
        history=tuple(_latest(conn, plan, at_u, history_limit)),
        reported_on=MappingProxyType(reported), approved_on=MappingProxyType(approved),
        block_notes=MappingProxyType(notes), edges=_edges(tasks))
    progress("done", steps, steps)
    return data


def _days(view: Connection, plan: Row) -> tuple[dict[str, date], dict[str, date]]:
    """Each task's last report and approval day, in the plan's timezone."""
    reported, approved = {}, {}
    for task_id, rep, app in view.execute(select(TASK.c.task_id, TASK.c.reported_at,
                                                 TASK.c.approved_at).where(
            TASK.c.plan_id == plan.id, (TASK.c.reported_at.is_not(None))
            | (TASK.c.approved_at.is_not(None)))):
        if rep is not None:
            reported[task_id] = clock.today(rep, plan.timezone)
        if app is not None:
            approved[task_id] = clock.today(app, plan.timezone)
    return reported, approved


def _definition(conn: Connection, plan: Row, at_u: datetime) -> dict[str, Any]:
    """The canonical definition in force at ``at_u`` (the last load or upgrade before it)."""
    data = conn.execute(select(EVENT.c.data).where(
        EVENT.c.plan_id == plan.id, EVENT.c.event.in_(("load", "upgrade")),
        EVENT.c.at <= at_u).order_by(EVENT.c.seq.desc()).limit(1)).scalar_one_or_none()
    return (json.loads(data).get("definition") or {}) if data else {}


def _latest(conn: Connection, plan: Row, at_u: datetime, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(EVENT).where(EVENT.c.plan_id == plan.id, EVENT.c.at <= at_u)
                        .order_by(EVENT.c.seq.desc()).limit(limit)).all()
    return [reports.event_dict(e, plan) for e in reversed(rows)]


def _edges(tasks: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Dependencies between the plan's tasks and groups; an instance stands for its group."""
    ids = {t["id"] for t in tasks}
    edges: dict[tuple[str, str], None] = {}
    for t in tasks:
        for dep in t["depends_on"]:
            dep = dep.split("/", 1)[0]
            if dep in ids and dep != t["id"]:
                edges[(dep, t["id"])] = None
    return tuple(edges)
