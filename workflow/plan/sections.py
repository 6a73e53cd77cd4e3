"""The parts of a definition other than its tasks: agencies, units, recurrences, the
escalation settings and the delivery channel; and the dependency-cycle check."""

from __future__ import annotations

import re
from datetime import date, timedelta

from workflow.plan.dates import DateParseError, parse_duration
from workflow.plan.model import (
    DEFAULT_AHEAD,
    DEFAULT_STALL_AFTER,
    DEFAULT_STEP_AFTER,
    Agency,
    Repeat,
    TaskDef,
    Unit,
)
from workflow.plan.names import AgencyIndex, exact, spelled
from workflow.plan.reader import Reader, is_null, read_date, valid_id
from workflow.plan.yamlnodes import Mapping, Node, Scalar

AGENCY_KEYS = {"name": "the agency's name", "aliases": "other ways the plans write it"}
ESCALATION_KEYS = {"stall_after": "a duration such as 7d", "step_after": "a duration such as 3d"}
# A plan names a delivery channel; the host that delivers configures it (workflow.ops.channels).
NOTIFY_KEYS = {"channel": "the name of a delivery channel the delivering host configures"}
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CHANNELS_CONFIGURED_BY = ("on the host that delivers: WORKFLOW_NOTIFY_COMMAND, "
                          "WORKFLOW_NOTIFY_WEBHOOK or a [channels.NAME] table in the file "
                          "WORKFLOW_NOTIFY_CONFIG names")
UNIT_KEYS = {"name": "the unit's name", "agency": "the agency that acts for the unit"}
REPEAT_KEYS = {
    "weekly": "a weekday: monday … sunday, or thứ 2 … thứ 7, chủ nhật",
    "monthly": "a day of the month, 1-31 (the last day in shorter months)",
    "yearly": "a list of days each year, e.g. [10/6, 10/12]",
    "from": "the first day occurrences may fall on",
    "until": "the last day (optional: open-ended without it)",
    "ahead": "how far ahead of its due day an occurrence is created (default 7d)",
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "thứ 2": 0, "thứ hai": 0, "thứ 3": 1, "thứ ba": 1, "thứ 4": 2, "thứ tư": 2,
    "thứ 5": 3, "thứ năm": 3, "thứ 6": 4, "thứ sáu": 4, "thứ 7": 5, "thứ bảy": 5,
    "chủ nhật": 6,
}


def read_agencies(r: Reader, node: Node) -> dict[str, Agency]:
    agencies: dict[str, Agency] = {}
    words: dict[str, list] = {}  # agency id -> (id, name and aliases, with their nodes)
    for agency_id, knode, vnode in r.mapping(node, "agencies", None,
                                             "a mapping of agency id to {name: ...}"):
        key = f"agencies.{agency_id}"
        if not valid_id(r, knode, key, agency_id, "agency id"):
            continue
        name, aliases, name_node = None, [], vnode
        if isinstance(vnode, Scalar) and not is_null(vnode):
            name = r.text(vnode, key, required=True)  # shorthand: `so-y-te: Sở Y tế`
        else:
            fields = {k: v for k, _kn, v in r.mapping(vnode, key, AGENCY_KEYS,
                                                     "a mapping such as {name: Sở Y tế}")}
            if "name" not in fields and isinstance(vnode, Mapping):
                r.problem(vnode, key, "name is required, e.g. {name: Sở Y tế}")
            name_node = fields.get("name", vnode)
            name = r.text(fields.get("name"), f"{key}.name", required="name" in fields)
            aliases = r.text_list(fields.get("aliases"), f"{key}.aliases")
        words[agency_id] = [(agency_id, knode, key), (name, name_node, f"{key}.name"),
                            *((a, n, f"{key}.aliases") for a, n in aliases)]
        agencies[agency_id] = Agency(agency_id, name or agency_id, tuple(a for a, _n in aliases))
    _check_shared_names(r, words)
    return agencies


