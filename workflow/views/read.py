"""One function per reading command: open the database, find what was named, answer.

Each returns plain data (the command's JSON); ``workflow.views.render`` turns it into text.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import IO, Any

from workflow import outfile
from workflow.store import audit, lookup
from workflow.store.db import Store, database_url
from workflow.views import asof, history, queries


def plans(db: str | None, now: datetime) -> list[dict[str, Any]]:
    url = database_url(db)
    if url.get_backend_name() == "sqlite" and url.database and not os.path.exists(url.database):
        return []  # no database yet: no plans (and no empty file left behind by a question)
    with Store(db).read() as conn:
        return queries.plans(conn, now)


def tasks(store: Store, *, plan: str | None, at: str | None, now: datetime,
          agency: str | None = None, lead: str | None = None,
          **filters: Any) -> list[dict[str, Any]]:
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        filters.update(agency=lookup.find_agency(conn, p, agency) if agency else None,
                       lead=lookup.find_agency(conn, p, lead) if lead else None)
        if at is None:
            return queries.tasks(conn, p, now, **filters)
        return asof.tasks_at(conn, p, at, now, **filters)


def show(store: Store, *, plan: str | None, task: str, at: str | None,
         now: datetime) -> dict[str, Any]:
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        if at is None:
            return queries.task_detail(conn, p, lookup.find_task(conn, p, task).pk, now)
        return asof.task_at(conn, p, task, at, now)


def summary(store: Store, *, plan: str | None, by: str, at: str | None,
            now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """The summary and the lead agencies' names (id -> name)."""
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        data = (queries.summary(conn, p, now, by=by) if at is None
                else asof.summary_at(conn, p, at, now, by=by))
        return data, lookup.agency_names(conn, p)


def escalations(store: Store, *, plan: str | None, now: datetime) -> list[dict[str, Any]]:
    with store.read() as conn:
        return queries.open_escalations(conn, lookup.select_plan(conn, plan), now)


def members(store: Store, *, plan: str | None,
            agency: str | None) -> tuple[Any, list[dict[str, Any]], int, str | None]:
    """(the plan, its memberships shown, how many it has in all, the agency asked about)."""
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        agency_id = lookup.find_agency(conn, p, agency) if agency else None
        everyone = queries.members(conn, p)
    shown = [m for m in everyone if agency_id is None or m["agency"] == agency_id]
    return p, shown, len(everyone), agency_id


def verify(store: Store, *, plan: str | None, head: str | None) -> list[dict[str, Any]]:
    """Every plan's chain (or one's); AuditError names the first event that fails."""
    with store.read() as conn:
        ids = ([lookup.select_plan(conn, plan).id] if plan or head else
               lookup.plan_ids(conn))
        results = audit.verify_plans(conn, ids, head)
    return [{"plan": r.plan_id, "ok": True, "events": r.events, "head": r.head_hash,
             **({"head_found_at": r.head_found_at} if head else {})} for r in results]


def export_history(store: Store, out: IO[bytes], *, plan: str | None, task: str | None,
                   agency: str | None, kinds: list[str] | None, since: str | None,
                   until: str | None, fmt: str, output: str | None) -> int:
    """Writes the filtered history to ``output`` (or ``out``); returns how many events."""
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        rows = history.events(conn, p,
                              task=lookup.find_task(conn, p, task).task_id if task else None,
                              agency=lookup.find_agency(conn, p, agency) if agency else None,
                              kinds=kinds, since=since, until=until)
        with outfile.text(output, out) as stream:
            return history.write(rows, fmt, stream)

