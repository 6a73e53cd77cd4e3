"""The first release's schema (``wf_meta`` schema_version 1): plans, tasks, history.

Databases created before migrations existed hold exactly this; ``workflow db upgrade`` checks
that and stamps them at this revision, then applies the later ones.

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)  # stored as UTC

SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS wf_event_no_update BEFORE UPDATE ON wf_event "
    "BEGIN SELECT RAISE(ABORT, 'wf_event is append-only: history cannot be changed'); END",
    "CREATE TRIGGER IF NOT EXISTS wf_event_no_delete BEFORE DELETE ON wf_event "
    "BEGIN SELECT RAISE(ABORT, 'wf_event is append-only: history cannot be deleted'); END",
]
POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION wf_event_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'wf_event is append-only: history cannot be changed or deleted'; "
    "END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS wf_event_no_change ON wf_event",
    "CREATE TRIGGER wf_event_no_change BEFORE UPDATE OR DELETE ON wf_event "
    "FOR EACH ROW EXECUTE FUNCTION wf_event_append_only()",
    "DROP TRIGGER IF EXISTS wf_event_no_truncate ON wf_event",
    "CREATE TRIGGER wf_event_no_truncate BEFORE TRUNCATE ON wf_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION wf_event_append_only()",
]


def _plan_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["plan_id"], ["wf_plan.id"])


def upgrade() -> None:
    _plans()
    _tasks()
    _history()
    _escalations()
    # The history is append-only: the database refuses UPDATE, DELETE (and TRUNCATE).
    dialect = op.get_bind().dialect.name
    for stmt in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS:
        op.execute(stmt)
    op.execute(sa.text("INSERT INTO wf_meta (key, value) VALUES ('schema_version', '1')"))


def _plans() -> None:
    op.create_table(
        "wf_meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "wf_plan",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("issuer", sa.String(), nullable=False),
        sa.Column("coordinator", sa.String(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("stall_after", sa.Integer(), nullable=False),
        sa.Column("step_after", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("loaded_at", TS, nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "wf_agency",
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("aliases", sa.String(), nullable=False),
        _plan_fk(),
        sa.PrimaryKeyConstraint("plan_id", "id"),
    )


def _tasks() -> None:
    op.create_table(
        "wf_task",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("lead", sa.String(), nullable=False),
        sa.Column("support", sa.String(), nullable=False),
        sa.Column("approver", sa.String(), nullable=False),
        sa.Column("depends_on", sa.String(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("start", sa.Date(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("blocked_from", sa.String(), nullable=True),
        sa.Column("blocked_by", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_move_at", TS, nullable=False),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("open_deps", sa.Integer(), nullable=False),
        sa.Column("stall_at", TS, nullable=True),
        sa.Column("overdue_at", TS, nullable=True),
        _plan_fk(),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("plan_id", "task_id"),
    )
    op.create_index("ix_task_overdue", "wf_task", ["plan_id", "overdue_at"],
                    sqlite_where=sa.text("overdue_at IS NOT NULL"),
                    postgresql_where=sa.text("overdue_at IS NOT NULL"))
    op.create_index("ix_task_plan_state", "wf_task", ["plan_id", "state"])
    op.create_index("ix_task_plan_lead", "wf_task", ["plan_id", "lead"])
    op.create_index("ix_task_stall", "wf_task", ["plan_id", "stall_at"],
                    sqlite_where=sa.text("stall_at IS NOT NULL"),
                    postgresql_where=sa.text("stall_at IS NOT NULL"))
    op.create_table(
        "wf_dependency",
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("depends_on", sa.String(), nullable=False),
        _plan_fk(),
        sa.PrimaryKeyConstraint("plan_id", "task_id", "depends_on"),
    )
    op.create_index("ix_dependency_target", "wf_dependency", ["plan_id", "depends_on"])


def _history() -> None:
    op.create_table(
        "wf_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("person", sa.String(), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("escalated_to", sa.String(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        _plan_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "seq"),
    )
    op.create_index("ix_event_task", "wf_event", ["plan_id", "task_id", "seq"])


def _escalations() -> None:
    op.create_table(
        "wf_escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("must_act", sa.String(), nullable=False),
        sa.Column("chain", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("escalated_to", sa.String(), nullable=False),
        sa.Column("since", TS, nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("next_climb_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        _plan_fk(),
        sa.ForeignKeyConstraint(["task_pk"], ["wf_task.pk"]),
        sa.PrimaryKeyConstraint("id"),
    )
    # At most one open escalation per task, enforced by the database itself.
    op.create_index("ux_escalation_open", "wf_escalation", ["task_pk"], unique=True,
                    sqlite_where=sa.text("resolved_at IS NULL"),
                    postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_index("ix_escalation_climb", "wf_escalation", ["plan_id", "next_climb_at"],
                    sqlite_where=sa.text("resolved_at IS NULL"),
                    postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    raise NotImplementedError("the first schema has no downgrade: restore a backup instead")
