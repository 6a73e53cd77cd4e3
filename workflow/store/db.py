"""Engine, transactions and schema. Third-party database errors are translated here, once.

SQLite: WAL, foreign keys on, synchronous=FULL (a committed move survives power loss), a
bounded busy wait, and write transactions that begin IMMEDIATE. Without IMMEDIATE two
processes that read then write both start as readers and one loses its update or fails with
"database is locked" at commit (measured: 193 of 1,200 concurrent updates lost).

PostgreSQL: READ COMMITTED. Every write transaction of a plan first updates the plan's row
(``audit.Appender``), which serialises them; a move then updates its task only if the version
it judged is still there. A writer waits at most the busy timeout for a lock (lock_timeout).
Sessions run in UTC. A Store keeps one connection for its transactions and closes it when
it is disposed of or collected, so nothing is left open when a command ends.

The schema is versioned by Alembic (``workflow.store.schema``): a new database is created by
running the migrations; an older one is refused until ``workflow db upgrade``; a newer one is
refused.
"""

from __future__ import annotations

import getpass
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool, QueuePool

from workflow.errors import (
    ConflictError,
    MoveRefusedError,
    NotFoundError,
    StoreError,
    UsageError,
    WorkflowError,
)
from workflow.i18n import N_, _
from workflow.store import schema

BUSY_TIMEOUT_S = 10.0  # WORKFLOW_BUSY_TIMEOUT (seconds) overrides it
DEFAULT_DB = "workflow.db"
CONNECT_TIMEOUT_S = 10

# SQLSTATEs (PostgreSQL) that mean "another transaction got in the way: retry".
_PG_CONFLICT = {"40001": N_("another process changed the same rows at the same moment"),
                "40P01": N_("this change and another one waited for each other (a deadlock)")}
# ... and "waited too long for a lock".
_PG_BUSY = {"55P03", "57014"}
# The databases (and their drivers) workflow is built and tested for; anything else, even a
# URL SQLAlchemy knows (mysql://), is a command-line error, not a failure to connect.
_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("psycopg",)}


def database_url(value: str | None) -> URL:
    """A SQLAlchemy URL, or a file path for the embedded SQLite database."""
    value = value or os.environ.get("WORKFLOW_DB") or DEFAULT_DB
    if "://" not in value:
        # Built, not parsed: a file name may hold '?', '%' or '#' and stays a file name.
        return URL.create("sqlite", database=str(Path(value).expanduser().resolve()))
    if value.startswith(("postgresql://", "postgres://")):
        # psycopg 3 is the driver we ship; SQLAlchemy's bare scheme means psycopg2.
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    try:
        url = make_url(value)
    except ArgumentError:
        raise UsageError(_("cannot read database URL {url!r}; give a file path or a URL such "
                           "as postgresql+psycopg://user@host/db").format(url=value)) from None
    backend, _plus, driver = url.drivername.partition("+")
    if driver not in _DRIVERS.get(backend, ()):
        raise UsageError(_("workflow does not work with {driver!r} databases (--db {url}); give "
                           "a SQLite file path (or sqlite:///FILE) or postgresql://user@host/db")
                         .format(driver=url.drivername,
                                 url=url.render_as_string(hide_password=True)))
    return url


def busy_timeout() -> float:
    """How long a writer waits for another one (WORKFLOW_BUSY_TIMEOUT, seconds; default 10)."""
    raw = os.environ.get("WORKFLOW_BUSY_TIMEOUT")
    if not raw:
        return BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise UsageError(_("WORKFLOW_BUSY_TIMEOUT={value!r} is not a number of seconds "
                           "between 0 and 3600").format(value=raw))
    return value


