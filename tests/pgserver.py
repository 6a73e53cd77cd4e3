"""A throwaway PostgreSQL server for the test suite: its own data directory, loopback only.

Debian's packages put the server binaries in /usr/lib/postgresql/<major>/bin; ``initdb``
refuses to run as root, so as root every server command runs as the ``postgres`` user
(``runuser``). Durability settings are off: the server is thrown away at the end of the run,
and the crash tests kill clients, never the server.

Under pytest-xdist each worker starts its own server (the session fixture runs once per
worker): its own directory, named after the worker, and its own port.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROLE = "workflow"
DATABASE = "wf_tests"


def find_bindir() -> Path | None:
    """The newest installed server's bin directory, or None."""
    env = os.environ.get("WORKFLOW_PG_BINDIR")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                         else 0, reverse=True)
    for which in ("initdb", "pg_ctl"):
        found = shutil.which(which)
        if found:
            candidates.append(str(Path(found).resolve().parent))
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def reap_orphans(bindir: Path) -> None:
    """Stops servers left by earlier test runs that were killed before their teardown (their
    pytest process is gone) and removes their directories."""
    for owner in Path("/tmp").glob("wf-pg-*/owner.pid"):
        try:
            os.kill(int(owner.read_text()), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except (ValueError, OSError):
            continue
        root = owner.parent
        if (root / "data" / "postmaster.pid").exists():
            cmd = [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--", *cmd]
            subprocess.run(cmd, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


class PostgresServer:
    """initdb + pg_ctl start in a temporary directory; ``stop()`` removes everything."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under xdist
        self.root = Path(tempfile.mkdtemp(prefix=f"wf-pg-{worker}-" if worker else "wf-pg-",
                                          dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.superuser = "postgres"
        self._names = itertools.count(1)
        self.started = False

    # ------------------------------------------------------------------ processes

    def _cmd(self, *args: str) -> list[str]:
        if self.as_postgres:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 120) -> None:
        r = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout,
                           cwd=self.root)
        if r.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({r.returncode}): "
                               f"{r.stderr.strip() or r.stdout.strip()}\n{log}")

    def start(self) -> PostgresServer:
        reap_orphans(self.bindir)
        (self.root / "owner.pid").write_text(str(os.getpid()))
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.superuser,
                  "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        for attempt in range(3):
            try:
                self._pg_ctl_start()
                break
            except RuntimeError:
                # The free port was taken before the server bound it (another worker's or
                # another run's server): try a new one; any other failure is raised.
                if attempt == 2 or not _port_taken(self.port):
                    raise
                self.port = _free_port()
        self.started = True
        with self.admin() as con:
            con.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB")
            con.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        return self

    def _pg_ctl_start(self) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", opts, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            if self.started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "-w", "stop")
        finally:
            self.started = False
            shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------ databases

    def admin(self, dbname: str = "postgres"):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.superuser,
                               dbname=dbname, autocommit=True)

    def url(self, dbname: str = DATABASE, *, schema: str | None = None,
            user: str = ROLE) -> str:
        """A URL for the product; with ``schema`` its tables live in that schema only."""
        url = f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{dbname}"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url

    def create_schema(self) -> str:
        """A fresh, empty schema in the test database (cheaper than a database per test)."""
        name = f"t{next(self._names)}"
        with self.admin(DATABASE) as con:
            con.execute(f"CREATE SCHEMA {name} AUTHORIZATION {ROLE}")
        return name

    def drop_schema(self, name: str) -> None:
        with self.admin(DATABASE) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def create_database(self) -> str:
        """A fresh, empty database (for what a schema cannot show: a whole database)."""
        name = f"wf_db_{next(self._names)}"
        with self.admin() as con:
            con.execute(f"CREATE DATABASE {name} OWNER {ROLE}")
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
