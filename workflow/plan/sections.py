"""The parts of a definition other than its tasks: agencies, units, recurrences, the
escalation settings, the calendar, the period and the delivery channel; and the cycle check
over the finished tasks."""

from __future__ import annotations

import itertools
import re
from datetime import date

from workflow.i18n import N_, _
from workflow.plan.dates import DateParseError, Deadline, parse_deadline, parse_duration
from workflow.plan.model import DEFAULT_AHEAD, Agency, Repeat, TaskDef, Unit
from workflow.plan.names import AgencyIndex, exact, spelled
from workflow.plan.reader import Reader, is_null, read_date, read_period, valid_id
from workflow.plan.workdays import CalendarError, read_calendar
from workflow.plan.yamlnodes import Mapping, Node, Scalar

AGENCY_KEYS = {"name": "the agency's name", "aliases": "other ways the plans write it"}
ESCALATION_KEYS = {
    "stall_after": "a duration such as 7d or 5wd, or never",
    "step_after": "a duration such as 3d or 2wd",
    "remind_before": "how long before the end of the due day to remind, e.g. 3d or 2wd",
}
CALENDAR_KEYS = {"days_off": "extra days off, e.g. [2/5/2025]",
                 "working_days": "weekend days worked, e.g. [26/4/2025]"}
# A plan names a delivery channel; the host that delivers configures it (workflow.ops.channels).
NOTIFY_KEYS = {"channel": "the name of a delivery channel the delivering host configures"}
CHANNEL_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CHANNELS_CONFIGURED_BY = N_("on the host that delivers: WORKFLOW_NOTIFY_COMMAND, "
                             "WORKFLOW_NOTIFY_WEBHOOK or a [channels.NAME] table in the file "
                             "WORKFLOW_NOTIFY_CONFIG names")
UNIT_KEYS = {"name": "the unit's name", "agency": "the agency that acts for the unit"}
REPEAT_KEYS = {
    "weekly": N_("a weekday: monday … sunday, or thứ 2 … thứ 7, chủ nhật"),
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
                                             _("a mapping of agency id to {name: ...}")):
        key = f"agencies.{agency_id}"
        if not valid_id(r, knode, key, agency_id, _("agency id")):
            continue
        name, aliases, name_node = None, [], vnode
        if isinstance(vnode, Scalar) and not is_null(vnode):
            name = r.text(vnode, key, required=True)  # shorthand: `so-y-te: Sở Y tế`
        else:
            fields = {k: v for k, _kn, v in r.mapping(vnode, key, AGENCY_KEYS,
                                                     _("a mapping such as {name: Sở Y tế}"))}
            if "name" not in fields and isinstance(vnode, Mapping):
                r.problem(vnode, key, _("name is required, e.g. {name: Sở Y tế}"))
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
                    r.problem(node, key, _('"{word}" also names agency "{agency}" ({key}, line '
                                           "{line}); an id, name or alias may name one agency "
                                           "only").format(word=word, agency=seen[0],
                                                          key=seen[2], line=seen[1].line))
                    break


def read_units(r: Reader, node: Node, agencies: dict[str, Agency],
                index: AgencyIndex) -> dict[str, dict[str, Unit]]:
    """``units: {huyen: {moc-chau: {name: ..., agency: ...}, ...}}``. A unit without ``agency``
    acts as an agency of its own, with the unit's id and name (added to the plan's agencies)."""
    lists: dict[str, dict[str, Unit]] = {}
    for list_id, _kn, lnode in r.mapping(node, "units", None,
                                          _("a mapping of list id to units")):
        units: dict[str, Unit] = {}
        for unit_id, knode, unode in r.mapping(lnode, f"units.{list_id}", None,
                                               _("a mapping of unit id to {name: ...}")):
            key = f"units.{list_id}.{unit_id}"
            if not valid_id(r, knode, key, unit_id, _("unit id")):
                continue
            agency_raw = None
            if isinstance(unode, Scalar) and not is_null(unode):
                name = r.text(unode, key, required=True)
            else:
                fields = {k: v for k, _k, v in r.mapping(unode, key, UNIT_KEYS,
                                                         _("a mapping such as {name: ...}"))}
                name = r.text(fields.get("name"), f"{key}.name", required=True)
                agency_raw = r.text(fields.get("agency"), f"{key}.agency")
            agency = unit_id
            if agency_raw is not None:
                found, _several = index.lookup(agency_raw)
                if found is None:
                    r.problem(unode, f"{key}.agency", _('unknown agency "{name}"; {hint}').format(
                        name=agency_raw, hint=_("known: {agencies}").format(
                            agencies=", ".join(agencies))))
                    continue
                agency = found
            elif unit_id not in agencies:
                agencies[unit_id] = Agency(unit_id, name or unit_id)
                index.add(unit_id, name or unit_id)
            units[unit_id] = Unit(unit_id, name or unit_id, agency)
        if not units:
            r.problem(lnode, f"units.{list_id}", _("a unit list needs at least one unit"))
        lists[list_id] = units
    return lists