class Store:
    """One database. ``create``: make the schema if the database is empty (or new).

    ``upgrade``: bring an older schema to this workflow's revision (``workflow db upgrade``);
    without it an older schema is refused with that hint.
    """

    def __init__(self, url: str | None = None, *, create: bool = False,
                 upgrade: bool = False) -> None:
        parsed = self.url = database_url(url)
        self.busy_timeout = busy_timeout()
        self.dialect = parsed.get_backend_name()
        self.display = (parsed.database or ":memory:" if self.dialect == "sqlite"
                        else parsed.render_as_string(hide_password=True))
        # Set for a SQLite file: whether it is opened read-only, and what this Store created
        # (the file and its folders), which ``discard`` removes again.
        self.read_only = False
        self.created: list[Path] = []
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self._open_file(Path(parsed.database), create, upgrade)
        try:
            self.engine = self._make_engine(parsed)
        except (ImportError, SQLAlchemyError) as err:
            raise StoreError(_("cannot use database {db}: {error}").format(
                db=self.display, error=err)) from None
        self._person: str | None = None
        weakref.finalize(self, self.engine.dispose)
        # (before, after) when this Store created or migrated the schema, else None.
        self.migrated: tuple[schema.State, schema.State] | None = None
        with self._translate():
            self._ensure_schema(create, upgrade)

    def _open_file(self, path: Path, create: bool, upgrade: bool) -> None:
        if path.is_dir():
            raise NotFoundError(_("{path} is a directory, not a database; give a file such as "
                                  "workflow.db").format(path=path))
        if path.exists():
            # A file we may not write, or in a folder where SQLite cannot make its -wal and
            # -shm files (an archive on a read-only mount, a 0444 copy) is opened read-only:
            # reading commands work, a change is refused with one line.
            self.read_only = not _writable(path)
            return
        if not (create or upgrade):
            raise NotFoundError(_("no database at {path}; load a plan first: workflow load FILE "
                                  "(or point --db / WORKFLOW_DB at it)").format(path=path))
        if not create:
            raise NotFoundError(_("no database at {path}; nothing to upgrade").format(path=path))
        missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        self.created = [path, *missing]  # the file first, then its folders, innermost first

    def discard(self) -> None:
        """Closes the database, and removes the SQLite file (and folders) this Store created
        while it holds no plan: a failed ``db copy`` into a new file leaves nothing behind.
        A file that holds a plan (another process wrote into it meanwhile) is kept."""
        if self.created and self._holds_plans():
            self.created = []
        self.engine.dispose()
        if not self.created:
            return
        file, *folders = self.created
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{file}{suffix}").unlink(missing_ok=True)
        for folder in folders:
            with suppress(OSError):
                folder.rmdir()
        self.created = []

    def _holds_plans(self) -> bool:
        try:
            with self.read() as conn:
                return conn.execute(text("SELECT 1 FROM wf_plan LIMIT 1")).first() is not None
        except WorkflowError:  # no schema, or unreadable: nothing of value in it
            return False

    def _make_engine(self, parsed) -> Engine:
        timeout = self.busy_timeout
        if self.dialect == "postgresql":
            # Our settings first: options given in the URL (?options=...) come after and win.
            options = f"-c timezone=UTC -c lock_timeout={int(timeout * 1000)}"
            given = parsed.query.get("options")
            given = " ".join(given) if isinstance(given, tuple) else given
            args = {"options": f"{options} {given}" if given else options}
            if "connect_timeout" not in parsed.query:
                args["connect_timeout"] = CONNECT_TIMEOUT_S
            # One connection serves the Store's transactions one after another; it is closed
            # when the Store goes (dispose, or the finalizer below): nothing is left open.
            engine = create_engine(parsed.difference_update_query(["options"]),
                                   poolclass=QueuePool, pool_size=1, max_overflow=4,
                                   pool_pre_ping=True, connect_args=args)

            @event.listens_for(engine, "after_cursor_execute")
            def _track(conn, cursor, _stmt, _params, _context, _many) -> None:
                if getattr(cursor, "name", None):  # a server-side cursor (yield_per)
                    conn.info.setdefault(_SERVER_CURSORS, []).append(cursor)

            return engine
        if self.dialect != "sqlite":
            return create_engine(parsed, poolclass=NullPool)
        if self.read_only:
            parsed = _read_only_url(parsed)
        engine = create_engine(parsed, connect_args={"timeout": timeout})
        read_only = self.read_only

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    # ------------------------------------------------------------------ transactions

    def _busy(self) -> ConflictError:
        return ConflictError(_("the database stayed busy for {seconds}s (another process is "
                               "writing); nothing was written. Retry, or raise "
                               "WORKFLOW_BUSY_TIMEOUT").format(seconds=f"{self.busy_timeout:g}"))

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except WorkflowError:
            raise
        except IntegrityError as err:
            if "append-only" in _short(err):  # SQLite reports the history's triggers so
                raise StoreError(_("refused by the database: {reason}").format(
                    reason=_short(err))) from None
            raise ConflictError(_("another change was written at the same moment; nothing was "
                                  "written. Check the state and retry ({reason})").format(
                reason=_short(err))) from None
        except DBAPIError as err:
            msg = _short(err)
            code = getattr(err.orig, "sqlstate", None)
            if "append-only" in msg:
                raise StoreError(_("refused by the database: {reason}").format(
                    reason=msg)) from None
            if code == "42501":  # insufficient privilege: a grant, or workflow's guards
                raise MoveRefusedError(_("refused by the database: {reason}; your role may do "
                                         "only what workflow db grant gave it").format(
                    reason=msg)) from None
            if code in _PG_CONFLICT:
                raise ConflictError(_("{reason}; nothing was written. Check the state and "
                                      "retry").format(reason=_(_PG_CONFLICT[code]))) from None
            if code in _PG_BUSY or (self.dialect == "sqlite" and (
                    "locked" in msg or "busy" in msg)):
                raise self._busy() from None
            if self.dialect == "sqlite" and "readonly" in msg:
                raise StoreError(_("the database {db} is read-only (its file or its folder "
                                   "cannot be written): reading works, changes do not; "
                                   "nothing was written").format(db=self.display)) from None
            if self.dialect == "sqlite" and "not a database" in msg:
                raise NotFoundError(_("{db} is not a workflow database (SQLite: {reason}); point "
                                      "--db / WORKFLOW_DB at one").format(
                    db=self.display, reason=msg)) from None
            raise StoreError(_("database error: {reason}").format(reason=msg)) from None
        except SQLAlchemyError as err:
            raise StoreError(_("database error: {reason}").format(reason=_short(err))) from None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One consistent snapshot (on PostgreSQL REPEATABLE READ, as SQLite's read does):
        a history verified while others write sees its events and the plan's head together.
        """
        options = {"isolation_level": "REPEATABLE READ"} if self.dialect == "postgresql" else {}
        with self._transaction(options) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One atomic transaction; on SQLite it takes the write lock before reading."""
        with self._transaction({"sqlite_begin": "IMMEDIATE"} if self.dialect == "sqlite"
                               else {}) as conn:
            yield conn

    @contextmanager
    def _transaction(self, options: dict[str, str]) -> Iterator[Connection]:
        with self._translate():
            engine = self.engine.execution_options(**options) if options else self.engine
            with engine.connect() as conn, _closing_cursors(conn), conn.begin():
                yield conn

    def person(self, conn: Connection) -> str:
        """Who is at the keyboard: the database role on PostgreSQL, else the OS user.

        ``WORKFLOW_PERSON`` names the person on SQLite only (tests; see workflow.ops.members). On
        PostgreSQL the person is the role the server authenticated: a different
        ``WORKFLOW_PERSON`` is refused, never recorded as if that person had acted.
        """
        if self._person is None:
            given = os.environ.get("WORKFLOW_PERSON", "").strip()
            if self.dialect == "postgresql":
                # session_user: the role the server authenticated. SET ROLE changes only
                # current_user, and the database's guards record session_user too.
                role = conn.execute(text("SELECT session_user")).scalar_one()
                if given and given != role:
                    raise UsageError(_("WORKFLOW_PERSON={person!r}, but on PostgreSQL the person "
                                       "is the database role you connect as ({role}); connect "
                                       "as {person}'s own role instead, or unset "
                                       "WORKFLOW_PERSON").format(person=given, role=role))
                self._person = role
            elif given and self.dialect == "sqlite":
                self._person = given
            else:
                try:
                    self._person = getpass.getuser()
                except (KeyError, OSError):
                    self._person = f"uid:{os.getuid()}"
        return self._person

    # ------------------------------------------------------------------ schema

    def _ensure_schema(self, create: bool, upgrade: bool) -> None:
        with self.engine.connect() as conn:
            current = schema.state(conn)
            conn.rollback()
        if current.status == "current":
            return
        if current.status == "newer" or (current.status != "empty" and not upgrade):
            raise StoreError(schema.refusal(current) or "")
        if current.status == "empty" and not (create or upgrade):
            raise NotFoundError(_("the database {db} holds no workflow data; load a plan first: "
                                  "workflow load FILE").format(db=self.display))
        self.migrate()

    def migrate(self) -> tuple[schema.State, schema.State]:
        """Creates or upgrades the schema to this workflow's revision, in one transaction."""
        with self.write() as conn:
            self.migrated = schema.migrate(conn)
        return self.migrated

    def revision(self) -> schema.State:
        with self.read() as conn:
            return schema.state(conn)

    def dispose(self) -> None:
        self.engine.dispose()


_SERVER_CURSORS = "workflow_server_cursors"


def _writable(path: Path) -> bool:
    """Whether SQLite can write the database: the file, and its -wal and -shm files, which it
    makes beside the file when the folder lets it (else they must be there, writable)."""
    if not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK) or all(
        os.access(f"{path}{suffix}", os.W_OK) for suffix in ("-wal", "-shm"))


def _read_only_url(url: URL) -> URL:
    """A SQLite URI that opens the file read-only.

    A database in WAL mode needs its -shm file, which a reader makes when it may write the
    folder. Where it may not and no -wal file exists (so no connection has the file open in WAL
    mode), the file is opened as immutable, which needs neither; a -wal file left there holds
    committed moves, so it is read (through ``mode=ro``) rather than ignored.
    """
    path = Path(url.database or "")
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-wal").exists():
        query["immutable"] = "1"
    return URL.create("sqlite", database="file:" + quote(str(path)), query=query)


@contextmanager
def _closing_cursors(conn: Connection) -> Iterator[None]:
    """Closes the server-side cursors of results a caller stopped reading (an error found
    half-way through a streamed history): psycopg would warn about each one later."""
    try:
        yield
    finally:
        for cursor in conn.info.pop(_SERVER_CURSORS, []):
            if not cursor.closed:
                with suppress(Exception):
                    cursor.close()


def _short(err: Exception) -> str:
    orig = getattr(err, "orig", None)
    return str(orig if orig is not None else err).strip().splitlines()[0]
