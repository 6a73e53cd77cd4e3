"""Sending one JSON body to a command or a webhook, never past a deadline.

Both take a monotonic ``deadline`` for the whole exchange and a ``stop`` event (set on
SIGTERM): a receiver that trickles one byte every few seconds, never answers, or leaves a
child process behind cannot hold the caller longer. Each returns None when delivered, or the
error as text. OS and HTTP errors are translated here, once.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence

SLICE_S = 0.1  # how often a wait looks at the deadline and the stop event
NEVER = threading.Event()  # a stop event that is never set


def run_command(argv: Sequence[str], body: bytes, deadline: float,
                stop: threading.Event = NEVER) -> str | None:
    """Runs the command with ``body`` on stdin; delivered when it exits 0.

    Its output goes to temporary files, not pipes: a command that exits 0 but leaves a child
    holding its stdout is delivered at once, not when the child closes the pipe."""
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        stdin.write(body)
        stdin.seek(0)
        try:
            proc = subprocess.Popen(list(argv), stdin=stdin, stdout=subprocess.DEVNULL,
                                    stderr=stderr, start_new_session=True)
        except (OSError, ValueError) as err:
            return f"command failed to start: {err}"
        while proc.poll() is None:
            if stop.is_set() or time.monotonic() >= deadline:
                _kill_group(proc)
                return "command stopped: " + ("shutting down" if stop.is_set()
                                              else "took longer than the time left")
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(min(SLICE_S, max(0.0, deadline - time.monotonic())))
        if proc.returncode == 0:
            return None
        stderr.seek(0)
        tail = stderr.read()[-2000:].decode("utf-8", errors="replace").strip()[-300:]
        return f"command exited {proc.returncode}: {tail}"


def _kill_group(proc: subprocess.Popen) -> None:
    """The command and anything it started (its own session), so nothing outlives a timeout."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


def post_json(url: str, body: bytes, deadline: float,
              stop: threading.Event = NEVER) -> str | None:
    """POSTs ``body``; delivered on a 2xx status. The body of the answer is not read.

    http.client's timeouts bound each read, not the exchange, so the exchange runs in a
    daemon thread that the caller abandons at the deadline, closing its socket."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"webhook {url!r} is not an http(s) URL"
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        conn = kind(parts.hostname, parts.port,
                    timeout=max(SLICE_S, deadline - time.monotonic()))
    except ValueError as err:
        return f"webhook failed: {err}"
    result: dict[str, object] = {}

    def exchange() -> None:
        try:
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json; charset=utf-8"})
            result["status"] = conn.getresponse().status
        except (OSError, http.client.HTTPException, ValueError) as err:
            result["error"] = f"webhook failed: {type(err).__name__}: {err}"

    worker = threading.Thread(target=exchange, name="webhook", daemon=True)
    worker.start()
    while worker.is_alive() and not stop.is_set() and time.monotonic() < deadline:
        worker.join(SLICE_S)
    if worker.is_alive():
        _abandon(conn)
        return "webhook stopped: " + ("shutting down" if stop.is_set()
                                      else "no complete answer in the time left")
    conn.close()
    if "error" in result:
        return str(result["error"])
    status = int(result["status"])  # type: ignore[call-overload]
    return None if 200 <= status < 300 else f"webhook answered {status}"


def _abandon(conn: http.client.HTTPConnection) -> None:
    """Unblocks the worker's read by shutting its socket; the daemon thread then ends."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the other side
            sock.shutdown(socket.SHUT_RDWR)
    conn.close()