def read_repeat(r: Reader, node: Node, key: str) -> Repeat | None:
    what = _("a mapping such as {weekly: friday, from: ..., until: ...}")
    f = {k: v for k, _k, v in r.mapping(node, key, REPEAT_KEYS, what)}
    kinds = [k for k in ("weekly", "monthly", "yearly") if k in f]
    if len(kinds) != 1:
        r.problem(node, key, _("name exactly one of weekly, monthly or yearly"))
        return None
    every = kinds[0]
    first = read_date(r, f.get("from"), f"{key}.from", "start")
    until = read_date(r, f.get("until"), f"{key}.until", "due")
    if "from" not in f:
        r.problem(node, f"{key}.from", _("is required: the first day occurrences may fall on"))
    ahead = DEFAULT_AHEAD
    if "ahead" in f:
        raw = r.text(f["ahead"], f"{key}.ahead", required=True)
        try:
            ahead = parse_duration(raw) if raw else ahead
        except DateParseError as err:
            r.problem(f["ahead"], f"{key}.ahead", str(err))
    if first and until and until < first:
        r.problem(f.get("until"), f"{key}.until", _("ends before it starts"))
    value = f[every]
    if every == "weekly":
        raw = (r.text(value, f"{key}.weekly", required=True) or "").casefold()
        if raw not in WEEKDAYS:
            r.problem(value, f"{key}.weekly", _('"{day}" is not a weekday; {days}').format(
                day=raw, days=_(REPEAT_KEYS["weekly"])))
            return None
        return Repeat("weekly", weekday=WEEKDAYS[raw], first=first, until=until, ahead=ahead)
    if every == "monthly":
        raw = r.text(value, f"{key}.monthly", required=True) or ""
        if not raw.isdigit() or not 1 <= int(raw) <= 31:
            r.problem(value, f"{key}.monthly",
                      _('"{day}" is not a day of the month (1-31)').format(day=raw))
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
            r.problem(item, f"{key}.yearly",
                      _('"{day}" is not a day of the year like 10/6').format(day=raw))
    if not days:
        r.problem(value, f"{key}.yearly", _("list at least one day, e.g. [10/6, 10/12]"))
        return None
    return Repeat("yearly", days=tuple(sorted(set(days), key=lambda d: (d[1], d[0]))),
                  first=first, until=until, ahead=ahead)


def check_cycles(r: Reader, tasks: dict[str, TaskDef]) -> None:
    """A task waiting, through ``depends_on`` or ``due: {after: ...}``, on itself.

    Iterative DFS (a 10,000-task chain must not hit the recursion limit).
    """
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(tasks, WHITE)
    edges = {t.id: [d for d in (*t.depends_on, t.due_after) if d in tasks]
             for t in tasks.values()}
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
            deps = edges[node]
            if i < len(deps):
                stack.append((node, i + 1))
                nxt = deps[i]
                if colour[nxt] == GREY:
                    _report_cycle(r, tasks, [*path[path.index(nxt):], nxt])
                    return
                if colour[nxt] == WHITE:
                    stack.append((nxt, 0))
            else:
                colour[node] = BLACK
                path.pop()


def _report_cycle(r: Reader, tasks: dict[str, TaskDef], cycle: list[str]) -> None:
    first = tasks[cycle[0]]
    key = "depends_on" if cycle[1] in first.depends_on else "due.after"
    if all(b in tasks[a].depends_on for a, b in itertools.pairwise(cycle)):
        r.problem(first.line, f"tasks.{first.id}.{key}",
                  _("dependency cycle: {cycle}").format(cycle=" → ".join(cycle)))
        return
    links = [(_("{task} depends on {dependency}") if b in tasks[a].depends_on else
              _("{task} is due after {dependency} is approved")).format(task=a, dependency=b)
             for a, b in itertools.pairwise(cycle)]
    r.problem(first.line, f"tasks.{first.id}.{key}",
              _("cycle: {cycle} ({links}); the chain must end").format(cycle=" → ".join(cycle),
                                                                      links="; ".join(links)))


