"""YAML plan definitions → frozen plan objects, with every problem found and its line.

We never let PyYAML construct Python values: we compose the node tree and read each scalar
ourselves. That is why ``no``/``off``/``yes`` stay strings, why ``2024-04-20`` is read by our
own date parser, why a duplicate key is an error instead of silently winning, and why an
alias bomb cannot expand (every value we read is bounded by the schema below).

The pieces: ``planmodel`` (the frozen plan), ``defreader`` (reading nodes), ``plansections``
(agencies, units, escalation, calendar, period, notify), ``taskdefs`` and ``taskdue`` (tasks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.clock import DEFAULT_TIMEZONE
from workflow.defreader import Reader, is_null, nfc, valid_id
from workflow.errors import DefinitionError, NotFoundError, Problem
from workflow.names import AgencyIndex
from workflow.planmodel import (
    DEFAULT_AHEAD,
    DEFAULT_STALL_AFTER,
    DEFAULT_STEP_AFTER,
    LEAD_EACH,
    Agency,
    Plan,
    Repeat,
    TaskDef,
    Unit,
    task_canonical,
)
from workflow.plansections import (
    AGENCY_KEYS,
    CALENDAR_KEYS,
    ESCALATION_KEYS,
    REPEAT_KEYS,
    UNIT_KEYS,
    WEEKDAYS,
    check_cycles,
    read_agencies,
    read_calendar_block,
    read_escalation,
    read_notify,
    read_plan_period,
    read_units,
)
from workflow.taskdefs import TASK_KEYS, read_tasks
from workflow.taskdue import RELATIVE_KEYS
from workflow.yamlnodes import Mapping, Node, compose

__all__ = ["AGENCY_KEYS", "CALENDAR_KEYS", "DEFAULT_AHEAD", "DEFAULT_STALL_AFTER",
           "DEFAULT_STEP_AFTER", "ESCALATION_KEYS", "LEAD_EACH", "PLAN_KEYS", "RELATIVE_KEYS",
           "REPEAT_KEYS", "TASK_KEYS", "UNIT_KEYS", "WEEKDAYS", "Agency", "Plan", "Repeat",
           "TaskDef", "Unit", "load_file", "nfc", "parse", "read_text", "task_canonical"]

MAX_FILE_BYTES = 64 * 1024 * 1024

PLAN_KEYS = {
    "id": "the plan id: lowercase letters, digits and '-'",
    "title": "the plan's title",
    "document": "the document's number and date, as text",
    "issuer": "the issuing agency's id",
    "coordinator": "the coordinating agency's id",
    "timezone": "an IANA timezone such as Asia/Ho_Chi_Minh",
    "period": 'the plan\'s span, e.g. "2026 - 2030": where recurring deadlines begin and end',
    "escalation": "a mapping with stall_after, step_after and remind_before",
    "calendar": "the year's swapped days: {days_off: [2/5/2025], working_days: [26/4/2025]}",
    "agencies": "a mapping of agency id to {name: ...}",
    "units": "named lists of units (districts, communes) that tasks may fan out over",
    "notify": "the name of a delivery channel the delivering host configures",
    "tasks": "a mapping of task id to its fields",
}


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionError([Problem(str(p), None, "", "file larger than 64 MiB")])
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise NotFoundError(f"{p}: is a directory, expected a YAML file") from None
    except OSError as err:
        raise NotFoundError(f"{p}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DefinitionError([Problem(str(p), line, "", "not UTF-8 text")]) from None
    return nfc(text)


def load_file(path: str | Path) -> Plan:
    text = [read_text(path)]  # handed over in a list so parse() can drop the only copy
    return parse(text.pop(), str(path))


def parse(text: str, filename: str = "<definition>") -> Plan:
    """Reads and validates one definition; raises DefinitionError listing every problem."""
    if "\x00" in text:
        raise DefinitionError([Problem(filename, None, "", "binary data, expected YAML text")])
    root = compose(nfc(text), filename)
    del text  # the caller's copy may remain; ours need not
    r = Reader(filename)
    top: dict[str, Node] = {}
    for name, _knode, vnode in r.mapping(root, "", PLAN_KEYS, "a plan (a mapping with id, ...)"):
        top[name] = vnode
    if not isinstance(root, Mapping):
        raise DefinitionError(r.problems)
    fields = _head(r, top)
    agencies = read_agencies(r, top["agencies"]) if "agencies" in top else {}
    index = AgencyIndex((a.id, a.name, a.aliases) for a in agencies.values())
    agency_ref = _agency_ref(r, index, agencies)
    for key in ("issuer", "coordinator"):
        if key in top:
            fields[key] = agency_ref(r.text(top[key], key, required=True), top[key], key)
    units = read_units(r, top["units"], agencies, index) if "units" in top else {}
    tasks: dict[str, TaskDef] = {}
    if "tasks" in top:
        tasks = read_tasks(r, top["tasks"], agency_ref, fields.get("issuer"),
                           fields.get("coordinator"), units, fields.get("period"))
    for key in ("id", "title", "issuer", "coordinator", "agencies", "tasks"):
        if key not in top:
            r.problem(1, key, f"is required: {PLAN_KEYS[key]}")
    check_cycles(r, tasks)
    if r.problems:
        raise DefinitionError(sorted(r.problems, key=lambda p: p.line or 0))
    return Plan(agencies=agencies, tasks=tasks, units=units, source=filename,
                warnings=tuple(r.warnings), **fields)


def _head(r: Reader, top: dict[str, Node]) -> dict[str, Any]:
    """The plan's own keys (all but agencies, units and tasks) as Plan's keyword arguments."""
    fields: dict[str, Any] = {"stall_after": DEFAULT_STALL_AFTER,
                              "step_after": DEFAULT_STEP_AFTER, "issuer": None,
                              "coordinator": None}
    fields["id"] = r.text(top.get("id"), "id", required="id" in top)
    if fields["id"]:
        valid_id(r, top["id"], "id", fields["id"], "id")
    fields["title"] = r.text(top.get("title"), "title", required="title" in top)
    fields["document"] = r.text(top.get("document"), "document")
    timezone = r.text(top.get("timezone"), "timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(top.get("timezone"), "timezone",
                  f'unknown timezone "{timezone}"; expected e.g. {DEFAULT_TIMEZONE}')
    fields["timezone"] = timezone
    if _given(top, "escalation"):
        read_escalation(r, top["escalation"], fields)
    if _given(top, "calendar"):
        fields["days_off"], fields["working_days"] = read_calendar_block(r, top["calendar"])
    if _given(top, "period"):
        fields["period"] = read_plan_period(r, top["period"])
    fields["notify"] = read_notify(r, top["notify"]) if _given(top, "notify") else {}
    return fields


def _given(top: dict[str, Node], key: str) -> bool:
    return key in top and not is_null(top[key])


def _agency_ref(r: Reader, index: AgencyIndex, agencies: dict[str, Agency]):
    """Resolves an agency as written (id, name or alias), reporting what does not resolve."""

    def agency_ref(raw: str | None, node: Node | None, key: str) -> str | None:
        if raw is None:
            return None
        found, several = index.lookup(raw)
        if found is not None:
            return found
        if several:
            r.problem(node, key, f'"{raw}" names more than one agency: '
                      f"{index.describe(sorted(several))}; use the id")
        else:
            r.problem(node, key, f'unknown agency "{raw}"; {unknown_hint(raw)}')
        return None

    def unknown_hint(raw: str) -> str:
        close = index.closest(raw)
        return (f"did you mean {index.describe(close)}?" if close
                else f'known: {", ".join(agencies) or "none"}')

    return agency_ref
