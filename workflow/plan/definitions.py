"""YAML plan definitions → frozen plan objects, with every problem found and its line.

We never let PyYAML construct Python values: we compose the node tree and read each scalar
ourselves. That is why ``no``/``off``/``yes`` stay strings, why ``2024-04-20`` is read by our
own date parser, why a duplicate key is an error instead of silently winning, and why an
alias bomb cannot expand (every value we read is bounded by the schema below).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.clock import DEFAULT_TIMEZONE
from workflow.errors import DefinitionError, Problem
from workflow.i18n import N_, _, ngettext
from workflow.plan.model import (
    DEFAULT_AHEAD,
    DEFAULT_STALL_AFTER,
    DEFAULT_STEP_AFTER,
    Agency,
    Plan,
    Repeat,
    TaskDef,
    Unit,
    task_canonical,
)
from workflow.plan.names import LEAD_EACH, AgencyIndex
from workflow.plan.reader import Reader, is_null, read_text, valid_id
from workflow.plan.sections import (  # the key tables: the README documents each
    AGENCY_KEYS,
    CALENDAR_KEYS,
    ESCALATION_KEYS,
    NOTIFY_KEYS,
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
from workflow.plan.taskdue import RELATIVE_KEYS
from workflow.plan.tasks import TASK_KEYS, read_tasks
from workflow.plan.yamlnodes import Mapping, Node, compose
from workflow.text import nfc

__all__ = ["AGENCY_KEYS", "CALENDAR_KEYS", "DEFAULT_AHEAD", "DEFAULT_STALL_AFTER",
           "DEFAULT_STEP_AFTER", "ESCALATION_KEYS", "LEAD_EACH", "NOTIFY_KEYS", "PLAN_KEYS",
           "RELATIVE_KEYS", "REPEAT_KEYS", "TASK_KEYS", "UNIT_KEYS", "WEEKDAYS", "Agency",
           "Plan", "Repeat", "TaskDef", "Unit", "load_file", "parse", "read_text",
           "task_canonical"]

PLAN_KEYS = {
    "id": N_("the plan id: lowercase letters, digits and '-'"),
    "title": N_("the plan's title"),
    "document": N_("the document's number and date, as text"),
    "issuer": N_("the issuing agency's id"),
    "coordinator": N_("the coordinating agency's id"),
    "timezone": N_("an IANA timezone such as Asia/Ho_Chi_Minh"),
    "period": N_('the plan\'s span, e.g. "2026 - 2030": where recurring deadlines begin and end'),
    "escalation": N_("a mapping with stall_after, step_after and remind_before"),
    "calendar": N_("the year's swapped days: {days_off: [2/5/2025], working_days: [26/4/2025]}"),
    "agencies": N_("a mapping of agency id to {name: ...}"),
    "units": N_("named lists of units (districts, communes) that tasks may fan out over"),
    "notify": N_("the name of a delivery channel the delivering host configures"),
    "tasks": N_("a mapping of task id to its fields"),
}
def more_problems(more: int) -> str:
    """"(and 2 more problems)" after a definition's first problem."""
    return ngettext("(and {more} more problem)", "(and {more} more problems)", more).format(
        more=more)


def load_file(path: str | Path) -> Plan:
    text = [read_text(path)]  # handed over in a list so parse() can drop the only copy
    return parse(text.pop(), str(path))


def parse(text: str, filename: str = "<definition>") -> Plan:
    """Reads and validates one definition; raises DefinitionError listing every problem."""
    if "\x00" in text:
        raise DefinitionError([Problem(filename, None, "", _("binary data, expected YAML text"))])
    text = nfc(text)
    chars, data = len(text), text.encode()
    del text  # the caller's copy may remain; ours need not, nor while composing
    root = compose(data, filename, chars=chars)
    del data
    r = Reader(filename)
    top = {name: vnode for name, _k, vnode in r.mapping(root, "", PLAN_KEYS,
                                                       _("a plan (a mapping with id, ...)"))}
    if not isinstance(root, Mapping):
        raise DefinitionError(r.problems, more=more_problems)
    def need(key: str) -> bool:  # in the order the problems were always reported
        if key not in top:
            r.problem(1, key, _("is required: {what}").format(what=_(PLAN_KEYS[key])))
        return key in top

    head = _head(r, top, need)
    agencies = read_agencies(r, top["agencies"]) if need("agencies") else {}
    ctx = _Context(r, AgencyIndex((a.id, a.name, a.aliases) for a in agencies.values()),
                   agencies)
    issuer, coordinator = (ctx.agency(r.text(top[k], k, required=True), top[k], k)
                           if need(k) else None for k in ("issuer", "coordinator"))
    units = read_units(r, top["units"], agencies, ctx.index) if "units" in top else {}
    head["notify"] = read_notify(r, top.get("notify"))
    tasks = (read_tasks(r, top["tasks"], ctx.agency, issuer, coordinator, units,
                        head.get("period")) if need("tasks") else {})
    check_cycles(r, tasks)
    if r.problems:
        raise DefinitionError(sorted(r.problems, key=lambda p: p.line or 0), more=more_problems)
    return Plan(issuer=issuer, coordinator=coordinator, agencies=agencies, tasks=tasks,
                units=units, source=filename, warnings=tuple(r.warnings), **head)


def _head(r: Reader, top: dict[str, Node], need) -> dict[str, Any]:
    """The plan's own keys (all but agencies, units, tasks, notify) as Plan's keyword arguments."""
    head: dict[str, Any] = {"stall_after": DEFAULT_STALL_AFTER,
                            "step_after": DEFAULT_STEP_AFTER}
    head["id"] = plan_id = r.text(top.get("id"), "id", required="id" in top)
    if need("id") and plan_id:
        valid_id(r, top["id"], "id", plan_id, _("id"))
    head["title"] = r.text(top["title"], "title", required=True) if need("title") else None
    head["document"] = r.text(top.get("document"), "document")
    head["timezone"] = _timezone(r, top.get("timezone"))
    if _given(top, "escalation"):
        read_escalation(r, top["escalation"], head)
    if _given(top, "calendar"):
        head["days_off"], head["working_days"] = read_calendar_block(r, top["calendar"])
    if _given(top, "period"):
        head["period"] = read_plan_period(r, top["period"])
    return head


def _given(top: dict[str, Node], key: str) -> bool:
    return key in top and not is_null(top[key])


def _timezone(r: Reader, node: Node | None) -> str:
    timezone = r.text(node, "timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(node, "timezone",
                  _('unknown timezone "{timezone}"; expected e.g. {example}').format(
                      timezone=timezone, example=DEFAULT_TIMEZONE))
    return timezone


@dataclass
class _Context:
    """The plan's agencies, for resolving a reference as written (id, name or alias)."""

    r: Reader
    index: AgencyIndex
    agencies: dict[str, Agency]

    def agency(self, raw: str | None, node: Node | None, key: str) -> str | None:
        """An agency reference (id, name or alias) as its id; None and a problem if unknown."""
        if raw is None:
            return None
        found, several = self.index.lookup(raw)
        if found is not None:
            return found
        if several:
            self.r.problem(node, key, _('"{name}" names more than one agency: {agencies}; use '
                                        "the id").format(
                name=raw, agencies=self.index.describe(sorted(several))))
        else:
            close = self.index.closest(raw)
            hint = (_("did you mean {agencies}?").format(agencies=self.index.describe(close))
                    if close else _("known: {agencies}").format(
                        agencies=", ".join(self.agencies) or _("none")))
            self.r.problem(node, key, _('unknown agency "{name}"; {hint}').format(name=raw,
                                                                                  hint=hint))
        return None
