"""The Gantt chart as HTML rows of inline SVG: one bar per task or group from its start (or
the plan's load day) to its due day, marks on its report and approval days, coloured by state,
a line at the day reported on; a group folds its instances in a ``<details>`` element, so the
page needs no script and a plan of thousands of tasks stays readable."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any

from workflow.views.report_data import ReportData
from workflow.views.words import STATE, assessment, day

WIDTH = 1000  # the SVG's own units across; the bar stretches to the column's width


class Scale:
    """Days to x positions between the earliest start and the latest due (or today)."""

    def __init__(self, data: ReportData) -> None:
        days = [data.loaded_on, data.today]
        for t in data.every_task():
            days += [date.fromisoformat(d) for d in (t.get("start"), t.get("due"),
                                                     t.get("original_due")) if d]
        first, last = min(days), max(days)
        self.first = first.replace(day=1)
        self.last = _next_month(last) - timedelta(days=1)
        self.span = (self.last - self.first).days + 1

    def x(self, when: date, end: bool = False) -> float:
        return round(((when - self.first).days + end) * WIDTH / self.span, 2)

    def pct(self, when: date) -> float:
        return round(self.x(when) * 100 / WIDTH, 3)

    def ticks(self) -> list[tuple[date, str]]:
        """Month (or quarter, or year) starts to label, at most about a dozen."""
        months = self.span / 30.4
        step = 1 if months <= 14 else 3 if months <= 40 else 12
        out, when = [], self.first
        while when <= self.last:
            if (when.month - 1) % step == 0:
                text = (f"{when.year}" if step == 12 else f"Q{(when.month + 2) // 3}/{when.year}"
                        if step == 3 else f"T{when.month}/{when.year}")
                out.append((when, text))
            when = _next_month(when)
        return out


def _next_month(when: date) -> date:
    return date(when.year + when.month // 12, when.month % 12 + 1, 1)


def chart(data: ReportData) -> str:
    scale = Scale(data)
    rows = []
    for t in data.tasks:
        row = _row(t, data, scale)
        kids = data.instances.get(t["id"])
        if kids:
            inner = "".join(_row(k, data, scale) for k in kids)
            row = (f'<details class="group" data-task="{escape(t["id"])}">'
                   f'<summary>{row}</summary><div class="kids">{inner}</div></details>')
        rows.append(row)
    return (f'<div class="gantt">{_axis(scale, data)}{"".join(rows)}</div>')


def _axis(scale: Scale, data: ReportData) -> str:
    labels = "".join(f'<span style="left:{scale.pct(d)}%">{escape(text)}</span>'
                     for d, text in scale.ticks())
    today = f'<i class="now" style="left:{scale.pct(data.today)}%"></i>'
    return (f'<div class="row axis"><div class="label">Nhiệm vụ</div>'
            f'<div class="ticks">{labels}{today}</div></div>')


def _row(t: dict[str, Any], data: ReportData, scale: Scale) -> str:
    due = date.fromisoformat(t["due"]) if t.get("due") else None
    start = date.fromisoformat(t["start"]) if t.get("start") else data.loaded_on
    kids = data.instances.get(t["id"], ())
    if kids and due is None:  # a recurring group: from its first to its last occurrence
        dues = [date.fromisoformat(k["due"]) for k in kids if k.get("due")]
        due = max(dues) if dues else None
    state = t["state"]
    x0 = scale.x(min(start, due) if due else start)
    x1 = scale.x(due, end=True) if due else WIDTH
    cls = f"bar s-{state}" + (" late" if t.get("overdue") else "") + ("" if due else " open")
    marks = [f'<rect class="{cls}" x="{x0}" y="5" width="{max(x1 - x0, 2)}" height="12"/>']
    original = t.get("original_due")
    if original and original != t.get("due"):
        xo = scale.x(date.fromisoformat(original), end=True)
        marks.append(f'<line class="orig" x1="{xo}" x2="{xo}" y1="1" y2="21"/>')
    for kind, days in (("rep", data.reported_on), ("app", data.approved_on)):
        when = days.get(t["id"])
        if when:
            xm = scale.x(when)
            marks.append(f'<rect class="mk {kind}" x="{xm}" y="2" width="4" height="18"/>')
    xt = scale.x(data.today, end=True)
    marks.append(f'<line class="now" x1="{xt}" x2="{xt}" y1="0" y2="22"/>')
    return (f'<div class="row" data-task="{escape(t["id"])}" data-state="{state}">'
            f'<div class="label">{_label(t, data, kids)}</div>'
            f'<svg viewBox="0 0 {WIDTH} 22" preserveAspectRatio="none" role="img" '
            f'aria-label="{escape(_aria(t, start, due))}">{"".join(marks)}</svg></div>')


def _label(t: dict[str, Any], data: ReportData, kids: tuple) -> str:
    title = t["title"]
    if t["kind"] == "instance" and " — " in title:
        title = title.rsplit(" — ", 1)[1]  # the task's own title is on its group's row
    ref = f'<b>{escape(t["ref"])}</b> ' if t.get("ref") and t["kind"] != "instance" else ""
    extra = ""
    if kids:
        counts = t.get("instances") or {}
        extra = " · ".join(f"{n} {STATE[s].lower()}" for s, n in counts.items() if n)
        extra = f'<small>{len(kids)} đơn vị: {escape(extra)}</small>'
    elif t["kind"] != "group":
        extra = f"<small>{escape(data.leads(t))} · {STATE[t['state']]} · {assessment(t)}</small>"
    return f'<span title="{escape(t["id"])}">{ref}{escape(title)}</span>{extra}'


def _aria(t: dict[str, Any], start: date, due: date | None) -> str:
    return f"{t['id']}: {STATE[t['state']]}, từ {day(start)} đến {day(due) or 'không thời hạn'}"
