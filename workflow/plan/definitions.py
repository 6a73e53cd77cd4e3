"""YAML plan definitions → frozen plan objects, with every problem found and its line.

We never let PyYAML construct Python values: we compose the node tree and read each scalar
ourselves. That is why ``no``/``off``/``yes`` stay strings, why ``2024-04-20`` is read by our
own date parser, why a duplicate key is an error instead of silently winning, and why an
alias bomb cannot expand (every value we read is bounded by the schema below).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflow.clock import DEFAULT_TIMEZONE
from workflow.errors import DefinitionError, Problem
from workflow.plan.model import (
    LEAD_EACH,
    Agency,
    Plan,
    Repeat,
    TaskDef,
    Unit,
    task_canonical,
)
from workflow.plan.names import AgencyIndex
from workflow.plan.reader import Reader, read_date, read_text, valid_id
from workflow.plan.sections import (  # the key tables: the README documents each
    AGENCY_KEYS,
    ESCALATION_KEYS,
    NOTIFY_KEYS,
    REPEAT_KEYS,
    UNIT_KEYS,
    check_cycles,
    read_agencies,
    read_escalation,
    read_notify,
    read_repeat,
    read_units,
)
from workflow.plan.yamlnodes import Mapping, Node, Scalar, Sequence, compose
from workflow.text import nfc

__all__ = ["AGENCY_KEYS", "ESCALATION_KEYS", "LEAD_EACH", "NOTIFY_KEYS", "REPEAT_KEYS",
           "UNIT_KEYS", "Agency", "Plan", "Repeat", "TaskDef", "Unit", "load_file", "parse",
           "read_text", "task_canonical"]

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
    "notify": "the name of a delivery channel the delivering host configures",
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
    top = {name: vnode for name, _k, vnode in r.mapping(root, "", PLAN_KEYS,
                                                       "a plan (a mapping with id, ...)")}
    if not isinstance(root, Mapping):
        raise DefinitionError(r.problems)
    def need(key: str) -> bool:  # in the order the problems were always reported
        if key not in top:
            r.problem(1, key, f"is required: {PLAN_KEYS[key]}")
        return key in top

    plan_id = r.text(top.get("id"), "id", required="id" in top)
    if need("id") and plan_id:
        valid_id(r, top["id"], "id", plan_id, "id")
    title = r.text(top["title"], "title", required=True) if need("title") else None
    document = r.text(top.get("document"), "document")
    timezone = _timezone(r, top.get("timezone"))
    stall_after, step_after = read_escalation(r, top.get("escalation"))
    agencies = read_agencies(r, top["agencies"]) if need("agencies") else {}
    ctx = _Context(r, AgencyIndex((a.id, a.name, a.aliases) for a in agencies.values()),
                   agencies)
    issuer, coordinator = (ctx.agency(r.text(top[k], k, required=True), top[k], k)
                           if need(k) else None for k in ("issuer", "coordinator"))
    ctx.issuer, ctx.coordinator = issuer, coordinator
    ctx.units = read_units(r, top["units"], agencies, ctx.index) if "units" in top else {}
    notify = read_notify(r, top.get("notify"))
    tasks = _read_tasks(r, top["tasks"], ctx) if need("tasks") else {}
    check_cycles(r, tasks)
    if r.problems:
        raise DefinitionError(sorted(r.problems, key=lambda p: p.line or 0))
    return Plan(
        id=plan_id, title=title, issuer=issuer, coordinator=coordinator, timezone=timezone,
        stall_after=stall_after, step_after=step_after, agencies=agencies, tasks=tasks,
        units=ctx.units, notify=notify, document=document,
        source=filename, warnings=tuple(r.warnings),
    )


def _timezone(r: Reader, node: Node | None) -> str:
    timezone = r.text(node, "timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(node, "timezone",
                  f'unknown timezone "{timezone}"; expected e.g. {DEFAULT_TIMEZONE}')
    return timezone


@dataclass
class _Context:
    """What reading a task needs from the rest of the plan."""

    r: Reader
    index: AgencyIndex
    agencies: dict[str, Agency]
    issuer: str | None = None
    coordinator: str | None = None
    units: dict[str, dict[str, Unit]] | None = None
    known: list[str] | None = None  # every task id, in order (for the messages)
    known_set: set[str] | None = None
    recurring: set[str] | None = None

    def agency(self, raw: str | None, node: Node | None, key: str) -> str | None:
        """An agency reference (id, name or alias) as its id; None and a problem if unknown."""
        if raw is None:
            return None
        found, several = self.index.lookup(raw)
        if found is not None:
            return found
        if several:
            self.r.problem(node, key, f'"{raw}" names more than one agency: '
                           f"{self.index.describe(sorted(several))}; use the id")
        else:
            close = self.index.closest(raw)
            hint = (f"did you mean {self.index.describe(close)}?" if close
                    else f'known: {", ".join(self.agencies) or "none"}')
            self.r.problem(node, key, f'unknown agency "{raw}"; {hint}')
        return None


def _read_tasks(r: Reader, node: Node, ctx: _Context) -> dict[str, TaskDef]:
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
    ctx.known = [t for t, _n, _f in raw_tasks]
    ctx.known_set = set(ctx.known)
    ctx.recurring = {t for t, _n, f in raw_tasks if "repeat" in f}
    tasks: dict[str, TaskDef] = {}
    for i, (task_id, knode, f) in enumerate(raw_tasks):
        raw_tasks[i] = None  # type: ignore[call-overload]  # let its nodes go: bounds memory
        tasks[task_id] = _read_task(ctx, task_id, knode, f)
    for t in tasks.values():
        for dep in t.depends_on:
            d = tasks.get(dep)
            if d and d.due and t.due and d.due > t.due:
                r.warn(None, f"tasks.{t.id}.depends_on", f'"{dep}" is due {d.due.isoformat()}, '
                       f"after this task ({t.due.isoformat()})")
    return tasks


def _read_task(ctx: _Context, task_id: str, knode: Node, f: dict[str, Node]) -> TaskDef:
    r, key = ctx.r, f"tasks.{task_id}"
    title = r.text(f["title"], f"{key}.title", required=True) if "title" in f else None
    if "title" not in f:
        r.problem(knode, f"{key}.title", "is required: the task's title")
    if "lead" not in f:
        r.problem(knode, f"{key}.lead", "is required: the lead agency (chủ trì)")
    for_each = r.text(f.get("for_each"), f"{key}.for_each")
    if for_each is not None and for_each not in ctx.units:
        r.problem(f.get("for_each"), f"{key}.for_each", f'unknown unit list "{for_each}"; '
                  f"known: {', '.join(ctx.units) or 'none (declare them under units:)'}")
    lead, lead_each, co_leads = _leads(ctx, f, key, for_each)
    named = r.text(f.get("approver"), f"{key}.approver")
    due = read_date(r, f.get("due"), f"{key}.due", "due")
    start = read_date(r, f.get("start"), f"{key}.start", "start")
    if due and start and start > due:
        r.problem(f.get("start"), f"{key}.start",
                  f"starts {start.isoformat()}, after it is due ({due.isoformat()})")
    return TaskDef(
        id=task_id, title=title or "", lead=lead or "",
        support=tuple(_support(ctx, f, key, lead)),
        approver=_approver(ctx, f, key, knode, lead, named) or "",
        approver_named=named is not None, depends_on=tuple(_depends(ctx, f, key, task_id)),
        due=due, start=start,
        ref=r.text(f.get("ref"), f"{key}.ref"), note=r.text(f.get("note"), f"{key}.note"),
        due_text=f["due"].value if isinstance(f.get("due"), Scalar) else None,
        line=knode.line, for_each=for_each, lead_each=lead_each,
        repeat=_repeat(r, f, key, for_each), co_leads=co_leads,
    )


def _leads(ctx: _Context, f: dict[str, Node], key: str, for_each: str | None
           ) -> tuple[str | None, bool, tuple[str, ...]]:
    """(lead, lead: each, joint leads after the first): ``lead: A``, ``lead: each`` or
    ``lead: [A, B]`` (joint leads: the first heads the chain)."""
    r = ctx.r
    lead_node, co_leads = f.get("lead"), []
    if isinstance(lead_node, Sequence):
        leads = r.text_list(lead_node, f"{key}.lead")
        if not leads:
            r.problem(lead_node, f"{key}.lead", "list at least one agency")
        for raw, item in leads[1:]:
            if (ref := ctx.agency(raw, item, f"{key}.lead")) and ref not in co_leads:
                co_leads.append(ref)
        lead_node = leads[0][1] if leads else None
    lead_raw = r.text(lead_node, f"{key}.lead", required="lead" in f and lead_node is not None)
    lead_each = lead_raw is not None and lead_raw.casefold() == LEAD_EACH
    if lead_each and for_each is None:
        r.problem(f.get("lead"), f"{key}.lead", '"each" needs for_each: the units lead')
    lead = None if lead_each else ctx.agency(lead_raw, lead_node, f"{key}.lead")
    return lead, lead_each, tuple(c for c in co_leads if c != lead)


def _support(ctx: _Context, f: dict[str, Node], key: str, lead: str | None) -> list[str]:
    support: list[str] = []
    for raw, item in ctx.r.text_list(f.get("support"), f"{key}.support"):
        ref = ctx.agency(raw, item, f"{key}.support")
        if ref is None:
            continue
        if ref == lead:
            ctx.r.warn(item, f"{key}.support", f'"{raw}" is the lead; ignored as support')
        elif ref in support:
            ctx.r.warn(item, f"{key}.support", f'"{raw}" listed twice')
        else:
            support.append(ref)
    return support


def _approver(ctx: _Context, f: dict[str, Node], key: str, knode: Node, lead: str | None,
              named: str | None) -> str | None:
    """The approver named, else the coordinator, else (the coordinator leads) the issuer."""
    approver = ctx.agency(named, f.get("approver"), f"{key}.approver")
    if named is None:
        approver = ctx.coordinator if ctx.coordinator != lead else ctx.issuer
        if lead is not None and approver == lead:
            ctx.r.problem(knode, key, f'nobody may approve this task: its lead "{lead}" is both '
                          "coordinator and issuer; name an approver")
    elif approver is not None and approver == lead:
        ctx.r.problem(f.get("approver"), f"{key}.approver",
                      "the lead may not approve its own work; name another agency")
    return approver


def _depends(ctx: _Context, f: dict[str, Node], key: str, task_id: str) -> list[str]:
    depends: list[str] = []
    for raw, item in ctx.r.text_list(f.get("depends_on"), f"{key}.depends_on"):
        if raw not in ctx.known_set:
            ctx.r.problem(item, f"{key}.depends_on", f'task "{task_id}" depends on unknown task '
                          f'"{raw}"; known: {", ".join(t for t in ctx.known if t != task_id)}')
        elif raw in ctx.recurring:
            ctx.r.problem(item, f"{key}.depends_on", f'"{raw}" recurs: a task cannot wait on '
                          "every occurrence of a recurring task")
        elif raw not in depends:
            depends.append(raw)
    return depends


def _repeat(r: Reader, f: dict[str, Node], key: str, for_each: str | None) -> Repeat | None:
    if "repeat" not in f:
        return None
    repeat = read_repeat(r, f["repeat"], f"{key}.repeat")
    if "due" in f:
        r.problem(f["due"], f"{key}.due", "a recurring task has no single due date: "
                  "each occurrence is due on its own day")
    if for_each is not None:
        r.problem(f["repeat"], f"{key}.repeat", "for_each and repeat together are not "
                  "supported yet; split the task")
    return repeat
