"""What the engine needs to act on issue 12's definition keys, per task:

- ``co_leads``: joint leads after the first (JSON list); ``lead`` keeps the first, who heads
  the escalation chain;
- ``clock``: the task's own ``stall_after``/``step_after``/``remind_before`` (JSON of duration
  texts such as ``"5wd"``, ``"never"``), NULL when the plan's apply;
- ``due_after``/``due_within``: a deadline that follows a task (``due: {after, within}``);
  ``due`` stays NULL until that task is approved;
- ``remind_at``: when the sweep must send the reminder (nhắc việc) for the current due date,
  and ``reminded_for``: the due date the last reminder was sent for (once per due date).

Existing rows get the defaults (no joint leads, the plan's clocks, no reminder).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = [
    sa.Column("co_leads", sa.Text(), nullable=False, server_default="[]"),
    sa.Column("clock", sa.Text(), nullable=True),
    sa.Column("due_after", sa.String(), nullable=True),
    sa.Column("due_within", sa.String(), nullable=True),
    sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reminded_for", sa.Date(), nullable=True),
]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("wf_task")}
    for column in COLUMNS:
        if column.name not in have:
            op.add_column("wf_task", column)
    if "ix_task_remind" not in {i["name"] for i in inspector.get_indexes("wf_task")}:
        op.create_index("ix_task_remind", "wf_task", ["plan_id", "remind_at"],
                        sqlite_where=sa.text("remind_at IS NOT NULL"),
                        postgresql_where=sa.text("remind_at IS NOT NULL"))


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
