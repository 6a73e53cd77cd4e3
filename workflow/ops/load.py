"""Loading a plan (``workflow load``): create it, leave it as it is, or upgrade it.

One transaction. When the plan exists its row is locked before anything is read, so a move or
a sweep of the same plan waits for the load and then sees the upgraded plan whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from workflow import clock, logs
from workflow.errors import ConflictError
from workflow.i18n import _
from workflow.logs import Progress, no_progress
from workflow.ops.move import clean_note
from workflow.ops.occurrences import create_due
from workflow.ops.upgrade import fill_words, upgrade_plan
from workflow.plan.definitions import Plan, load_file
from workflow.rules.kinds import EventKind
from workflow.store import bulk, expand, lookup
from workflow.store.audit import Appender, Encoded
from workflow.store.db import Store
from workflow.store.models import PLAN_ROW, AgencyRow, DependencyRow, PlanRow, TaskRow, UnitRow

PLAN, TASK, AGENCY, DEP, UNIT = (PlanRow.__table__, TaskRow.__table__, AgencyRow.__table__,
                                 DependencyRow.__table__, UnitRow.__table__)
log = logs.get_logger("workflow")
STEPS = 4  # read (0), plan, tasks, dependencies, history (4): what a terminal bar shows


@dataclass
class LoadResult:
    plan: str
    status: str  # created | unchanged | upgraded
    tasks: int
    changes: dict[str, list] = field(default_factory=dict)


def load_plan(store: Store, plan: Plan, *, now: datetime, actor: str | None = None,
              upgrade: bool = False, progress: Progress = no_progress,
              note: str | None = None) -> LoadResult:
    """Creates the plan, leaves it as it is, or (``upgrade``) applies a changed definition,
    recorded with who (``actor``) and why (``note``)."""
    note = clean_note(note)
    progress("lưu kế hoạch", 1, STEPS)
    with store.write() as conn:
        existing = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)
                                .with_for_update()).one_or_none()
        if existing is not None:
            if existing.digest == plan.digest:
                if upgrade:
                    fill_words(conn, plan)
                return LoadResult(plan.id, "unchanged", len(plan.tasks))
            if not upgrade:
                raise ConflictError(_(
                    "plan {plan} is already loaded from a different definition (stored "
                    "{stored}, file {file}); nothing was written. To apply the changes: "
                    "workflow load {source} --upgrade").format(
                    plan=plan.id, stored=existing.digest[:12], file=plan.digest[:12],
                    source=plan.source))
            changes = upgrade_plan(conn, store.person(conn), existing, plan, now=now,
                                   actor=actor, note=note)
            return LoadResult(plan.id, "upgraded", len(plan.tasks), changes)
        _create(conn, store.person(conn), plan, now, actor, progress, note)
    log.info("plan_loaded", plan=plan.id, tasks=len(plan.tasks), digest=plan.digest[:12])
    return LoadResult(plan.id, "created", len(plan.tasks))


def _create(conn, person: str, plan: Plan, now: datetime, actor: str | None,
            progress: Progress, note: str | None = None) -> None:
    now_u = clock.to_utc(now)
    conn.execute(PLAN.insert().values(**expand.plan_columns(plan), loaded_at=now_u,
                                      head_seq=0, head_hash=""))
    conn.execute(AGENCY.insert(), expand.agency_rows(plan))
    row = conn.execute(select(*PLAN_ROW).where(PLAN.c.id == plan.id)).one()
    settings = lookup.plan_settings(conn, row)
    count = 0
    for batch in expand.batches(expand.task_rows(plan, settings, now_u)):
        bulk.insert(conn, TASK, batch)
        count += len(batch)
        progress(f"nhiệm vụ: {count}", 2, STEPS)
    progress("quan hệ phụ thuộc", 3, STEPS)
    for batch in expand.batches(expand.dependency_rows(plan)):
        bulk.insert(conn, DEP, batch)
    if plan.units:
        conn.execute(UNIT.insert(), expand.unit_rows(plan))
    progress("lịch sử", 4, STEPS)
    events = Appender(conn, plan.id, person, head=row)
    events.add(event=EventKind.LOAD, at=now, actor=actor,
               note=note or _("loaded {source} ({tasks} tasks, {rows} rows)").format(
                   source=plan.source, tasks=len(plan.tasks), rows=count),
               data={"digest": plan.digest, "source": plan.source,
                     "tasks": len(plan.tasks), "definition": Encoded(plan.canonical_json())})
    create_due(conn, events, settings, now)
    events.flush()


def load(file: str, db: str | None, *, now: datetime, actor: str | None,
         upgrade: bool, progress: Progress = no_progress, note: str | None = None) -> LoadResult:
    """``workflow load FILE``: the file is read and checked before the database is touched."""
    progress("đọc định nghĩa", 0, STEPS)
    plan = load_file(file)
    return load_plan(Store(db, create=True), plan, now=now, actor=actor, upgrade=upgrade,
                     progress=progress, note=note)
