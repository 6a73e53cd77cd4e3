"""``validate --explain``: what each task's deadline phrase and clocks were read as.

``explain_plan`` gives the data (``--json``, in English whatever the language); ``render_explain``
the text, one task a line or two, in the interface's language (``validation``, the text of
``validate``, is here too, so that ``workflow.views.render`` and the commands using it do not
import the plan reader):

    quyet-toan-2023  "trước ngày 20/4/2024"
        due 2024-04-19 (the day before 20/4/2024)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workflow.i18n import DEFAULT, N_, _, language, ngettext
from workflow.plan.dates import Deadline, Duration, explain
from workflow.plan.model import Plan, TaskDef
from workflow.plan.taskdue import CLOCK_KEYS

_WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
             N_("Saturday"), N_("Sunday"))
_EVERY = {"weekly": N_("weekly"), "monthly": N_("monthly"), "quarterly": N_("quarterly"),
          "yearly": N_("yearly")}


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
        return "recurring", _repeat(t.repeat.canonical())
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


def _repeat(r: dict[str, Any], tr: Callable[[str], str] = str) -> str:
    """A recurrence (``Repeat.canonical()``) said in English (``tr=str``: the JSON's reading) or,
    with ``tr=_``, in the interface's language."""
    if r["every"] == "weekly":
        when = tr(N_("each {weekday}")).format(weekday=tr(_WEEKDAYS[r["weekday"] or 0]))
    elif r["every"] == "monthly":
        when = (tr(N_("the last day of each month")) if r["day"] == 31
                else tr(N_("day {day} of each month")).format(day=r["day"]))
    else:
        when = tr(N_("{days} each year")).format(days=tr(N_(" and ")).join(
            tr(N_("end of month {month}")).format(month=m) if d == 31 else f"{d}/{m}"
            for d, m in r["days"]))
    bounds = tr(N_(", from {first}")).format(first=r["from"]) if r["from"] else ""
    bounds += (tr(N_(" until {until}")).format(until=r["until"]) if r["until"]
               else tr(N_(", open-ended")))
    return tr(N_("recurring {every}: due {when}{bounds}")).format(
        every=tr(_EVERY.get(r["every"], r["every"])), when=when, bounds=bounds)


def _duration(d: Duration | None) -> str:
    if d is None:
        return "?"
    unit = {"wd": "working day", "d": "day", "w": "week", "h": "hour"}.get(d.unit, d.unit)
    return f"{d.amount} {unit}{'s' * (d.amount != 1)}"


def _days(td) -> str:
    seconds = int(td.total_seconds())
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else f"{seconds // 3600}h"


CLOCKS = {"stall_after": N_("stall after {clock}"), "step_after": N_("step after {clock}"),
          "remind_before": N_("remind {clock} before")}
# A clock switched off, said whole: "stall after never" reads as nothing in Vietnamese.
NEVER = {"stall_after": N_("stall after never"), "step_after": N_("step after never"),
         "remind_before": N_("remind never before")}
# A reading said again from the data's parts, in a language other than English.
READINGS = {"due": N_("due {due}"), "window": N_("from {start} to {due}"),
            "start": N_("starts {start}, no due date"), "none": N_("no due date (none given)"),
            "no date": N_("no date: {reason}"),
            "relative": N_("{within} after {after} is approved")}


def render_explain(data: dict[str, Any]) -> str:
    """The text of ``validate --explain`` for one plan."""
    esc = data["escalation"]
    lines = [_("plan {plan}: {clocks}").format(plan=data["plan"], clocks=_clocks(
        {k: esc[k] for k in CLOCKS if esc.get(k)}))]
    if data["period"]:
        lines.append("  " + _("period: {period}").format(period=data["period"]))
    cal = data["calendar"]
    if cal["days_off"] or cal["working_days"]:
        lines.append("  " + _("calendar: days off {off}; working days {on}").format(
            off=", ".join(cal["days_off"]) or "-", on=", ".join(cal["working_days"]) or "-"))
    for t in data["tasks"]:
        phrase = f'  "{t["phrase"]}"' if t["phrase"] else ""
        group = ("  " + _("(one per unit of {group})").format(group=t["for_each"])
                 if t.get("for_each") else "")
        lines.append(f"{t['task']}{phrase}{group}")
        lines.append(f"    {_reading_text(t)}")
        if t["clocks"]:
            lines.append("    " + _clocks(t["clocks"]))
    return "\n".join(lines)


def _reading_text(t: dict[str, Any]) -> str:
    """The reading in the interface's language: in English the data's own (with the words the
    date was read from); otherwise said again from its parts."""
    if language() == DEFAULT or t["kind"] not in (*READINGS, "recurring"):
        return t["reading"]
    if t["kind"] == "recurring":
        return _repeat(t["recurrence"], _)
    return _(READINGS[t["kind"]]).format(
        due=t["due"], start=t["start"], reason=t.get("no_date_reason"), after=t.get("after"),
        within=_clock(t.get("within") or "?"))


def _clocks(clocks: dict[str, str]) -> str:
    """``stall after 7d, step after 3d`` in the interface's language."""
    return ", ".join(_(NEVER[k]) if v == "never" else _(CLOCKS[k]).format(clock=_clock(v))
                     for k, v in clocks.items() if k in CLOCKS)


def _clock(value: str) -> str:
    """``15wd`` as ``15 working days`` in the interface's language; English keeps the data's
    own short form (``7d``), as the definition writes it."""
    found = re.fullmatch(r"(\d+)(wd|d|w|h)", value)
    if language() == DEFAULT or not found:
        return value
    n = int(found[1])
    return {"wd": lambda: ngettext("{n} working day", "{n} working days", n),
            "d": lambda: ngettext("{n} day", "{n} days", n),
            "w": lambda: ngettext("{n} week", "{n} weeks", n),
            "h": lambda: ngettext("{n} hour", "{n} hours", n)}[found[2]]().format(n=n)


def validation(results: list[dict[str, Any]]) -> str | None:
    """``workflow validate``: a line per valid file and its warnings (errors go to stderr)."""
    lines = []
    for r in results:
        if r["valid"]:
            lines.append(_("ok  {file}: plan {plan}, {tasks}, {agencies}").format(
                file=r["file"], plan=r["plan"],
                tasks=ngettext("{n} task", "{n} tasks", r["tasks"]).format(n=r["tasks"]),
                agencies=ngettext("{n} agency", "{n} agencies", r["agencies"]).format(
                    n=r["agencies"])))
            lines += ["    " + _("warning: {text}").format(text=w) for w in r["warnings"]]
            if "explain" in r:  # validate --explain
                lines.append(render_explain(r["explain"]))
    return "\n".join(lines) if lines else None
