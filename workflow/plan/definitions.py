"""YAML plan definitions → frozen plan objects, with every problem found and its line.

We never let PyYAML construct Python values: we compose the node tree and read each scalar
ourselves. That is why ``no``/``off``/``yes`` stay strings, why ``2024-04-20`` is read by our
own date parser, why a duplicate key is an error instead of silently winning, and why an
alias bomb cannot expand (every value we read is bounded by the schema below).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.clock import DEFAULT_TIMEZONE
from workflow.errors import DefinitionError, NotFoundError, Problem
from workflow.plan.dates import DateParseError, normalize_text, parse_date, parse_duration
from workflow.plan.names import AgencyIndex
from workflow.plan.yamlnodes import Mapping, Node, Scalar, Sequence, compose
from workflow.text import nfc, strip_accents

DEFAULT_STALL_AFTER = timedelta(days=7)
DEFAULT_STEP_AFTER = timedelta(days=3)
MAX_FILE_BYTES = 64 * 1024 * 1024

_ID_RE = re.compile(r"^[^\W_A-Z](?:[^\W_A-Z]|-)*$")  # lowercase letters (any script), digits, '-'

PLAN_KEYS = {
    "id": "the plan id: lowercase letters, digits and '-'",
    "title": "the plan's title",
    "document": "the document's number and date, as text",
    "issuer": "the issuing agency's id",
    "coordinator": "the coordinating agency's id",
    "timezone": "an IANA timezone such as Asia/Ho_Chi_Minh",
    "escalation": "a mapping with stall_after and step_after",
    "agencies": "a mapping of agency id to {name: ...}",
    "units": "named lists of units (districts, communes) that tasks may fan out over",
    "notify": "where escalations are delivered: {command: ..., webhook: ...}",
    "tasks": "a mapping of task id to its fields",
}
TASK_KEYS = {
    "title": "the task's title",
    "ref": "the document's own numbering, e.g. II.4",
    "lead": "the lead agency (chủ trì)",
    "support": "a list of supporting agencies (phối hợp)",
    "approver": "the agency that approves reports, if not the coordinator",
    "depends_on": "a list of task ids that must be approved first",
    "due": "the deadline",
    "start": "the first day the task may start",
    "note": "a remark shown with the task",
    "for_each": "a unit list: one instance of the task per unit",
    "repeat": "a recurrence: weekly, monthly or yearly occurrences",
}
AGENCY_KEYS = {"name": "the agency's name", "aliases": "other ways the plans write it"}
ESCALATION_KEYS = {"stall_after": "a duration such as 7d", "step_after": "a duration such as 3d"}
NOTIFY_KEYS = {"command": "a command that gets each escalation as JSON on stdin",
               "webhook": "an http(s) URL that gets each escalation as a JSON POST"}
UNIT_KEYS = {"name": "the unit's name", "agency": "the agency that acts for the unit"}
REPEAT_KEYS = {
    "weekly": "a weekday: monday … sunday, or thứ 2 … thứ 7, chủ nhật",
    "monthly": "a day of the month, 1-31 (the last day in shorter months)",
    "yearly": "a list of days each year, e.g. [10/6, 10/12]",
    "from": "the first day occurrences may fall on",
    "until": "the last day (optional: open-ended without it)",
    "ahead": "how far ahead of its due day an occurrence is created (default 7d)",
}
RESERVED: dict[str, str] = {}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "thứ 2": 0, "thứ hai": 0, "thứ 3": 1, "thứ ba": 1, "thứ 4": 2, "thứ tư": 2,
    "thứ 5": 3, "thứ năm": 3, "thứ 6": 4, "thứ sáu": 4, "thứ 7": 5, "thứ bảy": 5,
    "chủ nhật": 6,
}
DEFAULT_AHEAD = timedelta(days=7)


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    agency: str  # the agency acting for it: its own `agency`, else one named like the unit


@dataclass(frozen=True)
class Repeat:
    """weekly (weekday 0-6), monthly (day 1-31) or yearly ((day, month), ...) occurrences."""

    every: str
    weekday: int | None = None
    day: int | None = None
    days: tuple[tuple[int, int], ...] = ()
    first: date | None = None
    until: date | None = None
    ahead: timedelta = DEFAULT_AHEAD

    def ahead_days(self) -> timedelta:
        return timedelta(days=self.ahead.days)

    def canonical(self) -> dict[str, Any]:
        return {"every": self.every, "weekday": self.weekday, "day": self.day,
                "days": [list(d) for d in self.days],
                "from": self.first.isoformat() if self.first else None,
                "until": self.until.isoformat() if self.until else None,
                "ahead": int(self.ahead.total_seconds())}


@dataclass(frozen=True)
class TaskDef:
    id: str
    title: str
    lead: str
    support: tuple[str, ...]
    approver: str
    approver_named: bool
    depends_on: tuple[str, ...]
    due: date | None
    start: date | None
    ref: str | None = None
    note: str | None = None
    due_text: str | None = None
    line: int | None = None
    for_each: str | None = None  # a unit list id: one instance per unit
    lead_each: bool = False  # each unit's agency leads its own instance
    repeat: Repeat | None = None


@dataclass(frozen=True)
class Plan:
    id: str
    title: str
    issuer: str
    coordinator: str
    timezone: str
    stall_after: timedelta
    step_after: timedelta
    agencies: dict[str, Agency]
    tasks: dict[str, TaskDef]
    units: dict[str, dict[str, Unit]] = field(default_factory=dict)
    notify: dict[str, str] = field(default_factory=dict)
    document: str | None = None
    source: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def canonical(self) -> dict[str, Any]:
        """The plan's meaning as plain data: what the digest covers and the store keeps."""
        return {
            "id": self.id,
            "title": self.title,
            "document": self.document,
            "issuer": self.issuer,
            "coordinator": self.coordinator,
            "timezone": self.timezone,
            "stall_after": int(self.stall_after.total_seconds()),
            "step_after": int(self.step_after.total_seconds()),
            "agencies": {a.id: {"name": a.name, "aliases": list(a.aliases)}
                         for a in self.agencies.values()},
            "units": {lid: {u.id: {"name": u.name, "agency": u.agency} for u in us.values()}
                      for lid, us in self.units.items()},
            "tasks": {t.id: task_canonical(t) for t in self.tasks.values()},
        } | ({"notify": self.notify} if self.notify else {})

    @cached_property
    def digest(self) -> str:
        text = json.dumps(self.canonical(), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def task_canonical(t: TaskDef) -> dict[str, Any]:
    return {
        "title": t.title, "ref": t.ref, "note": t.note, "lead": t.lead,
        "support": list(t.support), "approver": t.approver if t.approver_named else None,
        "depends_on": list(t.depends_on),
        "due": t.due.isoformat() if t.due else None,
        "start": t.start.isoformat() if t.start else None,
        "for_each": t.for_each, "lead_each": t.lead_each,
        "repeat": t.repeat.canonical() if t.repeat else None,
    }


# --------------------------------------------------------------------------- reading


class _Reader:
    """Walks the composed node tree, collecting problems instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def problem(self, node: Node | int | None, key: str, message: str) -> None:
        line = node if isinstance(node, int) or node is None else node.line
        self.problems.append(Problem(self.filename, line, key, message))

    def warn(self, node: Node | None, key: str, message: str) -> None:
        line = f":{node.line}" if node is not None else ""
        self.warnings.append(f"{self.filename}{line}: {key}: {message}")

    def mapping(self, node: Node, key: str, allowed: dict[str, str] | None,
                what: str) -> Iterator[tuple[str, Node, Node]]:
        """Yields (key, key node, value node); reports non-mappings, duplicates, unknown keys."""
        if not isinstance(node, Mapping):
            self.problem(node, key, f"expected {what}, found {_kind(node)}")
            return
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            if not isinstance(knode, Scalar):
                self.problem(knode, key, "a key must be plain text")
                continue
            name = nfc(knode.value.strip())
            path = f"{key}.{name}" if key else name
            if name in seen:
                self.problem(knode, path, f"duplicate key (first at line {seen[name]})")
                continue
            seen[name] = knode.line
            if allowed is not None and name not in allowed:
                if name in RESERVED:
                    self.problem(knode, path, RESERVED[name])
                else:
                    self.problem(knode, path, f"unknown key; allowed keys are {', '.join(allowed)}")
                continue
            yield name, knode, vnode

    def text(self, node: Node | None, key: str, *, required: bool = False) -> str | None:
        if node is None or _is_null(node):
            if required:
                self.problem(node, key, "is required and must not be empty")
            return None
        if not isinstance(node, Scalar):
            self.problem(node, key, f"expected text, found {_kind(node)}")
            return None
        value = normalize_text(node.value)
        if not value and required:
            self.problem(node, key, "must not be empty")
            return None
        return value or None

    def text_list(self, node: Node | None, key: str) -> list[tuple[str, Node]]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, Sequence):
            self.problem(node, key, f"expected a list such as [a, b], found {_kind(node)}")
            return []
        items = []
        for item in node.value:
            value = self.text(item, key)
            if value is not None:
                items.append((value, item))
        return items


def _is_null(node: Node | None) -> bool:
    """YAML's null: an empty or ~/null plain scalar (quoted "null" is the text null)."""
    return isinstance(node, Scalar) and node.is_null


def _kind(node: Node | None) -> str:
    if node is None or _is_null(node):
        return "nothing"
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, Sequence):
        return "a list"
    return f'"{node.value}"'


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
    r = _Reader(filename)
    top: dict[str, tuple[Node, Node]] = {}
    for name, knode, vnode in r.mapping(root, "", PLAN_KEYS, "a plan (a mapping with id, ...)"):
        top[name] = (knode, vnode)
    if not isinstance(root, Mapping):
        raise DefinitionError(r.problems)

    def value(key: str) -> Node | None:
        return top[key][1] if key in top else None

    def missing(key: str) -> None:
        r.problem(1, key, f"is required: {PLAN_KEYS[key]}")

    plan_id = r.text(value("id"), "id", required="id" in top)
    if "id" not in top:
        missing("id")
    elif plan_id:
        _valid_id(r, value("id"), "id", plan_id, "id")
    title = r.text(value("title"), "title", required=True) if "title" in top else missing("title")
    document = r.text(value("document"), "document")

    timezone = r.text(value("timezone"), "timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(value("timezone"), "timezone",
                  f'unknown timezone "{timezone}"; expected e.g. {DEFAULT_TIMEZONE}')

    stall_after, step_after = DEFAULT_STALL_AFTER, DEFAULT_STEP_AFTER
    if value("escalation") is not None and not _is_null(value("escalation")):
        for name, _k, vnode in r.mapping(value("escalation"), "escalation", ESCALATION_KEYS,
                                         "a mapping with stall_after and step_after"):
            raw = r.text(vnode, f"escalation.{name}", required=True)
            if raw is None:
                continue
            try:
                duration = parse_duration(raw)
            except DateParseError as err:
                r.problem(vnode, f"escalation.{name}", str(err))
                continue
            if name == "stall_after":
                stall_after = duration
            else:
                step_after = duration

    agencies = _read_agencies(r, value("agencies")) if "agencies" in top else {}
    if "agencies" not in top:
        missing("agencies")
    index = AgencyIndex((a.id, a.name, a.aliases) for a in agencies.values())

    def agency_ref(raw: str | None, node: Node | None, key: str) -> str | None:
        if raw is None:
            return None
        found, several = index.lookup(raw)
        if found is not None:
            return found
        if several:
            r.problem(node, key, f'"{raw}" names more than one agency: '
                      f"{', '.join(sorted(several))}; use the id")
        else:
            r.problem(node, key, f'unknown agency "{raw}"; known: {", ".join(agencies) or "none"}')
        return None

    issuer = coordinator = None
    for key in ("issuer", "coordinator"):
        if key not in top:
            missing(key)
            continue
        ref = agency_ref(r.text(value(key), key, required=True), value(key), key)
        if key == "issuer":
            issuer = ref
        else:
            coordinator = ref

    units = _read_units(r, value("units"), agencies, index) if "units" in top else {}
    notify: dict[str, str] = {}
    if value("notify") is not None and not _is_null(value("notify")):
        for name, _k, vnode in r.mapping(value("notify"), "notify", NOTIFY_KEYS,
                                         "a mapping such as {command: ..., webhook: ...}"):
            target = r.text(vnode, f"notify.{name}", required=True)
            if name == "webhook" and target and not re.match(r"^https?://", target):
                r.problem(vnode, "notify.webhook", f'"{target}" is not an http(s) URL')
            elif target:
                notify[name] = target
    tasks: dict[str, TaskDef] = {}
    if "tasks" not in top:
        missing("tasks")
    else:
        tasks = _read_tasks(r, value("tasks"), agency_ref, issuer, coordinator, units)

    _check_cycles(r, tasks)
    if r.problems:
        raise DefinitionError(sorted(r.problems, key=lambda p: p.line or 0))
    return Plan(
        id=plan_id, title=title, issuer=issuer, coordinator=coordinator, timezone=timezone,
        stall_after=stall_after, step_after=step_after, agencies=agencies, tasks=tasks,
        units=units, notify=notify, document=document, source=filename, warnings=tuple(r.warnings),
    )


