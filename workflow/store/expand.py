"""A plan definition → the rows that run it: plain tasks, fanned-out groups and their instances.

``for_each: huyen`` makes a group row ``task`` (never moved itself: it rolls up) and one
instance ``task/unit`` per unit, each its own state machine. With ``lead: each`` the unit's
agency leads its instance; otherwise the task's lead does and the unit's agency supports.

Dependencies: between two tasks fanned out over the same list, unit by unit (district A's
inventory unlocks district A's handover); otherwise on the whole task (a fanned-out dependency
is done when its group rolls up to approved, i.e. every instance is approved).

Rows are yielded in batches so a plan of 100,000 instances never sits in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import Any

from workflow.plan.definitions import LEAD_EACH, Plan, TaskDef, Unit
from workflow.rules.clocks import plan_settings, task_clock
from workflow.rules.kinds import Kind
from workflow.rules.lifecycle import Settings, new_task
from workflow.rules.recurrence import next_create_at, rule_json

BATCH = 1000


@lru_cache(maxsize=65536)
def _dumps(items: tuple[str, ...]) -> str:
    """JSON of a tuple of ids; cached, since most rows share their lists."""
    return json.dumps(list(items), ensure_ascii=False)


def edges(plan: Plan, t: TaskDef, unit: str | None) -> list[str]:
    out = []
    for d in t.depends_on:
        dep = plan.tasks[d]
        paired = unit is not None and dep.for_each is not None and dep.for_each == t.for_each
        out.append(f"{d}/{unit}" if paired else d)
    return out


def _approver(plan: Plan, t: TaskDef, lead: str) -> str:
    """As the definition reads it (``plan.tasks``): none of the task's leads approves it."""
    if t.approver_named:
        return t.approver
    return plan.coordinator if plan.coordinator not in (lead, *t.co_leads) else plan.issuer


def task_rows(plan: Plan, plan_row: Settings, now_u: datetime) -> Iterator[dict[str, Any]]:
    """Every row of the plan, in definition order; a fanned-out task's instances follow it."""

    def row(t: TaskDef, position: int, deps: int, **over: Any) -> dict[str, Any]:
        values = {
            "plan_id": plan.id, "task_id": t.id, "position": position, "kind": Kind.TASK.value,
            "parent": None, "unit": None, "title": t.title, "ref": t.ref, "note": t.note,
            "lead": t.lead, "co_leads": _dumps(t.co_leads), "support": _dumps(t.support),
            "approver": t.approver,
            "depends_on": _dumps(t.depends_on), "due": t.due, "original_due": t.due,
            "due_text": t.due_text, "start": t.start, "rule": None,
            "next_create_at": None, "due_after": t.due_after,
            "due_within": str(t.due_within) if t.due_within else None,
            "clock": task_clock(t.stall_after, t.step_after, t.remind_before),
        }
        values.update(over)
        values.update(new_task(kind=values["kind"], due=t.due, start=t.start, open_deps=deps,
                               at=now_u, settings=plan_row, clock=values["clock"]))
        return values

    for position, t in enumerate(plan.tasks.values()):
        deps = len(t.depends_on)
        if t.repeat is not None:
            yield row(t, position, deps, kind=Kind.GROUP.value, rule=rule_json(t.repeat),
                      next_create_at=next_create_at(t.repeat, None, plan_row.timezone))
        elif t.for_each is None:
            yield row(t, position, deps)
        else:
            yield row(t, position, deps, kind=Kind.GROUP.value,
                      # `lead: each`: the group's lead is "each" (no agency leads the whole;
                      # `tasks --lead A` lists A's own instances, never the group).
                      lead=LEAD_EACH if t.lead_each else t.lead,
                      approver=t.approver or plan.coordinator)
            # One instance per unit: everything but the unit's own fields is shared.
            shared = row(t, position, deps, kind=Kind.INSTANCE.value, parent=t.id)
            for unit in plan.units[t.for_each].values():
                values = dict(shared)
                values.update(instance_fields(plan, t, unit))
                yield values


def instance_fields(plan: Plan, t: TaskDef, unit: Unit) -> dict[str, Any]:
    lead = unit.agency if t.lead_each else t.lead
    leads = (lead, *t.co_leads)  # joint leads lead every instance (`lead: each` has none)
    support = tuple(s for s in t.support if s not in leads)
    if not t.lead_each and unit.agency not in support and unit.agency not in leads:
        support = (*support, unit.agency)
    return {
        "task_id": f"{t.id}/{unit.id}", "kind": Kind.INSTANCE.value, "parent": t.id,
        "unit": unit.id,
        "title": f"{t.title} — {unit.name}", "lead": lead, "support": _dumps(support),
        "approver": _approver(plan, t, lead),
        "depends_on": _dumps(tuple(edges(plan, t, unit.id))),
    }


def dependency_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for t in plan.tasks.values():
        if t.repeat is not None:
            continue  # each occurrence gets its edges when it is created
        units = list(plan.units[t.for_each]) if t.for_each else [None]
        for unit in units:
            task_id = f"{t.id}/{unit}" if unit else t.id
            for d in edges(plan, t, unit):
                yield {"plan_id": plan.id, "task_id": task_id, "depends_on": d}


def unit_rows(plan: Plan) -> list[dict[str, Any]]:
    return [{"plan_id": plan.id, "list_id": lid, "id": u.id, "name": u.name,
             "agency": u.agency, "position": i}
            for lid, units in plan.units.items() for i, u in enumerate(units.values())]


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict]]:
    while batch := list(islice(rows, size)):
        yield batch


def plan_columns(plan: Plan) -> dict[str, Any]:
    """The plan's own row (without the columns the store keeps: loaded_at and the head)."""
    return {
        "id": plan.id, "title": plan.title, "issuer": plan.issuer,
        "coordinator": plan.coordinator, "timezone": plan.timezone,
        "stall_after": int(plan.stall_after.total_seconds()),
        "step_after": int(plan.step_after.total_seconds()), "digest": plan.digest,
        # Only the settings no column holds: the delivery channel, the clocks in working days or
        # "never", the calendar (``rules.clocks``) and the tasks some deadline follows. The whole
        # canonical definition is in the load and upgrade events; kept here it made every update
        # of this row rewrite megabytes.
        "definition": json.dumps(stored_settings(plan), ensure_ascii=False, sort_keys=True),
        "source": plan.source,
    }


def stored_settings(plan: Plan) -> dict[str, Any]:
    """What ``wf_plan.definition`` keeps: the delivery channel, the plan's clocks and calendar
    (``clocks.plan_settings``) and the tasks some deadline follows (so approving any other task
    looks nothing up; ``lookup.plan_settings`` reads them)."""
    out: dict[str, Any] = {"notify": plan.notify} if plan.notify else {}
    return out | plan_settings(plan) | {
        "follows": sorted({t.due_after for t in plan.tasks.values() if t.due_after})}


def agency_rows(plan: Plan) -> list[dict[str, Any]]:
    return [{"plan_id": plan.id, "id": a.id, "name": a.name,
             "aliases": json.dumps(list(a.aliases), ensure_ascii=False)}
            for a in plan.agencies.values()]
