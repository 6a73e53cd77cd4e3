"""PostgreSQL guards for extensions (gia hạn) written by a person's role.

Revisions 0003 and 0006 let only the owner write ``extend`` events, and let a person's role
change a task's due day with no event at all (0006 allowed it for ``due_fixed``). Now:

- ``wf_guard_event``: a person's role may write ``extend`` for the plan's coordinator or
  issuer, as a member of it (once the plan has members), on a task (not a group) that its
  history leaves not approved (from_state = to_state = that state), with a note, from the
  task's due day (``old_due``) to a later one (``new_due``); an escalation may follow one's
  own extension (an overdue escalation ends when the new day is still ahead).
- ``wf_guard_row``: a task's ``due`` and ``original_due`` change without a move only right
  after one's own ``extend`` of that task, from its ``old_due`` to its ``new_due`` (keeping
  the first due in ``original_due``), or when a relative deadline gets its date (no due
  before, no ``original_due``: its ``due_fixed`` event follows the approval). A move never
  changes them.
- ``wf_settle``: an ``extend`` event's task is due on its ``new_due`` at commit (no event
  without its row).
- Roles that may already UPDATE a task's ``due`` (person and service roles granted before this
  revision) may now UPDATE its ``original_due`` too, as ``workflow db grant`` gives it.

The functions are 0003's, with 0006's patches and then these (each patch must apply).
SQLite has no roles: nothing changes there.

Revision ID: 0007
Revises: 0006
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_0003 = importlib.import_module("workflow.store.migrations.versions.0003_role_guards")
_0006 = importlib.import_module("workflow.store.migrations.versions.0006_follow_remind_guards")

DAY = "'^[0-9]{4}-[0-9]{2}-[0-9]{2}$'"  # an ISO day: as text, later days sort later

PATCHES = {
    "wf_guard_event()": [
        ("  last_seq integer; last_hash text; was text; p record; prior record;",
         "  last_seq integer; last_hash text; was text; p record; prior record; k record;"),
        ("                AND (prior.event IN @MOVES OR prior.event IN @ESCALATIONS)) THEN",
         "                AND (prior.event IN @MOVES OR prior.event IN @ESCALATIONS\n"
         "                     OR prior.event = 'extend')) THEN"),
        ("  ELSIF NEW.event = 'due_fixed' THEN",
         """  ELSIF NEW.event = 'extend' THEN
    -- An extension: the coordinator's or the issuer's, by a member of it; its task's row
    -- follows right after (wf_guard_row) and agrees at commit (wf_settle).
    IF NEW.actor IS NULL OR NEW.actor NOT IN (p.coordinator, p.issuer) THEN
      RAISE EXCEPTION 'workflow guard: deadlines in plan % are extended for % or % only',
        NEW.plan_id, p.coordinator, p.issuer @REFUSE;
    END IF;
    IF EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id)
       AND NOT EXISTS (SELECT 1 FROM wf_member m WHERE m.plan_id = NEW.plan_id
                       AND m.person = who AND m.agency = NEW.actor) THEN
      RAISE EXCEPTION 'workflow guard: % is not a member of % in plan %',
        who, NEW.actor, NEW.plan_id @REFUSE;
    END IF;
    SELECT w.kind, to_char(w.due, 'YYYY-MM-DD') AS due INTO k FROM wf_task w
     WHERE w.plan_id = NEW.plan_id AND w.task_id = NEW.task_id;
    SELECT e.to_state INTO was FROM wf_event e WHERE e.plan_id = NEW.plan_id
       AND e.task_id = NEW.task_id AND e.event IN @MOVES ORDER BY e.seq DESC LIMIT 1;
    IF k IS NULL OR k.kind = 'group' OR coalesce(was, 'assigned') = 'approved'
       OR NEW.from_state IS DISTINCT FROM coalesce(was, 'assigned')
       OR NEW.to_state IS DISTINCT FROM NEW.from_state
       OR coalesce(btrim(NEW.note), '') = ''
       OR coalesce(NEW.data::jsonb ->> 'old_due', '') !~ @DAY
       OR coalesce(NEW.data::jsonb ->> 'new_due', '') !~ @DAY
       OR (NEW.data::jsonb ->> 'new_due') <= (NEW.data::jsonb ->> 'old_due')
       OR k.due IS DISTINCT FROM (NEW.data::jsonb ->> 'old_due') THEN
      RAISE EXCEPTION 'workflow guard: extend of % is not an extension workflow grants: a '
        'task (not a group) that is not approved, in its state, with a note, from its due '
        'day to a later one', coalesce(NEW.task_id, 'no task') @REFUSE;
    END IF;
  ELSIF NEW.event = 'due_fixed' THEN""")],
    "wf_guard_row()": [
        ("BEGIN\n  IF wf_trusted() THEN", "DECLARE last record;\nBEGIN\n  IF wf_trusted() THEN"),
        ("""    RAISE EXCEPTION 'workflow guard: task % changes only by one move at a time',
      NEW.task_id @REFUSE;
  END IF;""", """    RAISE EXCEPTION 'workflow guard: task % changes only by one move at a time',
      NEW.task_id @REFUSE;
  ELSIF NEW.kind <> 'group'
        AND (NEW.due, NEW.original_due) IS DISTINCT FROM (OLD.due, OLD.original_due)
        AND NOT (OLD.due IS NULL AND OLD.original_due IS NULL AND NEW.original_due IS NULL
                 AND NEW.version = OLD.version) THEN
    -- Not a relative deadline getting its date (its due_fixed event follows the approval):
    -- an extension, right after one's own extend event of this task, as that event says.
    SELECT e.event, e.task_id, e.person, e.data::jsonb AS d INTO last FROM wf_event e
     WHERE e.plan_id = NEW.plan_id ORDER BY e.seq DESC LIMIT 1;
    IF NEW.version <> OLD.version OR last.event IS DISTINCT FROM 'extend'
       OR last.task_id IS DISTINCT FROM NEW.task_id
       OR last.person IS DISTINCT FROM session_user
       OR (last.d ->> 'old_due') IS DISTINCT FROM to_char(OLD.due, 'YYYY-MM-DD')
       OR (last.d ->> 'new_due') IS DISTINCT FROM to_char(NEW.due, 'YYYY-MM-DD')
       OR NEW.original_due IS DISTINCT FROM coalesce(OLD.original_due, OLD.due) THEN
      RAISE EXCEPTION 'workflow guard: the due day of task % changes only by an extension, '
        'right after its extend event', NEW.task_id @REFUSE;
    END IF;
  END IF;""")],
    "wf_settle()": [(
        "    ELSIF r.event IN @MEMBERS THEN\n      problem := wf_member_problem(r.plan_id);\n",
        """    ELSIF r.event IN @MEMBERS THEN
      problem := wf_member_problem(r.plan_id);
    ELSIF r.event = 'extend' THEN
      SELECT format('task %s is due %s, not %s as its extension (seq %s) says', r.task_id,
                    coalesce(to_char(w.due, 'YYYY-MM-DD'), 'no day'),
                    r.data::jsonb ->> 'new_due', r.seq)
        INTO problem FROM wf_task w WHERE w.plan_id = r.plan_id AND w.task_id = r.task_id
         AND to_char(w.due, 'YYYY-MM-DD') IS DISTINCT FROM r.data::jsonb ->> 'new_due';