def _valid_id(r: _Reader, node: Node | int | None, key: str, value: str, what: str) -> bool:
    if _ID_RE.match(value):
        return True
    r.problem(node, key, f'"{value}" is not a valid {what}: use lowercase letters, digits '
              "and '-'" + _suggest_id(value))
    return False


def _suggest_id(raw: str) -> str:
    # NFKC first: compatibility forms (full-width letters) become plain ones.
    ascii_text = strip_accents(unicodedata.normalize("NFKC", raw)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return f', e.g. "{slug}"' if slug else ""


def _read_agencies(r: _Reader, node: Node) -> dict[str, Agency]:
    agencies: dict[str, Agency] = {}
    for agency_id, knode, vnode in r.mapping(node, "agencies", None,
                                             "a mapping of agency id to {name: ...}"):
        key = f"agencies.{agency_id}"
        if not _valid_id(r, knode, key, agency_id, "agency id"):
            continue
        name, aliases = None, ()
        if isinstance(vnode, Scalar) and not _is_null(vnode):
            name = r.text(vnode, key, required=True)  # shorthand: `so-y-te: Sở Y tế`
        else:
            fields = {k: v for k, _kn, v in r.mapping(vnode, key, AGENCY_KEYS,
                                                     "a mapping such as {name: Sở Y tế}")}
            if "name" not in fields and isinstance(vnode, Mapping):
                r.problem(vnode, key, "name is required, e.g. {name: Sở Y tế}")
            name = r.text(fields.get("name"), f"{key}.name", required="name" in fields)
            aliases = tuple(a for a, _n in r.text_list(fields.get("aliases"), f"{key}.aliases"))
        agencies[agency_id] = Agency(agency_id, name or agency_id, aliases)
    return agencies


def _read_units(r: _Reader, node: Node, agencies: dict[str, Agency],
                index: AgencyIndex) -> dict[str, dict[str, Unit]]:
    """``units: {huyen: {moc-chau: {name: ..., agency: ...}, ...}}``. A unit without ``agency``
    acts as an agency of its own, with the unit's id and name (added to the plan's agencies)."""
    lists: dict[str, dict[str, Unit]] = {}
    for list_id, _kn, lnode in r.mapping(node, "units", None, "a mapping of list id to units"):
        units: dict[str, Unit] = {}
        for unit_id, knode, unode in r.mapping(lnode, f"units.{list_id}", None,
                                               "a mapping of unit id to {name: ...}"):
            key = f"units.{list_id}.{unit_id}"
            if not _valid_id(r, knode, key, unit_id, "unit id"):
                continue
            agency_raw = None
            if isinstance(unode, Scalar) and not _is_null(unode):
                name = r.text(unode, key, required=True)
            else:
                fields = {k: v for k, _k, v in r.mapping(unode, key, UNIT_KEYS,
                                                         "a mapping such as {name: ...}")}
                name = r.text(fields.get("name"), f"{key}.name", required=True)
                agency_raw = r.text(fields.get("agency"), f"{key}.agency")
            agency = unit_id
            if agency_raw is not None:
                found, _several = index.lookup(agency_raw)
                if found is None:
                    r.problem(unode, f"{key}.agency", f'unknown agency "{agency_raw}"; known: '
                              f"{', '.join(agencies)}")
                    continue
                agency = found
            elif unit_id not in agencies:
                agencies[unit_id] = Agency(unit_id, name or unit_id)
                index.add(unit_id, name or unit_id)
            units[unit_id] = Unit(unit_id, name or unit_id, agency)
        if not units:
            r.problem(lnode, f"units.{list_id}", "a unit list needs at least one unit")
        lists[list_id] = units
    return lists


def _read_repeat(r: _Reader, node: Node, key: str) -> Repeat | None:
    what = "a mapping such as {weekly: friday, from: ..., until: ...}"
    f = {k: v for k, _k, v in r.mapping(node, key, REPEAT_KEYS, what)}
    kinds = [k for k in ("weekly", "monthly", "yearly") if k in f]
    if len(kinds) != 1:
        r.problem(node, key, "name exactly one of weekly, monthly or yearly")
        return None
    every = kinds[0]
    first = _date(r, f.get("from"), f"{key}.from", "start")
    until = _date(r, f.get("until"), f"{key}.until", "due")
    if "from" not in f:
        r.problem(node, f"{key}.from", "is required: the first day occurrences may fall on")
    ahead = DEFAULT_AHEAD
    if "ahead" in f:
        raw = r.text(f["ahead"], f"{key}.ahead", required=True)
        try:
            ahead = parse_duration(raw) if raw else ahead
        except DateParseError as err:
            r.problem(f["ahead"], f"{key}.ahead", str(err))
    if first and until and until < first:
        r.problem(f.get("until"), f"{key}.until", "ends before it starts")
    value = f[every]
    if every == "weekly":
        raw = (r.text(value, f"{key}.weekly", required=True) or "").casefold()
        if raw not in WEEKDAYS:
            r.problem(value, f"{key}.weekly", f'"{raw}" is not a weekday; {REPEAT_KEYS["weekly"]}')
            return None
        return Repeat("weekly", weekday=WEEKDAYS[raw], first=first, until=until, ahead=ahead)
    if every == "monthly":
        raw = r.text(value, f"{key}.monthly", required=True) or ""
        if not raw.isdigit() or not 1 <= int(raw) <= 31:
            r.problem(value, f"{key}.monthly", f'"{raw}" is not a day of the month (1-31)')
            return None
        return Repeat("monthly", day=int(raw), first=first, until=until, ahead=ahead)
    days = []
    for raw, item in r.text_list(value, f"{key}.yearly"):
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})", raw)
        try:
            if not m:
                raise ValueError
            date(2024, int(m[2]), int(m[1]))  # 2024 is a leap year: 29/2 is allowed
            days.append((int(m[1]), int(m[2])))
        except ValueError:
            r.problem(item, f"{key}.yearly", f'"{raw}" is not a day of the year like 10/6')
    if not days:
        r.problem(value, f"{key}.yearly", "list at least one day, e.g. [10/6, 10/12]")
        return None
    return Repeat("yearly", days=tuple(sorted(set(days), key=lambda d: (d[1], d[0]))),
                  first=first, until=until, ahead=ahead)


