"""PostgreSQL guards for deadlines that follow a task and for reminders (issue 12 items 7, 9).

Revision 0003's guards knew only moves, escalations and members. Now:

- ``wf_guard_event``: a person's role may write ``due_fixed`` right after its own move (the
  approval that fixes the deadlines following the task); the sweep's service role may write
  ``due_fixed`` (a group rolled up by the sweep) and ``reminder`` events.
- ``wf_guard_row``: a task's ``overdue_at`` may change without a move of its own only together
  with its ``due`` (a deadline fixed on approval, an extension): it is that due's end.
- ``wf_outbox_problem``: an outbox row may carry a ``reminder`` event (``"action":
  "reminder"``, no level) as well as a raised or climbed escalation.

The functions are 0003's, patched here (each patch must apply, or the revision fails).
SQLite has no roles: nothing changes there.

Revision ID: 0006
Revises: 0005
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_0003 = importlib.import_module("workflow.store.migrations.versions.0003_role_guards")

PATCHES = {
    "wf_guard_event()": [(
        "  ELSIF NEW.event = 'created' AND has_table_privilege(who, 'wf_task', 'INSERT') THEN",
        """  ELSIF NEW.event = 'due_fixed' THEN
    -- An approval fixes the deadlines that follow its task, right after the person's move.
    IF NOT has_table_privilege(who, 'wf_task', 'INSERT')
       AND NOT (prior.person IS NOT DISTINCT FROM who
                AND (prior.event IN @MOVES OR prior.event = 'due_fixed')) THEN
      RAISE EXCEPTION 'workflow guard: % may fix the deadline of % only right after its own '
        'move', who, coalesce(NEW.task_id, 'no task') @REFUSE;
    END IF;
  ELSIF NEW.event = 'reminder' AND has_table_privilege(who, 'wf_task', 'INSERT') THEN
    NULL;  -- the sweep's service role sends reminders
  ELSIF NEW.event = 'created' AND has_table_privilege(who, 'wf_task', 'INSERT') THEN""")],
    "wf_guard_row()": [
        ("NEW.on_time, NEW.overdue_at, NEW.last_move_at)", "NEW.on_time, NEW.last_move_at)"),
        ("OLD.approved_at, OLD.on_time, OLD.overdue_at, OLD.last_move_at)) THEN",
         "OLD.approved_at, OLD.on_time, OLD.last_move_at)\n"
         "        OR (NEW.overdue_at IS DISTINCT FROM OLD.overdue_at\n"
         "            AND NEW.due IS NOT DISTINCT FROM OLD.due)) THEN")],
    "wf_outbox_problem(row_id integer)": [
        ("WHEN e.seq IS NULL OR e.event NOT IN ('escalation_raised', 'escalation_climbed') THEN",
         "WHEN e.seq IS NULL OR e.event NOT IN ('escalation_raised', 'escalation_climbed',\n"
         "                                        'reminder') THEN"),
        ("WHEN (e.task_id, 'escalation_' || (d ->> 'action'), e.level,",
         "WHEN (e.task_id, CASE WHEN d ->> 'action' = 'reminder' THEN 'reminder'\n"
         "                 ELSE 'escalation_' || (d ->> 'action') END, e.level,")],
}


def statements(schema: str) -> list[str]:
    s = '"' + schema.replace('"', '""') + '"'
    path = f"SET search_path = pg_catalog, {s}, pg_temp"

    def fill(sql: str) -> str:
        return (sql.replace("@PATH", path).replace("@S", s).replace("@REFUSE", _0003.REFUSE)
                .replace("@MOVES", _0003.MOVES).replace("@ESCALATIONS", _0003.ESCALATIONS)
                .replace("@MEMBERS", _0003.MEMBERS))

    out = []
    for signature, body in _0003.FUNCTIONS:
        if signature not in PATCHES:
            continue
        for old, new in PATCHES[signature]:
            if old not in body:
                raise RuntimeError(f"revision 0006: {signature} is not 0003's")
            body = body.replace(old, new)
        out.append(fill(f"CREATE OR REPLACE FUNCTION @S.{signature} {body}"))
        out.append(fill(f"REVOKE ALL ON FUNCTION @S.{signature} FROM PUBLIC"))
    return out


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    with bind.connection.dbapi_connection.cursor() as cursor:
        for stmt in statements(schema):
            cursor.execute(stmt)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
