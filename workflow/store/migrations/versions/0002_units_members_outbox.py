"""Fan-out and recurring tasks, plan members, the escalation outbox; Alembic's version table
replaces ``wf_meta``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)  # stored as UTC


def upgrade() -> None:
    # Databases made before revisions existed may already hold some of this (they were built
    # from the models of their day): each step is taken only where it is missing.
    insp = sa.inspect(op.get_bind())
    _task_columns(insp)
    _new_tables(insp)


def _task_columns(insp) -> None:
    have = {c["name"] for c in insp.get_columns("wf_task")}
    # Existing tasks are plain tasks: "kind" gets a default so the NOT NULL column can be added.
    for column in (sa.Column("kind", sa.String(), nullable=False, server_default="task"),
                   sa.Column("parent", sa.String(), nullable=True),
                   sa.Column("unit", sa.String(), nullable=True),
                   sa.Column("rule", sa.String(), nullable=True),
                   sa.Column("next_create_at", TS, nullable=True)):
        if column.name not in have:
            op.add_column("wf_task", column)
    indexes = {i["name"] for i in insp.get_indexes("wf_task")}
    if "ix_wf_task_parent" not in indexes:
        op.create_index("ix_wf_task_parent", "wf_task", ["parent"])
    if "ix_task_recur" not in indexes:
        op.create_index("ix_task_recur", "wf_task", ["plan_id", "next_create_at"],
                        sqlite_where=sa.text("next_create_at IS NOT NULL"),
                        postgresql_where=sa.text("next_create_at IS NOT NULL"))


def _new_tables(insp) -> None:
    if not insp.has_table("wf_unit"):
        op.create_table(
            "wf_unit",
            sa.Column("plan_id", sa.String(), nullable=False),
            sa.Column("list_id", sa.String(), nullable=False),
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("agency", sa.String(), nullable=True),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["plan_id"], ["wf_plan.id"]),
            sa.PrimaryKeyConstraint("plan_id", "list_id", "id"),
        )
    if not insp.has_table("wf_member"):
        op.create_table(
            "wf_member",
            sa.Column("plan_id", sa.String(), nullable=False),
            sa.Column("person", sa.String(), nullable=False),
            sa.Column("agency", sa.String(), nullable=False),
            sa.Column("added_by", sa.String(), nullable=False),
            sa.Column("added_at", TS, nullable=False),
            sa.ForeignKeyConstraint(["plan_id"], ["wf_plan.id"]),
            sa.PrimaryKeyConstraint("plan_id", "person", "agency"),
        )
    if not insp.has_table("wf_delivery"):
        op.create_table(
            "wf_delivery",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("plan_id", sa.String(), nullable=False),
            sa.Column("event_seq", sa.Integer(), nullable=False),
            sa.Column("task_id", sa.String(), nullable=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", TS, nullable=False),
            sa.Column("delivered_at", TS, nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.ForeignKeyConstraint(["plan_id"], ["wf_plan.id"]),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_delivery_pending", "wf_delivery", ["next_attempt_at"],
                        sqlite_where=sa.text("delivered_at IS NULL"),
                        postgresql_where=sa.text("delivered_at IS NULL"))
    # The schema's revision now lives in Alembic's version table (wf_schema_version).
    if insp.has_table("wf_meta"):
        op.drop_table("wf_meta")


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
