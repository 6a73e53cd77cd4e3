"""Plain-text views for people: returns strings, prints nothing.

Vietnamese text is kept whole (NFC, so one letter is one column); long titles wrap under their
row so every line fits an 80-column terminal.
"""

from __future__ import annotations

import textwrap
from typing import Any

from workflow.definitions import LEAD_EACH

WIDTH = 80
ARROW = "→"


def wrap(text: str | None, indent: str = "    ", width: int = WIDTH) -> list[str]:
    if not text:
        return []
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False)


def lead_text(t: dict[str, Any], named: bool = False) -> str:
    """A group whose units each lead their own instance has no one lead: say so. ``named``:
    each lead's name beside its id."""
    lead = t["lead"]
    if t.get("kind") == "group" and lead == LEAD_EACH:
        return "each unit"
    if named:
        return _named(lead, t.get("lead_name"))
    return ", ".join(lead) if isinstance(lead, list) else lead


def _flags(t: dict[str, Any]) -> str:
    flags = []
    if t.get("instances"):
        flags.append(", ".join(f"{n} {s}" for s, n in t["instances"].items() if n))
    if t.get("overdue"):
        flags.append("OVERDUE")
    if t.get("escalation_level"):
        flags.append(f"escalated L{t['escalation_level']} {ARROW} {t['escalated_to']}")
    return "  ".join(flags)


def task_table(tasks: list[dict[str, Any]]) -> str:
    if not tasks:
        return "no tasks match"
    idw = min(max(len(t["id"]) for t in tasks), 32)
    lines = []
    for t in tasks:
        head = (f"{t['id']:<{idw}}  {t['state']:<11}  {lead_text(t):<14}  "
                f"{t['due'] or '-':<10}  {_flags(t)}").rstrip()
        lines.append(head)
        title = t["title"]
        if t.get("kind") == "instance" and " — " in title:
            title = "— " + title.rsplit(" — ", 1)[1]  # the task's own title is on its group
        lines.extend(wrap(title))
    return "\n".join(lines)


def _named(agency: str | list[str], name: str | list[str | None] | None) -> str:
    """``so-y-te (Sở Y tế)``; joint leads joined by ", "."""
    if isinstance(agency, list):
        names = name if isinstance(name, list) else [None] * len(agency)
        return ", ".join(_named(a, n) for a, n in zip(agency, names, strict=True))
    return f"{agency} ({name})" if name and name != agency else agency


def task_view(t: dict[str, Any]) -> str:
    lines = [f"{t['id']}  [{t['state']}]  plan {t['plan']}"]
    lines.extend(wrap(t["title"], indent="  "))
    rows = [
        ("ref", t.get("ref")),
        ("lead", lead_text(t, named=True)),
        ("support", ", ".join(_named(a, n) for a, n in zip(
            t["support"], t.get("support_names") or [None] * len(t["support"]), strict=True))
         or "-"),
        ("approver", _named(t["approver"], t.get("approver_name"))),
        ("due", (t["due"] or "-") + ("  (OVERDUE)" if t["overdue"] else "")),
        ("start", t.get("start")),
        ("blocked from", t.get("blocked_from")),
    ]
    for k, v in rows:
        if v:
            lines += textwrap.wrap(v, width=WIDTH, initial_indent=f"  {k + ':':<14}",
                                   subsequent_indent=" " * 16, break_long_words=False,
                                   break_on_hyphens=False)
    if t.get("note"):
        lines += wrap(f"note: {t['note']}", indent="  ")
    if t.get("instances"):
        lines.append("  instances:    " + ", ".join(
            f"{n} {s}" for s, n in t["instances"].items() if n))
    if t["dependencies"]:
        lines.append("  depends on:")
        lines += [f"    {d['id']:<30} {d['state']:<12} (waits for {d['waits_for']})"
                  for d in t["dependencies"]]
    esc = t.get("escalation")
    lines.append("  escalation:   " + (
        f"level {esc['level']} {ARROW} {esc['escalated_to']} ({esc['reason']}, since "
        f"{esc['since'][:16].replace('T', ' ')})" if esc else "none"))
    if t.get("last_moves"):
        lines.append("  last moves:")
        lines += [f"    {event_line(e, with_task=False)}" for e in t["last_moves"]]
    return "\n".join(lines)


def event_line(e: dict[str, Any], *, with_task: bool = True) -> str:
    at = (e["at"] or "")[:16].replace("T", " ")
    task = f"{e['task'] or '-':<22} " if with_task else ""
    if e["event"].startswith("escalation_"):
        what = (f"{e['event']:<20} L{e['level']} {ARROW} {e['escalated_to']} ({e['reason']})")
    elif e["event"] in ("load", "upgrade"):
        what = f"{e['event']:<20} by {e['person'] or '-'}"
    elif e["event"].startswith("member_"):
        what = f"{e['event']:<20} by {e['person'] or '-'} for {e['actor']}"
    else:
        what = f"{e['event']:<8} {e['from']} {ARROW} {e['to']} by {e['actor']}"
    line = f"{e['seq']:>4}  {at}  {task}{what}"
    note = e.get("note")
    if note and not e["event"].startswith("escalation_"):
        if "\n" not in note and len(line) + len(note) + 2 <= WIDTH:
            return f"{line}: {note}"
        # A note's own lines stay lines, each indented under its event: no note line can
        # pass for an event line of its own.
        return "\n".join([line, *(w for part in note.split("\n")
                                   for w in wrap(part, indent=" " * 8))])
    return line


def plans_table(plans: list[dict[str, Any]]) -> str:
    if not plans:
        return "no plans loaded (workflow load FILE)"
    lines = []
    for p in plans:
        c = p["counts"]
        lines.append(f"{p['id']}  {p['tasks']} tasks: " + ", ".join(
            f"{n} {s}" for s, n in c.items() if n) + (
            f"; {p['overdue']} overdue" if p["overdue"] else "") + (
            f"; {p['escalated']} escalated" if p["escalated"] else ""))
        lines.extend(wrap(p["title"]))
    return "\n".join(lines)


def summary_table(s: dict[str, Any], names: dict[str, str]) -> str:
    cols = [("tasks", "tasks"), ("approved", "done"), ("on_time", "on time"),
            ("done_late", "late"), ("overdue", "overdue"), ("not_yet_due", "not due"),
            ("blocked", "blocked"), ("escalated", "escal.")]  # 16 + 8 x 8 = 80 columns
    by = s.get("by", "agency")
    label = {"agency": "lead agency", "task": "task", "unit": "unit"}[by]
    head = f"{label:<16}" + "".join(f"{h:>8}" for _k, h in cols)
    lines = [f"plan {s['plan']} at {s['at'][:16].replace('T', ' ')}", head]
    for a in s.get("agencies") or s.get("rows") or []:
        name = a[by]
        if len(name) > 16:  # a long id gets a line of its own rather than being cut
            lines.append(name)
            name = ""
        lines.append(f"{name:<16}" + "".join(f"{a[k]:>8}" for k, _h in cols))
        if by == "agency" and names.get(a["agency"]):
            lines.extend(wrap(names[a["agency"]], indent="  ", width=WIDTH))
    lines.append(f"{'all':<16}" + "".join(f"{s['total'][k]:>8}" for k, _h in cols))
    return "\n".join(lines)


def action_line(a: dict[str, Any]) -> str:
    return (f"{a['action']:<8} {a['plan']}/{a['task']}  L{a['level']} {ARROW} "
            f"{a['escalated_to']} ({a['reason']})")