# --------------------------------------------------------------------------- escalation


def read_escalation(r: Reader, node: Node, plan: dict) -> None:
    """``escalation: {stall_after, step_after, remind_before}`` into ``plan`` (Plan's fields).

    Calendar lengths stay timedeltas (``stall_after``/``step_after``, as stored before); working
    days and ``never`` go to ``stall_rule``/``step_rule``, which only such plans carry.
    """
    for name, _k, vnode in r.mapping(node, "escalation", ESCALATION_KEYS,
                                     _("a mapping with stall_after, step_after, remind_before")):
        duration = read_period(r, vnode, f"escalation.{name}", never=name == "stall_after")
        if duration is None:
            continue
        if name == "remind_before":
            plan["remind_before"] = duration
        elif duration.unit in ("h", "d", "w"):
            plan[name] = duration.timedelta()
        else:
            plan["stall_rule" if name == "stall_after" else "step_rule"] = duration


# --------------------------------------------------------------------------- calendar


def read_calendar_block(r: Reader, node: Node) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """``calendar: {days_off: [...], working_days: [...]}``, each day checked by the working-day
    calendar itself (``read_calendar``) so that a problem names its own line."""
    days: dict[str, list[date]] = {"days_off": [], "working_days": []}
    for name, _k, vnode in r.mapping(node, "calendar", CALENDAR_KEYS,
                                     _("a mapping such as {days_off: [2/5/2025]}")):
        for raw, item in r.text_list(vnode, f"calendar.{name}"):
            try:
                cal = read_calendar({name: [raw]})
            except CalendarError as err:
                r.problem(item, f"calendar.{name}", _calendar_message(str(err), name))
                continue
            days[name] += sorted(cal.days_off | cal.working_days)
    try:
        read_calendar({k: v for k, v in days.items() if v})
    except CalendarError as err:  # a day given as both
        r.problem(node, "calendar", str(err))
        return (), ()
    return tuple(sorted(set(days["days_off"]))), tuple(sorted(set(days["working_days"])))


def _calendar_message(text: str, name: str) -> str:
    """The calendar's own sentence without its key (the problem carries the key already)."""
    return text.removeprefix(f"calendar.{name}: ")


# --------------------------------------------------------------------------- period


def read_plan_period(r: Reader, node: Node) -> Deadline | None:
    """``period: "2026 - 2030"``: the plan's span, where recurring deadlines without a window
    of their own begin and end. ``start`` is the first day it names, ``due`` the last."""
    raw = r.text(node, "period")
    if raw is None:
        return None
    try:
        period = parse_deadline(raw)
    except DateParseError as err:
        r.problem(node, "period", str(err))
        return None
    if period.recurrence or period.no_date_reason:
        r.problem(node, "period", _('"{period}" names no span; write e.g. "2026 - 2030", '
                                    '"Năm 2025" or "Từ 01/9/2020 đến hết 31/12/2025"').format(
            period=raw))
        return None
    first = period.start or read_date(r, node, "period", "start")
    return Deadline(period.text, first, period.due, basis=period.basis)



def read_notify(r: Reader, node: Node | None) -> dict[str, str]:
    """``notify: NAME`` or ``{channel: NAME}``. A plan only names a channel: what runs and
    which URL is called are the delivering host's configuration, never the plan's."""
    if node is None or is_null(node):
        return {}
    name, where = None, node
    if isinstance(node, Mapping):
        for key, knode, vnode in r.mapping(node, "notify", None, _("a channel name")):
            if key == "channel":
                name, where = r.text(vnode, "notify.channel", required=True), vnode
            else:
                r.problem(knode, f"notify.{key}", _(
                    "a plan cannot say what runs or which URL is called; channels are "
                    "configured {where}; name one, e.g. notify: zalo-so-y-te").format(
                    where=_(CHANNELS_CONFIGURED_BY)))
    else:
        name = r.text(node, "notify", required=True)
    if name and not CHANNEL_NAME_RE.match(name):
        r.problem(where, "notify", _('"{name}" is not a channel name (lowercase letters, digits '
                                     "and '-'); channels are configured {where}").format(
            name=name, where=_(CHANNELS_CONFIGURED_BY)))
        return {}
    return {"channel": name} if name else {}