def _check_shared_names(r: Reader, words: dict[str, list[tuple[str | None, Node, str]]]
                        ) -> None:
    """An id, name or alias naming two agencies is an error naming both lines: a reference
    to it would otherwise pick one of them without a word. Names and aliases are also compared
    spelled one way ("UBND tỉnh" = "Ủy ban nhân dân tỉnh", "Tài chánh" = "Tài chính")."""
    first: dict[str, tuple[str, Node, str]] = {}
    for agency_id, entries in words.items():
        for word, node, key in entries:
            if not word:
                continue
            keys = [exact(word)] if key == f"agencies.{agency_id}" else [
                exact(word), "spelled: " + spelled(word)]
            for k in keys:
                seen = first.setdefault(k, (agency_id, node, key))
                if seen[0] != agency_id:
                    r.problem(node, key, f'"{word}" also names agency "{seen[0]}" ({seen[2]}, '
                              f"line {seen[1].line}); an id, name or alias may name one agency "
                              "only")
                    break


def read_units(r: Reader, node: Node, agencies: dict[str, Agency],
                index: AgencyIndex) -> dict[str, dict[str, Unit]]:
    """``units: {huyen: {moc-chau: {name: ..., agency: ...}, ...}}``. A unit without ``agency``
    acts as an agency of its own, with the unit's id and name (added to the plan's agencies)."""
    lists: dict[str, dict[str, Unit]] = {}
    for list_id, _kn, lnode in r.mapping(node, "units", None, "a mapping of list id to units"):
        units: dict[str, Unit] = {}
        for unit_id, knode, unode in r.mapping(lnode, f"units.{list_id}", None,
                                               "a mapping of unit id to {name: ...}"):
            key = f"units.{list_id}.{unit_id}"
            if not valid_id(r, knode, key, unit_id, "unit id"):
                continue
            agency_raw = None
            if isinstance(unode, Scalar) and not is_null(unode):
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


def read_repeat(r: Reader, node: Node, key: str) -> Repeat | None:
    what = "a mapping such as {weekly: friday, from: ..., until: ...}"
    f = {k: v for k, _k, v in r.mapping(node, key, REPEAT_KEYS, what)}
    kinds = [k for k in ("weekly", "monthly", "yearly") if k in f]
    if len(kinds) != 1:
        r.problem(node, key, "name exactly one of weekly, monthly or yearly")
        return None
    every = kinds[0]
    first = read_date(r, f.get("from"), f"{key}.from", "start")
    until = read_date(r, f.get("until"), f"{key}.until", "due")
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


def check_cycles(r: Reader, tasks: dict[str, TaskDef]) -> None:
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


def read_escalation(r: Reader, node: Node | None) -> tuple[timedelta, timedelta]:
    """``escalation: {stall_after, step_after}`` (each optional; the defaults otherwise)."""
    found = {"stall_after": DEFAULT_STALL_AFTER, "step_after": DEFAULT_STEP_AFTER}
    if node is None or is_null(node):
        return found["stall_after"], found["step_after"]
    for name, _k, vnode in r.mapping(node, "escalation", ESCALATION_KEYS,
                                     "a mapping with stall_after and step_after"):
        raw = r.text(vnode, f"escalation.{name}", required=True)
        if raw is None:
            continue
        try:
            found[name] = parse_duration(raw)
        except DateParseError as err:
            r.problem(vnode, f"escalation.{name}", str(err))
    return found["stall_after"], found["step_after"]


def read_notify(r: Reader, node: Node | None) -> dict[str, str]:
    """``notify: NAME`` or ``{channel: NAME}``. A plan only names a channel: what runs and
    which URL is called are the delivering host's configuration, never the plan's."""
    if node is None or is_null(node):
        return {}
    name, where = None, node
    if isinstance(node, Mapping):
        for key, knode, vnode in r.mapping(node, "notify", None, "a channel name"):
            if key == "channel":
                name, where = r.text(vnode, "notify.channel", required=True), vnode
            else:
                r.problem(knode, f"notify.{key}", "a plan cannot say what runs or which URL is "
                          f"called; channels are configured {CHANNELS_CONFIGURED_BY}; name "
                          "one, e.g. notify: zalo-so-y-te")
    else:
        name = r.text(node, "notify", required=True)
    if name and not CHANNEL_NAME_RE.match(name):
        r.problem(where, "notify", f'"{name}" is not a channel name (lowercase letters, digits '
                  f"and '-'); channels are configured {CHANNELS_CONFIGURED_BY}")
        return {}
    return {"channel": name} if name else {}
