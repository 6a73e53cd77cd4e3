"""``validate --explain``: what each task's deadline phrase and clocks were read as.

``explain_plan`` gives the data (``--json``); ``render_explain`` the text, one task a line
or two, in English like the rest of ``validate`` (whose text, ``validation``, is here too, so
that ``workflow.views.render`` and the commands using it do not import the plan reader):

    quyet-toan-2023  "trước ngày 20/4/2024"
        due 2024-04-19 (the day before 20/4/2024)
"""

from __future__ import annotations

from typing import Any

from workflow.plan.dates import Deadline, Duration, explain
from workflow.plan.model import Plan, Repeat, TaskDef
from workflow.plan.taskdue import CLOCK_KEYS

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def explain_plan(plan: Plan) -> dict[str, Any]:
    """The plan's clocks and, for every task (a fan-out or recurring group once), its reading."""
    return {
        "plan": plan.id,
        "period": explain(plan.period) if plan.period else None,
        "escalation": {"stall_after": str(plan.stall_rule or _days(plan.stall_after)),
                       "step_after": str(plan.step_rule or _days(plan.step_after)),
                       "remind_before": str(plan.remind_before) if plan.remind_before else None},
        "calendar": {"days_off": [d.isoformat() for d in plan.days_off],
                     "working_days": [d.isoformat() for d in plan.working_days]},
        "tasks": [explain_task(t) for t in plan.tasks.values()],
    }


def explain_task(t: TaskDef) -> dict[str, Any]:
    kind, reading = _reading(t)
    out: dict[str, Any] = {"task": t.id, "phrase": t.due_text, "kind": kind,
                           "reading": reading,
                           "start": t.start.isoformat() if t.start else None,
                           "due": t.due.isoformat() if t.due else None}
    if t.no_date_reason:
        out["no_date_reason"] = t.no_date_reason
    if t.repeat:
        out["recurrence"] = t.repeat.canonical()
    if t.due_after:
        out["after"], out["within"] = t.due_after, str(t.due_within)
    if t.for_each:
        out["for_each"] = t.for_each
    out["clocks"] = {k: str(v) for k in CLOCK_KEYS if (v := getattr(t, k)) is not None}
    return out


def _reading(t: TaskDef) -> tuple[str, str]:
    if t.due_after:
        return "relative", f"{_duration(t.due_within)} after {t.due_after} is approved"
    if t.repeat:
        return "recurring", _repeat(t.repeat)
    if t.deadline is not None:
        kind = "no date" if t.no_date_reason else "window" if t.start and t.due else (
            "start" if t.start and not t.due else "due")
        return kind, explain(_with_start(t.deadline, t))
    if t.start:
        return "start", f"starts {t.start}, no due date"
    return "none", "no due date (none given)"


def _with_start(d: Deadline, t: TaskDef) -> Deadline:
    """The phrase's reading, with the task's own ``start:`` where the phrase names none."""
    if t.start and d.start is None and d.due:
        return Deadline(d.text, t.start, d.due, basis=d.basis)
    return d


def _repeat(r: Repeat) -> str:
    if r.every == "weekly":
        when = f"each {_WEEKDAYS[r.weekday or 0]}"
    elif r.every == "monthly":
        when = "the last day of each month" if r.day == 31 else f"day {r.day} of each month"
    else:
        when = " and ".join("end of month " + str(m) if d == 31 else f"{d}/{m}"
                            for d, m in r.days) + " each year"
    bounds = f", from {r.first}" if r.first else ""
    bounds += f" until {r.until}" if r.until else ", open-ended"
    return f"recurring {r.every}: due {when}{bounds}"


def _duration(d: Duration | None) -> str:
    if d is None:
        return "?"
    unit = {"wd": "working day", "d": "day", "w": "week", "h": "hour"}.get(d.unit, d.unit)
    return f"{d.amount} {unit}{'s' * (d.amount != 1)}"


def _days(td) -> str:
    seconds = int(td.total_seconds())
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds // 3600}h"


def render_explain(data: dict[str, Any]) -> str:
    """The text of ``validate --explain`` for one plan."""
    esc = data["escalation"]
    lines = [f"plan {data['plan']}: stall after {esc['stall_after']}, step after "
             f"{esc['step_after']}" + (f", remind {esc['remind_before']} before"
                                       if esc["remind_before"] else "")]
    if data["period"]:
        lines.append(f"  period: {data['period']}")
    cal = data["calendar"]
    if cal["days_off"] or cal["working_days"]:
        lines.append(f"  calendar: days off {', '.join(cal['days_off']) or '-'}; working days "
                     f"{', '.join(cal['working_days']) or '-'}")
    for t in data["tasks"]:
        phrase = f'  "{t["phrase"]}"' if t["phrase"] else ""
        group = f"  (one per unit of {t['for_each']})" if t.get("for_each") else ""
        lines.append(f"{t['task']}{phrase}{group}")
        lines.append(f"    {t['reading']}")
        if t["clocks"]:
            lines.append("    " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                            for k, v in t["clocks"].items()))
    return "\n".join(lines)


def validation(results: list[dict[str, Any]]) -> str | None:
    """``workflow validate``: a line per valid file and its warnings (errors go to stderr)."""
    lines = []
    for r in results:
        if r["valid"]:
            lines.append(f"ok  {r['file']}: plan {r['plan']}, {r['tasks']} tasks, "
                         f"{r['agencies']} agencies")
            lines += [f"    warning: {w}" for w in r["warnings"]]
            if "explain" in r:  # validate --explain
                lines.append(render_explain(r["explain"]))
    return "\n".join(lines) if lines else None
