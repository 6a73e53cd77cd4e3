"""Finding what a command names: the plan, a task, an agency. Shared by operations and views.

``select_plan(..., lock=True)`` is how every write transaction of a plan begins: on
PostgreSQL it takes the plan row's lock (``SELECT ... FOR UPDATE``), so writers of one plan
follow one another and each reads what the one before it committed; on SQLite the write
transaction already holds the database's lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import difflib
import json
import re
from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Row

from workflow.errors import NotFoundError, UsageError
from workflow.i18n import _
from workflow.plan.names import cached_index, numbering
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
            raise NotFoundError(_("no plan is loaded; load one first: workflow load FILE"))
        if len(ids) > 1:
            raise UsageError(_("several plans are loaded ({plans}); choose one with --plan ID "
                               "or WORKFLOW_PLAN").format(plans=", ".join(plan_ids(conn))))
        plan_id = ids[0]
    row = conn.execute(_PLAN_LOCKED if lock else _PLAN_BY_ID, {"plan_id": plan_id}).one_or_none()
    if row is None:
        raise NotFoundError(_("no plan {plan!r}; loaded plans: {plans}").format(
            plan=given, plans=", ".join(plan_ids(conn)) or _("none (workflow load FILE)")))
    return row


def plan_settings(conn: Connection, plan: Row) -> SimpleNamespace:
    """The plan row with ``follows``, read from its ``definition`` JSON once per digest (see
    ``lifecycle.Settings``; the clocks and calendar are read by ``clocks.plan_clocks``)."""
    extra = _settings_of(plan.id, plan.digest, lambda: conn.execute(
        select(PLAN.c.definition).where(PLAN.c.id == plan.id)).scalar_one())
    return SimpleNamespace(**plan._asdict(), **extra)


def settings_from(stored: dict) -> dict:
    """What the rules read of a plan's stored or canonical definition besides its clocks and
    calendar (``clocks.plan_clocks`` reads those from ``definition``): ``follows``."""
    follows = stored.get("follows")
    if follows is None and isinstance(stored.get("tasks"), dict):  # a canonical definition
        follows = [t["due_after"]["task"] for t in stored["tasks"].values() if "due_after" in t]
    return {"follows": None if follows is None else frozenset(follows)}


_CACHE: dict[tuple[str, str], dict] = {}


def _settings_of(plan_id: str, digest: str, read) -> dict:
    key = (plan_id, digest)
    if key not in _CACHE:
        text = read()
        _CACHE[key] = settings_from(json.loads(text) if text else {})
    return _CACHE[key]


def find_task(conn: Connection, plan: Row, ref: str) -> Row:
    """A task by id (in any case), or by the document's numbering (``ref``: "1", "1." and "1)"
    alike) when that names one task; ``REF/UNIT`` is the instance for UNIT of the task ``REF``
    numbers (``1/phu-quoc``)."""
    ref = nfc(ref.strip())
    row = _task_by_id(conn, plan, ref) or _task_by_ref(conn, plan, ref)
    if row is None and "/" in ref:
        numbered, unit = ref.rsplit("/", 1)
        group = _task_by_ref(conn, plan, numbered)
        if group is not None:
            row = _task_by_id(conn, plan, f"{group.task_id}/{unit.strip()}")
    if row is not None:
        return row
    ids = conn.execute(select(TASK.c.task_id).where(TASK.c.plan_id == plan.id)
                       .limit(20000)).scalars().all()
    close = difflib.get_close_matches(ref.lower(), ids, n=3, cutoff=0.6)
    raise NotFoundError((_("no task {task!r} in plan {plan}; did you mean {close}?") if close
                         else _("no task {task!r} in plan {plan}; list them with workflow tasks")
                         ).format(task=ref, plan=plan.id, close=", ".join(close)))


def match_tasks(conn: Connection, plan: Row, pattern: str) -> list[Row]:
    """The tasks a pattern with ``*`` names, in the document's order: by id (in any case), by
    the document's numbering (``2.*``), or by numbering and unit (``II.4/*``). Groups are left
    out (their instances move); NotFoundError when nothing matches."""
    pattern = nfc(pattern.strip())
    wanted = re.compile(".*".join(map(re.escape, pattern.casefold().split("*"))), re.DOTALL)
    rows = conn.execute(select(TASK).where(TASK.c.plan_id == plan.id, TASK.c.kind != Kind.GROUP)
                        .order_by(TASK.c.position, TASK.c.pk)).all()
    found = [r for r in rows if any(wanted.fullmatch(k.casefold()) for k in _names_of(r))]
    if not found:
        raise NotFoundError(_("no task of plan {plan} matches {pattern!r}; list them with "
                              "workflow tasks '{pattern}'").format(plan=plan.id, pattern=pattern))
    return found


def _names_of(row: Row) -> list[str]:
    """What a pattern may match: the id, the numbering, and numbering/unit of an instance."""
    names = [row.task_id]
    number = numbering(row.ref)[0] if row.ref else None
    if number:
        names.append(number)
        if row.parent:
            names.append(f"{number}/{row.task_id[len(row.parent) + 1:]}")
    return names


def _task_by_id(conn: Connection, plan: Row, task_id: str) -> Row | None:
    row = conn.execute(_TASK_BY_ID, {"plan_id": plan.id, "task_id": task_id}).one_or_none()
    if row is None and task_id.lower() != task_id:  # ids are lower case
        row = conn.execute(_TASK_BY_ID, {"plan_id": plan.id,
                                         "task_id": task_id.lower()}).one_or_none()
    return row


def _task_by_ref(conn: Connection, plan: Row, ref: str) -> Row | None:
    """The task the document numbers ``ref`` (its group, not its instances, which share the
    ref), or None; several tasks numbered alike are refused, naming them."""
    rows = conn.execute(select(TASK).where(
        TASK.c.plan_id == plan.id, TASK.c.ref.in_(numbering(ref)),
        TASK.c.kind != Kind.INSTANCE).order_by(TASK.c.position).limit(6)).all()
    if len(rows) > 1:
        shown = ", ".join(r.task_id for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        raise UsageError(_("{ref!r} numbers several tasks of plan {plan} ({tasks}); give the "
                           "task id").format(ref=ref, plan=plan.id, tasks=shown))
    return rows[0] if rows else None


def find_agency(conn: Connection, plan: Row, ref: str) -> str:
    """An agency by id, name or alias, written as people write them (``plan.names``)."""
    exact = conn.execute(_AGENCY_BY_ID, {"plan_id": plan.id, "agency": ref}).scalar_one_or_none()
    if exact is not None:  # the usual case: the id as it is
        return exact
    index = cached_index((plan.id, plan.digest), lambda: (  # agencies change with the digest
        (r.id, r.name, json.loads(r.aliases)) for r in conn.execute(
            select(AGENCY).where(AGENCY.c.plan_id == plan.id).order_by(AGENCY.c.id))))
    return index.resolve(ref, _("plan {plan}").format(plan=plan.id))


def agency_names(conn: Connection, plan: Row) -> dict[str, str]:
    return dict(conn.execute(select(AGENCY.c.id, AGENCY.c.name)
                             .where(AGENCY.c.plan_id == plan.id)).all())
