"""Finding what a command names: the plan, a task, an agency. Shared by operations and views.

``select_plan(..., lock=True)`` is how every write transaction of a plan begins: on
PostgreSQL it takes the plan row's lock (``SELECT ... FOR UPDATE``), so writers of one plan
follow one another and each reads what the one before it committed; on SQLite the write
transaction already holds the database's lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import difflib
import json

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Row

from workflow.errors import NotFoundError, UsageError
from workflow.plan.names import AgencyIndex
from workflow.rules.kinds import Kind
from workflow.store.models import PLAN_ROW, AgencyRow, PlanRow, TaskRow
from workflow.text import nfc

PLAN, TASK, AGENCY = PlanRow.__table__, TaskRow.__table__, AgencyRow.__table__

# Built once: SQLAlchemy compiles each of these a single time per process.
_PLAN_BY_ID = select(*PLAN_ROW).where(PLAN.c.id == bindparam("plan_id"))
_PLAN_LOCKED = _PLAN_BY_ID.with_for_update()
_TASK_BY_ID = select(TASK).where(TASK.c.plan_id == bindparam("plan_id"),
                                 TASK.c.task_id == bindparam("task_id"))
_AGENCY_BY_ID = select(AGENCY.c.id).where(AGENCY.c.plan_id == bindparam("plan_id"),
                                          AGENCY.c.id == bindparam("agency"))


def plan_ids(conn: Connection) -> list[str]:
    return list(conn.execute(select(PLAN.c.id).order_by(PLAN.c.id)).scalars())


def select_plan(conn: Connection, plan_id: str | None, *, lock: bool = False) -> Row:
    """The plan named, or the only one loaded; ``lock``: hold its row until commit."""
    given = plan_id
    if plan_id:
        plan_id = nfc(plan_id.strip())
    else:
        ids = conn.execute(select(PLAN.c.id).order_by(PLAN.c.id).limit(2)).scalars().all()
        if not ids:
            raise NotFoundError("no plan is loaded; load one first: workflow load FILE")
        if len(ids) > 1:
            raise UsageError(f"several plans are loaded ({', '.join(plan_ids(conn))}); choose "
                             "one with --plan ID or WORKFLOW_PLAN")
        plan_id = ids[0]
    row = conn.execute(_PLAN_LOCKED if lock else _PLAN_BY_ID, {"plan_id": plan_id}).one_or_none()
    if row is None:
        raise NotFoundError(f"no plan {given!r}; loaded plans: "
                            f"{', '.join(plan_ids(conn)) or 'none (workflow load FILE)'}")
    return row


def find_task(conn: Connection, plan: Row, ref: str) -> Row:
    """A task by id, or by the document's numbering (``ref``) when that is unique."""
    ref = nfc(ref.strip())
    row = conn.execute(_TASK_BY_ID, {"plan_id": plan.id, "task_id": ref}).one_or_none()
    if row is not None:
        return row
    # A fanned-out task's instances share its ref: the ref names the task (its group).
    by_ref = conn.execute(select(TASK).where(TASK.c.plan_id == plan.id, TASK.c.ref == ref,
                                             TASK.c.kind != Kind.INSTANCE).limit(2)).all()
    if len(by_ref) == 1:
        return by_ref[0]
    ids = conn.execute(select(TASK.c.task_id).where(TASK.c.plan_id == plan.id)
                       .limit(20000)).scalars().all()
    close = difflib.get_close_matches(ref, ids, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else "; list them with workflow tasks"
    raise NotFoundError(f"no task {ref!r} in plan {plan.id}{hint}")


def find_agency(conn: Connection, plan: Row, ref: str) -> str:
    """An agency by id, name or alias, written in any Unicode form or case."""
    exact = conn.execute(_AGENCY_BY_ID, {"plan_id": plan.id, "agency": ref}).scalar_one_or_none()
    if exact is not None:  # the usual case: the id as it is
        return exact
    rows = conn.execute(select(AGENCY).where(AGENCY.c.plan_id == plan.id)).all()
    found, several = AgencyIndex((r.id, r.name, json.loads(r.aliases)) for r in rows).lookup(ref)
    if found is not None:
        return found
    if several:
        raise UsageError(f"{ref!r} names several agencies ({', '.join(sorted(several))}); "
                         "use the id")
    raise NotFoundError(f"no agency {ref!r} in plan {plan.id}; agencies: "
                        f"{', '.join(r.id for r in rows)}")


def agency_names(conn: Connection, plan: Row) -> dict[str, str]:
    return dict(conn.execute(select(AGENCY.c.id, AGENCY.c.name)
                             .where(AGENCY.c.plan_id == plan.id)).all())
