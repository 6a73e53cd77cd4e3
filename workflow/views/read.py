"""One function per reading command: open the database, find what was named, answer.

Each returns plain data (the command's JSON); ``workflow.views.render`` turns it into text.
The history's export and verification are in ``workflow.views.history``: ``show`` and the
other reading commands do not import the chain's cross-check.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from workflow.store import lookup
from workflow.store.db import Store, database_url
from workflow.views import asof, queries


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