def _read_tasks(r: _Reader, node: Node, agency_ref, issuer: str | None,
                coordinator: str | None, units: dict[str, dict[str, Unit]]
                ) -> dict[str, TaskDef]:
    raw_tasks: list[tuple[str, Node, dict[str, Node]]] = []
    for task_id, knode, vnode in r.mapping(node, "tasks", None, "a mapping of task id to fields"):
        key = f"tasks.{task_id}"
        if not task_id or "/" in task_id or any(c.isspace() for c in task_id):
            r.problem(knode, key, f'"{task_id}" is not a valid task id: no "/" and no spaces')
            continue
        fields = {k: v for k, _kn, v in r.mapping(vnode, key, TASK_KEYS,
                                                 "a mapping with title, lead, due, ...")}
        if isinstance(vnode, Mapping):
            raw_tasks.append((task_id, knode, fields))
    if isinstance(node, Mapping):
        node.value.clear()  # from here each task's nodes live in raw_tasks only (see below)
    known = [t for t, _n, _f in raw_tasks]
    known_set = set(known)
    recurring = {t for t, _n, f in raw_tasks if "repeat" in f}
    tasks: dict[str, TaskDef] = {}
    for i, (task_id, knode, f) in enumerate(raw_tasks):
        raw_tasks[i] = None  # type: ignore[call-overload]  # let its nodes go: bounds memory
        key = f"tasks.{task_id}"
        if "title" in f:
            title = r.text(f["title"], f"{key}.title", required=True)
        else:
            title = None
            r.problem(knode, f"{key}.title", "is required: the task's title")
        if "lead" not in f:
            r.problem(knode, f"{key}.lead", "is required: the lead agency (chủ trì)")
        for_each = r.text(f.get("for_each"), f"{key}.for_each")
        if for_each is not None and for_each not in units:
            r.problem(f.get("for_each"), f"{key}.for_each", f'unknown unit list "{for_each}"; '
                      f"known: {', '.join(units) or 'none (declare them under units:)'}")
        lead_raw = r.text(f.get("lead"), f"{key}.lead", required="lead" in f)
        lead_each = lead_raw is not None and lead_raw.casefold() == "each"
        if lead_each and for_each is None:
            r.problem(f.get("lead"), f"{key}.lead", '"each" needs for_each: the units lead')
        lead = None if lead_each else agency_ref(lead_raw, f.get("lead"), f"{key}.lead")
        support: list[str] = []
        for raw, item in r.text_list(f.get("support"), f"{key}.support"):
            ref = agency_ref(raw, item, f"{key}.support")
            if ref is None:
                continue
            if ref == lead:
                r.warn(item, f"{key}.support", f'"{raw}" is the lead; ignored as support')
            elif ref in support:
                r.warn(item, f"{key}.support", f'"{raw}" listed twice')
            else:
                support.append(ref)
        named = r.text(f.get("approver"), f"{key}.approver")
        approver = agency_ref(named, f.get("approver"), f"{key}.approver")
        if named is None:
            approver = coordinator if coordinator != lead else issuer
            if lead is not None and approver == lead:
                r.problem(knode, key, f'nobody may approve this task: its lead "{lead}" is both '
                          "coordinator and issuer; name an approver")
        elif approver is not None and approver == lead:
            r.problem(f.get("approver"), f"{key}.approver",
                      "the lead may not approve its own work; name another agency")
        depends: list[str] = []
        for raw, item in r.text_list(f.get("depends_on"), f"{key}.depends_on"):
            if raw not in known_set:
                r.problem(item, f"{key}.depends_on", f'task "{task_id}" depends on unknown task '
                          f'"{raw}"; known: {", ".join(t for t in known if t != task_id)}')
            elif raw in recurring:
                r.problem(item, f"{key}.depends_on", f'"{raw}" recurs: a task cannot wait on '
                          "every occurrence of a recurring task")
            elif raw not in depends:
                depends.append(raw)
        due = _date(r, f.get("due"), f"{key}.due", "due")
        start = _date(r, f.get("start"), f"{key}.start", "start")
        if due and start and start > due:
            r.problem(f.get("start"), f"{key}.start",
                      f"starts {start.isoformat()}, after it is due ({due.isoformat()})")
        repeat = None
        if "repeat" in f:
            repeat = _read_repeat(r, f["repeat"], f"{key}.repeat")
            if "due" in f:
                r.problem(f["due"], f"{key}.due", "a recurring task has no single due date: "
                          "each occurrence is due on its own day")
            if for_each is not None:
                r.problem(f["repeat"], f"{key}.repeat", "for_each and repeat together are not "
                          "supported yet; split the task")
        tasks[task_id] = TaskDef(
            id=task_id, title=title or "", lead=lead or "", support=tuple(support),
            approver=approver or "", approver_named=named is not None,
            depends_on=tuple(depends), due=due, start=start,
            ref=r.text(f.get("ref"), f"{key}.ref"), note=r.text(f.get("note"), f"{key}.note"),
            due_text=f["due"].value if isinstance(f.get("due"), Scalar) else None,
            line=knode.line,
            for_each=for_each, lead_each=lead_each, repeat=repeat,
        )
    for t in tasks.values():
        for dep in t.depends_on:
            d = tasks.get(dep)
            if d and d.due and t.due and d.due > t.due:
                r.warn(None, f"tasks.{t.id}.depends_on", f'"{dep}" is due {d.due.isoformat()}, '
                       f"after this task ({t.due.isoformat()})")
    return tasks


def _date(r: _Reader, node: Node | None, key: str, kind: str) -> date | None:
    raw = r.text(node, key)
    if raw is None:
        return None
    try:
        return parse_date(raw, kind=kind)
    except DateParseError as err:
        r.problem(node, key, str(err))
        return None


def _check_cycles(r: _Reader, tasks: dict[str, TaskDef]) -> None:
    """Iterative DFS (a 10,000-task chain must not hit the recursion limit)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(tasks, WHITE)
    for root in tasks:
        if colour[root] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                colour[node] = GREY
                path.append(node)
            deps = tasks[node].depends_on
            if i < len(deps):
                stack.append((node, i + 1))
                nxt = deps[i]
                if colour[nxt] == GREY:
                    cycle = [*path[path.index(nxt):], nxt]
                    r.problem(tasks[cycle[0]].line, f"tasks.{cycle[0]}.depends_on",
                              f"dependency cycle: {' → '.join(cycle)}")
                    return
                if colour[nxt] == WHITE:
                    stack.append((nxt, 0))
            else:
                colour[node] = BLACK
                path.pop()
