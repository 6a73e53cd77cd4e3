"""SQLModel tables. Times are stored as UTC (SQLModel's UTCDateTime); shown in the plan's timezone.

The columns a sweep filters on (``stall_at``, ``overdue_at``, open escalations'
``next_climb_at``) are precomputed on every move so each sweep query is one index range scan:
its cost follows the tasks needing attention, not the size of the plan.

Databases are created and upgraded by the Alembic revisions in ``workflow/store/migrations``, not
from these classes: a column or table added here needs a new revision there (a test compares).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows where ``where`` holds (SQLite and PostgreSQL both have them).

    The condition is named for SQLite only, which is what reads it from here (the as-of
    replay's in-memory tables); the migrations create these indexes on both databases.
    Naming ``postgresql_where`` too would import SQLAlchemy's PostgreSQL dialect (~30 ms)
    into every command, SQLite or not."""
    return Index(name, *columns, unique=unique, sqlite_where=text(where))


class PlanRow(SQLModel, table=True):
    __tablename__ = "wf_plan"
    id: str = Field(primary_key=True)
    title: str
    issuer: str
    coordinator: str
    timezone: str
    stall_after: int  # seconds
    step_after: int  # seconds
    digest: str
    # Plan settings without a column of their own (JSON: notify). The name is historical: the
    # canonical definition itself is in the load/upgrade events' data, hash-chained.
    definition: str = Field(sa_column=Column(Text, nullable=False))
    source: str
    loaded_at: datetime
    head_seq: int = 0
    head_hash: str = ""


class AgencyRow(SQLModel, table=True):
    __tablename__ = "wf_agency"
    plan_id: str = Field(primary_key=True, foreign_key="wf_plan.id")
    id: str = Field(primary_key=True)
    name: str
    aliases: str = "[]"  # JSON list: other ways the plans write this agency


class TaskRow(SQLModel, table=True):
    __tablename__ = "wf_task"
    __table_args__ = (
        UniqueConstraint("plan_id", "task_id"),
        Index("ix_task_plan_state", "plan_id", "state"),
        Index("ix_task_plan_lead", "plan_id", "lead"),
        _partial("ix_task_stall", "plan_id", "stall_at", where="stall_at IS NOT NULL"),
        _partial("ix_task_recur", "plan_id", "next_create_at", where="next_create_at IS NOT NULL"),
        _partial("ix_task_overdue", "plan_id", "overdue_at", where="overdue_at IS NOT NULL"),
        _partial("ix_task_remind", "plan_id", "remind_at", where="remind_at IS NOT NULL"),
    )
    pk: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="wf_plan.id")
    task_id: str  # for an instance: "task-id/unit-id" or "task-id/YYYY-MM-DD"
    position: int  # order in the definition file
    kind: str = "task"  # task | group (fanned out or recurring: rolls up) | instance
    parent: str | None = Field(default=None, index=True)  # an instance's group task id
    unit: str | None = None  # an instance's unit id, or its occurrence date (ISO)
    rule: str | None = None  # a recurring group's rule (JSON)
    # A recurring group: when the sweep must create its next occurrence (NULL: rule finished).
    next_create_at: datetime | None = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    ref: str | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    lead: str  # the (first) lead: heads the escalation chain
    co_leads: str = Field(default="[]", sa_column=Column(Text, nullable=False,
                                                          server_default="[]"))  # JSON: joint leads
    support: str  # JSON list of agency ids
    approver: str
    depends_on: str  # JSON list of task ids
    due: date | None = None
    # The due before any extension (today the definition's: an extension changes ``due`` only).
    original_due: date | None = None
    # The definition's own words for the deadline ("Quý III/2024", "Thường xuyên"); NULL for a
    # recurring task's occurrences and for rows loaded before revision 0004 until the next upgrade.
    due_text: str | None = Field(default=None, sa_column=Column(Text))
    start: date | None = None
    # ``due: {after: TASK, within: 15wd}``: ``due`` is NULL until TASK is approved, then fixed.
    due_after: str | None = None
    due_within: str | None = None
    # The task's own stall_after/step_after/remind_before (JSON of duration texts); NULL: plan's.
    clock: str | None = Field(default=None, sa_column=Column(Text))
    state: str = "assigned"
    blocked_from: str | None = None
    blocked_by: str | None = None
    version: int = 0
    last_move_at: datetime
    reported_at: datetime | None = None
    approved_at: datetime | None = None
    on_time: bool | None = None  # set on approval: was the approved report made by the due day?
    open_deps: int = 0  # dependencies not yet approved
    # When the task becomes stalled, if nothing moves it (NULL: it cannot stall now).
    stall_at: datetime | None = None
    # End of the due day in UTC, while not approved (NULL: no deadline or done).
    overdue_at: datetime | None = None
    # When the sweep sends the reminder for the current due date (NULL: none to send), and the
    # due date the last reminder was sent for: one reminder per due date.
    remind_at: datetime | None = None
    reminded_for: date | None = None


