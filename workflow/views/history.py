"""The history as people ask for it: filtered by task, agency, kind and time, and exported
(text lines, JSON, JSON lines, CSV for Excel) to stdout or a file written whole or not at all.

Export writes to the text stream it is given; nothing here prints.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from io import TextIOWrapper
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from workflow import clock
from workflow.errors import NotFoundError, UsageError, WorkflowError
from workflow.rules.kinds import ESCALATION_EVENTS, EVENT_KINDS
from workflow.store.models import EventRow
from workflow.views import queries, render

EVENT = EventRow.__table__
FORMATS = ("text", "json", "jsonl", "csv")
CSV_COLUMNS = ("seq", "at", "plan", "task", "event", "from", "to", "actor", "person", "note",
               "escalated_to", "level", "reason", "hash")


def event_kinds(conn: Connection, plan: Row, values: Iterable[str] | None) -> list[str] | None:
    """``--event`` values (repeatable, or comma lists) checked; ``escalation`` means all three
    escalation events. None when not filtering."""
    kinds: list[str] = []
    for value in values or []:
        for word in (w.strip().lower() for w in value.split(",")):
            if not word:
                continue
            kinds.extend(ESCALATION_EVENTS if word in ("escalation", "escalations") else [word])
    if not kinds:
        return None
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if unknown:  # a kind this version does not list may still be in the history
        seen = set(conn.execute(select(EVENT.c.event).where(EVENT.c.plan_id == plan.id)
                                .distinct()).scalars())
        unknown = [k for k in unknown if k not in seen]
    if unknown:
        raise UsageError(f"unknown event kind {unknown[0]!r}; kinds are "
                         f"{', '.join(EVENT_KINDS)} (or escalation for all three)")
    return list(dict.fromkeys(kinds))


def events(conn: Connection, plan: Row, *, task: str | None = None, agency: str | None = None,
           kinds: Iterable[str] | None = None, since: str | datetime | date | None = None,
           until: str | datetime | date | None = None) -> Iterator[dict[str, Any]]:
    """The plan's history, filtered, oldest first, as ``queries.event_dict`` objects.

    Checks every filter before returning, then streams: iterate inside the connection's
    transaction. ``since``/``until`` are inclusive; a date means the whole day.
    """
    chosen = event_kinds(conn, plan, kinds)
    start = clock.parse_moment(since, plan.timezone, what="--since", end=False) if since else None
    stop = clock.parse_moment(until, plan.timezone, what="--until") if until else None
    return queries.iter_history(conn, plan, task=task, agency=agency, events=chosen,
                                since=start, until=stop)


def write(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    """Writes events to ``out`` one at a time; returns how many.

    ``csv``: a byte-order mark first (so Excel reads UTF-8 and shows Vietnamese whole), a
    header, CRLF rows. ``jsonl``: one object a line. ``json``: one array. ``text``: the
    ``workflow history`` lines.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; formats are {', '.join(FORMATS)}")
    n = 0
    if fmt == "csv":
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in rows:
            writer.writerow(["" if e.get(c) is None else e.get(c) for c in CSV_COLUMNS])
            n += 1
    elif fmt == "jsonl":
        for e in rows:
            out.write(json.dumps(e, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "json":
        for e in rows:
            body = json.dumps(e, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            out.write(("[\n  " if n == 0 else ",\n  ") + body)
            n += 1
        out.write("\n]\n" if n else "[]\n")
    else:
        for e in rows:
            out.write(render.event_line(e) + "\n")
            n += 1
        if not n:
            out.write("no events\n")
    return n


@contextmanager
def output(path: str | None, stdout: IO[bytes]) -> Iterator[IO[str]]:
    """A UTF-8 text stream to ``path``, or to ``stdout`` (binary) when no path is given.

    A file is written under a temporary name and renamed into place when complete, so a
    failed export never leaves half a file behind.
    """
    if path is None:
        stream = TextIOWrapper(stdout, encoding="utf-8", newline="")
        try:
            yield stream
        finally:
            try:
                stream.flush()
            finally:
                stream.detach()  # leave the caller's stdout open
        return
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise NotFoundError(f"cannot write {path}: no directory {target.parent}")
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory; name a file in it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise WorkflowError(f"cannot write {path}: {err.strerror}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would have made it (mkstemp makes 0600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
