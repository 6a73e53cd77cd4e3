"""A task's deadline as the definition words it (``due_text``) and the due before any
extension (``original_due``), so ``--json``, ``show`` and the phụ lục carry them.

Existing rows get ``original_due = due`` (no extension exists yet); their words are not in the
database (the stored definition keeps dates only), so ``due_text`` stays NULL until the plan's
file is loaded again with ``workflow load FILE --upgrade``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("wf_task")}
    if "original_due" not in have:
        op.add_column("wf_task", sa.Column("original_due", sa.Date(), nullable=True))
    if "due_text" not in have:
        op.add_column("wf_task", sa.Column("due_text", sa.Text(), nullable=True))
    op.execute("UPDATE wf_task SET original_due = due WHERE original_due IS NULL")


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
