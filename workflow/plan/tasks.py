"""The ``tasks:`` section: each task's agencies, dependencies, deadline and clocks."""

from __future__ import annotations

from collections.abc import Callable

from workflow.i18n import _
from workflow.plan.dates import Deadline
from workflow.plan.model import TaskDef, Unit
from workflow.plan.names import LEAD_EACH
from workflow.plan.reader import Reader
from workflow.plan.sections import read_repeat
from workflow.plan.taskdue import CLOCK_KEYS, check_after, read_clocks, read_due, read_phrase
from workflow.plan.yamlnodes import Mapping, Node, Sequence

TASK_KEYS = {
    "title": "the task's title",
    "ref": "the document's own numbering, e.g. II.4",
    "lead": "the lead agency (chủ trì), or a list of joint leads",
    "support": "a list of supporting agencies (phối hợp)",
    "approver": "the agency that approves reports, if not the coordinator",
    "depends_on": "a list of task ids that must be approved first",
    "due": 'the deadline: a phrase ("Quý III/2024", "Thường xuyên") or {after: TASK, within: 15wd}',
    "start": "the first day the task may start",
    "note": "a remark shown with the task",
    "for_each": "a unit list: one instance of the task per unit",
    "repeat": "a recurrence: weekly, monthly or yearly occurrences",
    "stall_after": "this task's own stall clock (e.g. 10wd, or never)",
    "step_after": "this task's own escalation step (e.g. 2wd)",
    "remind_before": "remind this long before the end of the due day (e.g. 3wd)",
}
AgencyRef = Callable[[str | None, "Node | None", str], "str | None"]


class _Context:
    """What every task is checked against: the plan's agencies, units, period and task ids."""

    def __init__(self, r: Reader, agency_ref: AgencyRef, issuer: str | None,
                 coordinator: str | None, units: dict[str, dict[str, Unit]],
                 period: Deadline | None) -> None:
        self.r, self.agency_ref, self.issuer, self.coordinator = r, agency_ref, issuer, coordinator
        self.units, self.period = units, period
        self.known: dict[str, int] = {}
        self.recurring: set[str] = set()


def read_tasks(r: Reader, node: Node, agency_ref: AgencyRef, issuer: str | None,
               coordinator: str | None, units: dict[str, dict[str, Unit]],
               period: Deadline | None = None) -> dict[str, TaskDef]:
    ctx = _Context(r, agency_ref, issuer, coordinator, units, period)
    raw_tasks: list = []
    for task_id, knode, vnode in r.mapping(node, "tasks", None,
                                              _("a mapping of task id to fields")):
        key = f"tasks.{task_id}"
        if not task_id or "/" in task_id or any(c.isspace() for c in task_id):
            r.problem(knode, key, _('"{task}" is not a valid task id: no "/" and no spaces')
                      .format(task=task_id))
            continue
        fields = {k: v for k, _kn, v in r.mapping(vnode, key, TASK_KEYS,
                                                 _("a mapping with title, lead, due, ..."))}
        if isinstance(vnode, Mapping):
            phrase = read_phrase(fields.get("due"))  # read once, here: recurring ones known
            raw_tasks.append((task_id, knode, fields, phrase))
            ctx.known.setdefault(task_id, knode.line)
            if "repeat" in fields or getattr(phrase, "recurrence", None):
                ctx.recurring.add(task_id)
    if isinstance(node, Mapping):
        node.value.clear()  # from here each task's nodes live in raw_tasks only (see below)
    tasks: dict[str, TaskDef] = {}
    for i, (task_id, knode, f, phrase) in enumerate(raw_tasks):
        raw_tasks[i] = None  # let its nodes go: bounds memory on big plans
        tasks[task_id] = _task(ctx, task_id, knode, f, phrase)
    _warn_late_dependencies(r, tasks)
    return tasks


def _task(ctx: _Context, task_id: str, knode: Node, f: dict[str, Node], phrase) -> TaskDef:
    r, key = ctx.r, f"tasks.{task_id}"
    if "title" in f:
        title = r.text(f["title"], f"{key}.title", required=True)
    else:
        title = None
        r.problem(knode, f"{key}.title", _("is required: the task's title"))
    if "lead" not in f:
        r.problem(knode, f"{key}.lead", _("is required: the lead agency (chủ trì)"))
    for_each = r.text(f.get("for_each"), f"{key}.for_each")
    if for_each is not None and for_each not in ctx.units:
        r.problem(f.get("for_each"), f"{key}.for_each", _('unknown unit list "{units}"; known: '
                                                          "{known}").format(
            units=for_each, known=", ".join(ctx.units) or _("none (declare them under units:)")))
    lead, co_leads, lead_each = _leads(ctx, f, key, for_each)
    approver, named = _approver(ctx, f, key, knode, lead, co_leads)
    due = read_due(r, f, key, phrase, ctx.period)
    check_after(r, key, task_id, due, ctx.known, ctx.recurring)
    repeat = due.repeat
    if "repeat" in f:
        repeat = read_repeat(r, f["repeat"], f"{key}.repeat")
        if "due" in f and not (due.deadline and due.deadline.recurrence):
            r.problem(f["due"], f"{key}.due", _("a recurring task has no single due date: "
                                                "each occurrence is due on its own day"))
    if repeat is not None and for_each is not None:
        r.problem(f.get("repeat", f.get("due")), f"{key}.repeat", _(
            "for_each and a recurrence together are not supported yet; split the task"))
    return TaskDef(
        id=task_id, title=title or "", lead=lead or "",
        support=_support(ctx, f, key, (lead, *co_leads)), approver=approver or "",
        approver_named=named is not None,
        depends_on=_depends(ctx, f, key, task_id), due=due.due, start=due.start,
        ref=r.text(f.get("ref"), f"{key}.ref"), note=r.text(f.get("note"), f"{key}.note"),
        due_text=due.due_text, line=knode.line, for_each=for_each, lead_each=lead_each,
        repeat=repeat, co_leads=co_leads, no_date_reason=due.no_date_reason,
        due_after=due.due_after, due_within=due.due_within if due.due_after else None,
        deadline=due.deadline, **read_clocks(r, f, key),
    )