""")],
}


def statements(schema: str) -> list[str]:
    s = '"' + schema.replace('"', '""') + '"'
    path = f"SET search_path = pg_catalog, {s}, pg_temp"

    def fill(sql: str) -> str:
        return (sql.replace("@PATH", path).replace("@S", s).replace("@REFUSE", _0003.REFUSE)
                .replace("@MOVES", _0003.MOVES).replace("@ESCALATIONS", _0003.ESCALATIONS)
                .replace("@MEMBERS", _0003.MEMBERS).replace("@DAY", DAY))

    out = []
    for signature, body in _0003.FUNCTIONS:
        if signature not in PATCHES:
            continue
        for old, new in _0006.PATCHES.get(signature, []) + PATCHES[signature]:
            if old not in body:
                raise RuntimeError(f"revision 0007: {signature} is not 0003's with 0006's patches")
            body = body.replace(old, new)
        out.append(fill(f"CREATE OR REPLACE FUNCTION @S.{signature} {body}"))
        out.append(fill(f"REVOKE ALL ON FUNCTION @S.{signature} FROM PUBLIC"))
    return out


# Roles (not the owner) that may UPDATE wf_task.due: workflow db grant's person and service.
DUE_WRITERS = """
SELECT DISTINCT r.rolname FROM pg_attribute t
CROSS JOIN LATERAL aclexplode(t.attacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE t.attrelid = '{table}'::regclass AND t.attname = 'due' AND a.privilege_type = 'UPDATE'
  AND a.grantee <> (SELECT c.relowner FROM pg_class c WHERE c.oid = '{table}'::regclass)
ORDER BY 1
"""


def regrant(cursor, schema: str) -> None:
    """The roles that may change a task's due may change its ``original_due`` (an extension
    keeps the first due there), as ``workflow db grant`` now gives them."""
    table = '"' + schema.replace('"', '""') + '".wf_task'
    cursor.execute(DUE_WRITERS.format(table=table.replace("'", "''")))
    for (role,) in cursor.fetchall():
        who = '"' + role.replace('"', '""') + '"'
        cursor.execute(f"GRANT UPDATE (original_due) ON {table} TO {who}")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    with bind.connection.dbapi_connection.cursor() as cursor:
        for stmt in statements(schema):
            cursor.execute(stmt)
        regrant(cursor, schema)


def downgrade() -> None:
    raise NotImplementedError("no downgrade: restore a backup taken before the upgrade")