class UnitRow(SQLModel, table=True):
    """Named lists of units (districts, communes, hospitals) a task may fan out over."""

    __tablename__ = "wf_unit"
    plan_id: str = Field(primary_key=True, foreign_key="wf_plan.id")
    list_id: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str
    agency: str | None = None  # the unit's own agency id, when it acts as lead
    position: int = 0


class MemberRow(SQLModel, table=True):
    """Which person (OS user or database role) may act for which agency of a plan."""

    __tablename__ = "wf_member"
    plan_id: str = Field(primary_key=True, foreign_key="wf_plan.id")
    person: str = Field(primary_key=True)
    agency: str = Field(primary_key=True)
    added_by: str
    added_at: datetime


class DeliveryRow(SQLModel, table=True):
    """Outbox: each raised or climbed escalation waits here until delivered to the hook."""

    __tablename__ = "wf_delivery"
    __table_args__ = (_partial("ix_delivery_pending", "next_attempt_at",
                               where="delivered_at IS NULL"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="wf_plan.id")
    event_seq: int
    task_id: str
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    attempts: int = 0
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class DependencyRow(SQLModel, table=True):
    __tablename__ = "wf_dependency"
    __table_args__ = (Index("ix_dependency_target", "plan_id", "depends_on"),)
    plan_id: str = Field(primary_key=True, foreign_key="wf_plan.id")
    task_id: str = Field(primary_key=True)
    depends_on: str = Field(primary_key=True)


class EventRow(SQLModel, table=True):
    """The history: append-only, hash-chained per plan (database triggers refuse changes)."""

    __tablename__ = "wf_event"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq"),
        Index("ix_event_task", "plan_id", "task_id", "seq"),
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="wf_plan.id")
    seq: int
    task_id: str | None = None
    event: str
    from_state: str | None = None
    to_state: str | None = None
    actor: str | None = None
    person: str | None = None
    at: datetime
    note: str | None = Field(default=None, sa_column=Column(Text))
    escalated_to: str | None = None
    level: int | None = None
    reason: str | None = None
    data: str | None = Field(default=None, sa_column=Column(Text))  # JSON extras
    prev_hash: str
    hash: str


class EscalationRow(SQLModel, table=True):
    __tablename__ = "wf_escalation"
    __table_args__ = (
        # At most one open escalation per task, enforced by the database itself.
        _partial("ux_escalation_open", "task_pk", where="resolved_at IS NULL", unique=True),
        _partial("ix_escalation_climb", "plan_id", "next_climb_at", where="resolved_at IS NULL"),
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="wf_plan.id")
    task_pk: int = Field(foreign_key="wf_task.pk")
    task_id: str
    reason: str  # blocked | overdue | stalled
    must_act: str
    chain: str  # JSON list: the agencies it may climb through, lowest first
    level: int
    escalated_to: str
    since: datetime  # when its cause began: climbing counts from here
    raised_at: datetime
    next_climb_at: datetime | None = None  # NULL at the top of the chain
    resolved_at: datetime | None = None


# The plan row every command reads. ``definition`` once held the whole canonical definition
# and was left out; it holds only the few settings no column does now (``rules.clocks`` reads
# the working-day clocks and calendar from it), so the row carries it.
PLAN_ROW = list(PlanRow.__table__.c)
# The tables, by the names the queries use.
PLAN, AGENCY, TASK, UNIT, MEMBER = (PlanRow.__table__, AgencyRow.__table__, TaskRow.__table__,
                                    UnitRow.__table__, MemberRow.__table__)
DELIVERY, DEP, EVENT, ESC = (DeliveryRow.__table__, DependencyRow.__table__,
                             EventRow.__table__, EscalationRow.__table__)