def _leads(ctx: _Context, f: dict[str, Node], key: str, for_each: str | None
           ) -> tuple[str | None, tuple[str, ...], bool]:
    r, lead_node, co_leads = ctx.r, f.get("lead"), []
    if isinstance(lead_node, Sequence):  # joint leads: the first heads the chain
        leads = r.text_list(lead_node, f"{key}.lead")
        if not leads:
            r.problem(lead_node, f"{key}.lead", _("list at least one agency"))
        for raw, item in leads[1:]:
            if (ref := ctx.agency_ref(raw, item, f"{key}.lead")) and ref not in co_leads:
                co_leads.append(ref)
        lead_node = leads[0][1] if leads else None
    lead_raw = r.text(lead_node, f"{key}.lead", required="lead" in f and lead_node is not None)
    lead_each = lead_raw is not None and lead_raw.casefold() == LEAD_EACH
    if lead_each and for_each is None:
        r.problem(f.get("lead"), f"{key}.lead", _('"each" needs for_each: the units lead'))
    elif lead_each and co_leads:
        r.problem(f.get("lead"), f"{key}.lead", _('"each" leads alone: each unit leads its own '
                                                  "instance; list the other agencies under "
                                                  "support"))
    lead = None if lead_each else ctx.agency_ref(lead_raw, lead_node, f"{key}.lead")
    return lead, tuple(c for c in co_leads if c != lead), lead_each


def _support(ctx: _Context, f: dict[str, Node], key: str,
             leads: tuple[str | None, ...]) -> tuple[str, ...]:
    support: list[str] = []
    for raw, item in ctx.r.text_list(f.get("support"), f"{key}.support"):
        ref = ctx.agency_ref(raw, item, f"{key}.support")
        if ref is None:
            continue
        if ref in leads:
            ctx.r.warn(item, f"{key}.support",
                       _('"{agency}" is the lead; ignored as support').format(agency=raw))
        elif ref in support:
            ctx.r.warn(item, f"{key}.support", _('"{agency}" listed twice').format(agency=raw))
        else:
            support.append(ref)
    return tuple(support)


def _approver(ctx: _Context, f: dict[str, Node], key: str, knode: Node, lead: str | None,
              co_leads: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """The named approver, else the coordinator, else (when the coordinator leads, jointly or
    alone) the issuer: none of a task's leads approves it."""
    r, leads = ctx.r, (lead, *co_leads)
    named = r.text(f.get("approver"), f"{key}.approver")
    approver = ctx.agency_ref(named, f.get("approver"), f"{key}.approver")
    if named is None:
        approver = ctx.coordinator if ctx.coordinator not in leads else ctx.issuer
        if lead is not None and approver in leads:
            if co_leads:
                r.problem(knode, key, _('nobody may approve this task: its leads include both '
                                        'coordinator "{coordinator}" and issuer "{issuer}"; name '
                                        "an approver").format(coordinator=ctx.coordinator,
                                                              issuer=ctx.issuer))
            else:
                r.problem(knode, key, _('nobody may approve this task: its lead "{lead}" is both '
                                        "coordinator and issuer; name an approver").format(
                                            lead=lead))
    elif approver is not None and approver in leads:
        r.problem(f.get("approver"), f"{key}.approver",
                  _('"{approver}" is one of the joint leads, and no lead may approve its own '
                    "work; name another agency").format(approver=approver) if co_leads
                  else _("the lead may not approve its own work; name another agency"))
    return approver, named


def _depends(ctx: _Context, f: dict[str, Node], key: str, task_id: str) -> tuple[str, ...]:
    depends: list[str] = []
    for raw, item in ctx.r.text_list(f.get("depends_on"), f"{key}.depends_on"):
        if raw not in ctx.known:
            others = ", ".join(t for t in ctx.known if t != task_id)
            ctx.r.problem(item, f"{key}.depends_on", _('task "{task}" depends on unknown task '
                                                       '"{dependency}"; known: {known}').format(
                task=task_id, dependency=raw, known=others))
        elif raw in ctx.recurring:
            ctx.r.problem(item, f"{key}.depends_on", _('"{dependency}" recurs: a task cannot wait '
                                                       "on every occurrence of a recurring task")
                          .format(dependency=raw))
        elif raw not in depends:
            depends.append(raw)
    return tuple(depends)


def _warn_late_dependencies(r: Reader, tasks: dict[str, TaskDef]) -> None:
    for t in tasks.values():
        for dep in t.depends_on:
            d = tasks.get(dep)
            if d and d.due and t.due and d.due > t.due:
                r.warn(None, f"tasks.{t.id}.depends_on", _('"{dependency}" is due {due}, after '
                                                           "this task ({own})").format(
                    dependency=dep, due=d.due.isoformat(), own=t.due.isoformat()))


__all__ = ["CLOCK_KEYS", "TASK_KEYS", "read_tasks"]
