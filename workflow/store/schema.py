"""The schema's revision: read it, refuse what this workflow cannot use, migrate with Alembic.

Every start reads the revision from ``wf_schema_version`` (Alembic's version table) and
compares it with ``migrations.HEAD``: one small query, no Alembic import. Alembic is imported
only to create or upgrade a database, where it runs ``workflow/store/migrations`` inside the
caller's transaction (on PostgreSQL, under an advisory lock, so two processes creating the
same database at once wait for each other instead of failing).

A database made before migrations existed has ``wf_meta`` (schema_version 1) and no version
table: ``workflow db upgrade`` checks that its tables and columns are those of revision 0001,
stamps it there and upgrades it like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from workflow.errors import StoreError
from workflow.i18n import N_, _
from workflow.store import models  # noqa: F401  (registers the tables in SQLModel.metadata)
from workflow.store.migrations import HEAD

VERSION_TABLE = "wf_schema_version"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST = "0001"
# pg_advisory_xact_lock key held while creating or migrating ("wflo" in ASCII).
LOCK_KEY = 0x77666C6F
UPGRADE_HINT = N_("run: workflow db upgrade (back up the database first)")


@dataclass(frozen=True)
class State:
    status: str  # current | empty | older | newer | legacy
    revision: str | None

    def describe(self) -> str:
        if self.status == "legacy":
            return "version 1, from before revisions"
        return f"revision {self.revision}" if self.revision else "no schema"


def state(conn: Connection) -> State:
    """Where the database's schema stands relative to this workflow's migrations."""
    revisions = _revisions(conn)
    if revisions is not None:
        if len(revisions) == 1:
            rev = revisions[0]
            if rev == HEAD:
                return State("current", rev)
            return State("older" if rev in known_revisions() else "newer", rev)
        if revisions:
            return State("newer", ", ".join(sorted(revisions)))
    insp = inspect(conn)
    if insp.has_table("wf_meta"):
        version = conn.execute(text("SELECT value FROM wf_meta WHERE key = 'schema_version'")
                               ).scalar_one_or_none()
        if version == "1":
            return State("legacy", None)
        return State("newer", f"schema version {version}")
    if insp.has_table("wf_plan"):
        return State("newer", "unknown")
    return State("empty", None)


def _revisions(conn: Connection) -> list[str] | None:
    """The version table's rows; None when there is no version table. (Asking directly, in a
    savepoint, is one round trip where the catalog query costs several.)"""
    try:
        with conn.begin_nested():
            return list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")
                                     ).scalars())
    except DBAPIError as err:
        if getattr(err.orig, "sqlstate", None) == "42P01" or "no such table" in str(err.orig):
            return None
        raise


def refusal(current: State) -> str | None:
    """Why this workflow will not use the database as it is (None: it will)."""
    if current.status == "newer":
        return _("the database's schema ({schema}) is newer than this workflow knows (revision "
                 "{head}); upgrade workflow to use it").format(schema=current.describe(),
                                                               head=HEAD)
    if current.status in ("older", "legacy"):
        return _("the database's schema ({schema}) is older than this workflow's (revision "
                 "{head}); {hint}").format(schema=current.describe(), head=HEAD,
                                           hint=_(UPGRADE_HINT))
    return None


def known_revisions() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


def _script():
    from alembic.script import ScriptDirectory  # heavy, and only to create or upgrade a schema
    return ScriptDirectory(str(MIGRATIONS))


def _config(conn: Connection):
    from alembic.config import Config  # heavy, and only to create or upgrade a schema
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(conn: Connection, target: str = "head") -> tuple[State, State]:
    """Brings the schema to ``target`` inside the caller's (write) transaction.

    Returns the state before and after. Refuses a schema newer than this workflow's.
    """
    from alembic import command  # heavy, and only to create or upgrade a schema
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    before = state(conn)  # read again under the lock: another process may have done it
    if before.status == "newer":
        raise StoreError(refusal(before) or "")
    if before.status == "legacy":
        _adopt_legacy(conn)
    command.upgrade(_config(conn), target)
    if before.status == "legacy" and target == "head":
        _check_complete(conn)
    return before, state(conn)


def _check_complete(conn: Connection) -> None:
    """After adopting a pre-revision database: every table and column of the models is there
    (otherwise the whole upgrade rolls back, nothing changed)."""
    problems = _missing(conn, {t.name: {c.name for c in t.columns}
                               for t in SQLModel.metadata.sorted_tables})
    if problems:
        raise StoreError(_("cannot upgrade this database from before revisions: {problems}; "
                           "nothing was changed").format(problems="; ".join(problems)),
                         details=[_("copy its plans into a new database with workflow db copy "
                                    "using the workflow that made it, or restore a backup")])


def _missing(conn: Connection, expected: dict[str, set[str]]) -> list[str]:
    """What the database lacks of ``expected`` (table -> columns), one line a table."""
    insp = inspect(conn)
    problems = []
    for table, columns in expected.items():
        if not insp.has_table(table):
            problems.append(_("table {table} is missing").format(table=table))
            continue
        lacking = columns - {c["name"] for c in insp.get_columns(table)}
        if lacking:
            problems.append(_("{table} lacks {columns}").format(
                table=table, columns=", ".join(sorted(lacking))))
    return problems


def _adopt_legacy(conn: Connection) -> None:
    """Stamps a pre-revision database at 0001 once its tables are 0001's, column for column."""
    from alembic import command  # heavy, and only to create or upgrade a schema
    problems = _missing(conn, dict(sorted(_first_release_columns().items())))
    if problems:
        raise StoreError(_("cannot upgrade: the database says schema version 1 but its tables "
                           "differ from it ({problems}); nothing was changed").format(
            problems="; ".join(problems)),
                         details=[_("restore it from a backup, or copy its plans with "
                                    "workflow db copy after repairing them")])
    command.stamp(_config(conn), FIRST)


def _first_release_columns() -> dict[str, set[str]]:
    """The tables and columns revision 0001 creates (built in memory, nothing else touched)."""
    from alembic import command  # heavy, and only to create or upgrade a schema
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), FIRST)
            insp = inspect(conn)
            return {t: {c["name"] for c in insp.get_columns(t)}
                    for t in insp.get_table_names() if t != VERSION_TABLE}
    finally:
        engine.dispose()
