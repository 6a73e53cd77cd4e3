"""The history as people ask for it: filtered by task, agency, kind and time, and exported
(text lines, JSON, JSON lines, CSV for Excel) to stdout or a file written whole or not at all;
and ``audit verify``'s check of it.

Export writes to the text stream it is given; nothing here prints.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from workflow import clock, outfile
from workflow.errors import UsageError
from workflow.i18n import _
from workflow.rules.kinds import ESCALATION_EVENTS, EVENT_KINDS
from workflow.store import lookup
from workflow.store.db import Store
from workflow.store.models import EventRow
from workflow.store.verify import verify_plans
from workflow.text import escape_lines, json_safe
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
        raise UsageError(_("unknown event kind {kind}; kinds are {kinds} (or escalation for "
                           "all three)").format(kind=repr(unknown[0]),
                                                kinds=", ".join(EVENT_KINDS)))
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
    if start is not None and stop is not None and start > stop:
        raise UsageError(_("--since {since} is after --until {until}: no event can be in "
                           "between; swap them").format(since=since, until=until))
    return queries.iter_history(conn, plan, task=task, agency=agency, events=chosen,
                                since=start, until=stop)


def write(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> int:
    """Writes events to ``out`` one at a time; returns how many.

    ``csv``: a byte-order mark first (so Excel reads UTF-8 and shows Vietnamese whole), a
    header, CRLF rows. ``jsonl``: one object a line. ``json``: one array. ``text``: the
    ``workflow history`` lines.
    """
    if fmt not in FORMATS:
        raise UsageError(_("unknown format {format}; formats are {formats}").format(
            format=repr(fmt), formats=", ".join(FORMATS)))
    n = 0
    if fmt == "csv":
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for e in rows:
            writer.writerow(["" if e.get(c) is None else e.get(c) for c in CSV_COLUMNS])
            n += 1
    elif fmt == "jsonl":  # json_safe: the same values, no raw control character
        for e in rows:
            out.write(json_safe(json.dumps(e, ensure_ascii=False)) + "\n")
            n += 1
    elif fmt == "json":
        for e in rows:
            body = json_safe(json.dumps(e, ensure_ascii=False, indent=2)).replace("\n", "\n  ")
            out.write(("[\n  " if n == 0 else ",\n  ") + body)
            n += 1
        out.write("\n]\n" if n else "[]\n")
    else:
        for e in rows:
            out.write(escape_lines(render.event_line(e)) + "\n")
            n += 1
        if not n:
            out.write(_("no events") + "\n")
    return n


def verify(store: Store, *, plan: str | None, head: str | None) -> list[dict[str, Any]]:
    """Every plan's chain (or one's); AuditError names the first event that fails."""
    with store.read() as conn:
        ids = ([lookup.select_plan(conn, plan).id] if plan or head else
               lookup.plan_ids(conn))
        results = verify_plans(conn, ids, head)
    return [{"plan": r.plan_id, "ok": True, "events": r.events, "head": r.head_hash,
             **({"head_found_at": r.head_found_at} if head else {})} for r in results]


def export(store: Store, out: IO[bytes], *, plan: str | None, task: str | None,
           agency: str | None, kinds: list[str] | None, since: str | None,
           until: str | None, fmt: str, output: str | None) -> int:
    """Writes the filtered history to ``output`` (or ``out``); returns how many events."""
    with store.read() as conn:
        p = lookup.select_plan(conn, plan)
        rows = events(conn, p,
                      task=lookup.find_task(conn, p, task).task_id if task else None,
                      agency=lookup.find_agency(conn, p, agency) if agency else None,
                      kinds=kinds, since=since, until=until)
        with outfile.text(output, out) as stream:
            return write(rows, fmt, stream)

