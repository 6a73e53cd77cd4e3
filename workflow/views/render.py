"""Plain-text views for people: returns strings, prints nothing.

Vietnamese text is kept whole (NFC, so one letter is one column); long titles wrap under their
row so every line fits an 80-column terminal. Every word is in the interface's language
(``workflow.i18n``; states, events and reasons through ``words``); ids and data stay as they are.
"""

from __future__ import annotations

import textwrap
from typing import Any

from workflow.i18n import N_, _, ngettext
from workflow.plan.names import LEAD_EACH
from workflow.rules.kinds import ESCALATION_EVENTS, EventKind, Kind
from workflow.rules.kinds import State as TaskState
from workflow.views import words
from workflow.views.results import (  # noqa: F401 (the command line finds them here)
    ARROW,
    action_line,
    change_lines,
    copied,
    extended,
    granted,
    loaded,
    member_change,
    member_list,
    moved,
    moved_many,
    swept,
    upgraded_schema,
    verified,
)

WIDTH = 80


def wrap(text: str | None, indent: str = "    ", width: int = WIDTH) -> list[str]:
    if not text:
        return []
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False)


def lead_text(t: dict[str, Any], named: bool = False) -> str:
    """A group whose units each lead their own instance has no one lead: say so. ``named``:
    each lead's name beside its id."""
    lead = t["lead"]
    if t.get("kind") == Kind.GROUP and lead == LEAD_EACH:
        return _("each unit")
    if named:
        return _named(lead, t.get("lead_name"))
    return ", ".join(lead) if isinstance(lead, list) else lead


def _lead_cell(t: dict[str, Any]) -> str:
    """The table's lead: joint leads as the first and how many more (``so-y-te +1``)."""
    lead = t["lead"]
    if isinstance(lead, list) and len(lead) > 1:
        more = f" +{len(lead) - 1}"
        return clip(lead[0], LEAD_WIDTH - len(more)) + more
    return clip(lead_text(t), LEAD_WIDTH)


def _counts(counts: dict[str, int]) -> str:
    """``3 assigned, 1 approved``: how many tasks are in each state (those with any)."""
    return ", ".join(f"{n} {words.state(s)}" for s, n in counts.items() if n)


def _flags(t: dict[str, Any]) -> str:
    flags = []
    if t.get("instances"):
        flags.append(_counts(t["instances"]))
    if t.get("overdue"):
        flags.append(_overdue(t))
    if t.get("escalation_level"):
        flags.append(_("escalated L{level} → {agency}").format(level=t["escalation_level"],
                                                                agency=t["escalated_to"]))
    return "  ".join(flags)


def _overdue(t: dict[str, Any]) -> str:
    """OVERDUE, and who must act when it is not the lead (a report awaiting approval)."""
    if t["state"] == TaskState.REPORTED and t.get("must_act"):
        return _("OVERDUE, awaiting approval by {agency}").format(agency=t["must_act"])
    return _("OVERDUE")


REF_WIDTH, LEAD_WIDTH = 9, 12  # the id takes what is left of 79 columns, flags if they fit


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, cut with … when longer."""
    return text if len(text) <= width else text[:width - 1] + "…"


def task_table(tasks: list[dict[str, Any]]) -> str:
    """A row per task (id, the document's numbering, state, lead, due, flags), its title
    below, in 80 columns: an id too long for the row gets a line of its own (whole, to copy
    into a command) above it; a long numbering or lead is cut with …; flags that do not fit
    go on a line below."""
    if not tasks:
        return _("no tasks match")
    h_id, h_ref, h_state, h_lead, h_due = (_("id"), _("ref"), _("state"), _("lead"), _("due"))
    refs = any(t.get("ref") for t in tasks)
    rw = max(min(max(len(t.get("ref") or "") for t in tasks), REF_WIDTH), len(h_ref))
    sw = max(len(h_state), *(len(words.state(s)) for s in words.STATE))
    room = WIDTH - 3 - (rw + 2 if refs else 0) - (sw + 2 + LEAD_WIDTH + 2 + 10)
    idw = max([len(h_id)] + [len(t["id"]) for t in tasks if len(t["id"]) <= room])
    lines = [(f"{h_id:<{idw}}  " + (f"{h_ref:<{rw}}  " if refs else "")
              + f"{h_state:<{sw}}  {h_lead:<{LEAD_WIDTH}}  {h_due}")]
    for t in tasks:
        task_id = t["id"]
        if len(task_id) > idw:
            lines.append(task_id)
            task_id = ""
        head = (f"{task_id:<{idw}}  " + (f"{clip(t.get('ref') or '-', rw):<{rw}}  " if refs
                                         else "")
                + f"{words.state(t['state']):<{sw}}  "
                  f"{_lead_cell(t):<{LEAD_WIDTH}}  {t['due'] or '-':<10}")
        flags = _flags(t)
        if flags and len(head) + 2 + len(flags) <= WIDTH:
            head, flags = f"{head}  {flags}", ""
        lines.append(head.rstrip())
        if flags:
            lines.append(f"    {flags}")
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


def _due(t: dict[str, Any]) -> str:
    """The date, then the definition's words when they say more than the date ("Quý III/2024"),
    the due before an extension, and OVERDUE."""
    due, phrase = t["due"], (t.get("due_text") or "").strip()
    out = due or "-"
    if t.get("due_after"):  # "15 working days after quyet-toan-2023 is approved"
        follows = follows_text(t["due_after"], t["due_within"])
        out = f"{due}  ({follows})" if due else follows
    if phrase and not _same_day(phrase, due) and not _same_day(phrase, t.get("original_due")):
        out += f"  ({phrase})"
    if t.get("original_due") and t["original_due"] != due:
        out += "  " + _("(extended; was {due})").format(due=t["original_due"])
    return out + (f"  ({_overdue(t)})" if t["overdue"] else "")


def follows_text(after: str, within: str) -> str:
    """``15wd`` after ``a``: "15 working days after a is approved"."""
    amount, unit = int(within.rstrip("dw")), within.lstrip("0123456789")
    span = {"wd": ngettext("{n} working day", "{n} working days", amount),
            "d": ngettext("{n} day", "{n} days", amount),
            "w": ngettext("{n} week", "{n} weeks", amount)}[unit].format(n=amount)
    return _("{span} after {task} is approved").format(span=span, task=after)


def _same_day(words: str, due: str | None) -> bool:
    """"2024-06-30", "30/6/2024" and "30/06/2024" are the date itself, not more words."""
    if due is None:
        return False
    y, m, d = due.split("-")
    return words in (due, f"{int(d)}/{int(m)}/{y}", f"{d}/{m}/{y}")


# What a dependency waits for (``show --json`` says it in English, as data).
WAITS_FOR = {"the same unit": N_("the same unit"), "every instance": N_("every instance"),
             "the task": N_("the task")}


def _label(label: str, value: str, width: int = 14) -> list[str]:
    """``  due:          2024-06-30``: a label, then its value wrapped under itself."""
    return textwrap.wrap(value, width=WIDTH, initial_indent=f"  {label + ':':<{width}}",
                         subsequent_indent=" " * (width + 2), break_long_words=False,
                         break_on_hyphens=False)


def task_view(t: dict[str, Any]) -> str:
    lines = [_("{task}  [{state}]  plan {plan}").format(
        task=t["id"], state=words.state(t["state"]), plan=t["plan"])]
    lines.extend(wrap(t["title"], indent="  "))
    rows = [
        (_("ref"), t.get("ref")),
        (_("lead"), lead_text(t, named=True)),
        (_("support"), ", ".join(_named(a, n) for a, n in zip(
            t["support"], t.get("support_names") or [None] * len(t["support"]), strict=True))
         or "-"),
        (_("approver"), _named(t["approver"], t.get("approver_name"))),
        (_("due"), _due(t)),
        (_("start date"), t.get("start")),
        (_("blocked from"), t.get("blocked_from") and words.state(t["blocked_from"])),
        (_("instances"), _counts(t.get("instances") or {})),
        (_("stall clock"), _stall(t.get("stall"))),
    ]
    width = max(14, *(len(k) + 2 for k, v in rows if v))
    lines += [ln for k, v in rows[:-1] if v for ln in _label(k, v, width)]
    if t.get("note"):
        lines += wrap(_("note: {note}").format(note=t["note"]), indent="  ")
    lines += _label(*rows[-1], width) if rows[-1][1] else []
    if t["dependencies"]:
        lines.append("  " + _("depends on:"))
        sw = max(12, *(len(words.state(s)) + 1 for s in words.STATE))
        lines += [f"    {d['id']:<30} {words.state(d['state'] or '-'):<{sw}} " + _(
            "(waits for {what})").format(what=_(WAITS_FOR.get(d["waits_for"], d["waits_for"])))
            for d in t["dependencies"]]
    esc = t.get("escalation")
    lines += _label(_("escalation"), _("level {level} → {agency} ({reason}, since {since})").format(
        level=esc["level"], agency=esc["escalated_to"], reason=words.reason(esc["reason"]),
        since=esc["since"][:16].replace("T", " ")) if esc else _("none"), width)
    if t.get("last_moves"):
        lines.append("  " + _("last moves:"))
        lines += [f"    {event_line(e, with_task=False)}" for e in t["last_moves"]]
    return "\n".join(lines)


def _stall(s: dict[str, Any] | None) -> str | None:
    """When the task stalls without a move, or why it never does; and a holiday pause."""
    if not s:
        return None
    if s["at"]:
        text = _("stalls {at} without a move ({after})").format(
            at=s["at"][:16].replace("T", " "), after=s["after"])
    elif s["off"] == "never":
        text = _("never stalls (stall_after: never)")
    elif s["off"] == "no due date":
        text = _("does not stall: no due date and no stall_after of its own")
    else:
        return None  # waiting for dependencies or its start, or done
    if s["paused"]:  # "paused for Tết Nguyên Đán: no working day ..."
        text += f"; {s['paused']}"
    return text


def _pad(kinds: Any, least: int) -> int:
    """The column an event word takes: the longest of ``kinds`` in the interface's language."""
    return max(least, *(len(words.event(k)) for k in kinds))


def event_line(e: dict[str, Any], *, with_task: bool = True) -> str:
    at = (e["at"] or "")[:16].replace("T", " ")
    task = f"{e['task'] or '-':<22} " if with_task else ""
    kind = words.event(e["event"])
    if e["event"] in ESCALATION_EVENTS:
        what = f"{kind:<{_pad(ESCALATION_EVENTS, 20)}} " + _(
            "L{level} → {agency} ({reason})").format(
            level=e["level"], agency=e["escalated_to"], reason=words.reason(e["reason"] or ""))
    elif e["event"] in (EventKind.LOAD, EventKind.UPGRADE):
        what = f"{kind:<20} " + _("by {person}").format(person=e["person"] or "-") + (
            _(" for {agency}").format(agency=e["actor"]) if e["actor"] else "")
    elif e["event"] in (EventKind.MEMBER_ADDED, EventKind.MEMBER_REMOVED):
        what = f"{kind:<20} " + _("by {person} for {agency}").format(
            person=e["person"] or "-", agency=e["actor"])
    elif e["event"] == EventKind.EXTEND:
        what = f"{kind:<20} " + _("due {old} {arrow} {new} by {actor}").format(
            old=e.get("old_due"), arrow=ARROW, new=e.get("new_due"), actor=e["actor"]) + (
            "" if e.get("in_time", True) else _(" (late: not on time)"))
    elif e["event"] == EventKind.REMINDER:
        what = f"{kind:<20} {ARROW} {e['escalated_to']}"
    elif e["event"] == EventKind.DUE_FIXED:
        what = kind
    else:
        what = f"{kind:<{_pad(('start', 'report', 'block'), 8)}} " + _(
            "{old} → {new} by {agency}").format(
            old=words.state(e["from"] or "-"), new=words.state(e["to"] or "-"),
            agency=e["actor"])
    line = f"{e['seq']:>4}  {at}  {task}{what}"
    note = e.get("note")
    if note and e["event"] not in ESCALATION_EVENTS:
        if "\n" not in note and len(line) + len(note) + 2 <= WIDTH:
            line = f"{line}: {note}"
        else:  # a note's own lines stay lines, each indented under its event: no note line
            # can pass for an event line of its own
            line = "\n".join([line, *(w for part in note.split("\n")
                                       for w in wrap(part, indent=" " * 8))])
    return "\n".join([line, *change_lines(e.get("changes") or [], " " * 8)])


def plans_table(plans: list[dict[str, Any]]) -> str:
    if not plans:
        return _("no plans loaded (workflow load FILE)")
    lines = []
    for p in plans:
        line = f"{p['id']}  " + ngettext("{n} task", "{n} tasks", p["tasks"]).format(
            n=p["tasks"]) + ": " + _counts(p["counts"])
        if p["overdue"]:
            line += "; " + _("{n} overdue").format(n=p["overdue"])
        if p["escalated"]:
            line += "; " + _("{n} escalated").format(n=p["escalated"])
        lines.append(line)
        lines.extend(wrap(p["title"]))
    return "\n".join(lines)


# The summary's columns, 16 + 8 x 8 = 80: a heading longer than 7 columns takes two lines.
SUMMARY_COLUMNS = (("tasks", N_("tasks")), ("approved", N_("done")), ("on_time", N_("on time")),
                   ("done_late", N_("late")), ("overdue", N_("overdue")),
                   ("not_yet_due", N_("not due")), ("blocked", N_("blocked")),
                   ("escalated", N_("escal.")))
SUMMARY_BY = {"agency": N_("lead agency"), "task": N_("task"), "unit": N_("unit")}


def _headings(label: str, titles: list[str]) -> list[str]:
    """The summary's heading lines, aligned at the bottom: one when every title fits its 7
    columns; else each wraps in 6, so that two titles never run together."""
    if all(len(t) <= 7 for t in titles):
        cells = [[t] for t in titles]
    else:
        cells = [textwrap.wrap(t, 6) for t in titles]
    depth = max(len(c) for c in cells)
    cells = [[""] * (depth - len(c)) + c for c in cells]
    return [(f"{label:<16}" if row == depth - 1 else " " * 16)
            + "".join(f"{c[row]:>8}" for c in cells) for row in range(depth)]


def summary_table(s: dict[str, Any], names: dict[str, str]) -> str:
    cols = [k for k, _h in SUMMARY_COLUMNS]
    by = s.get("by", "agency")
    lines = [_("plan {plan} at {at}").format(plan=s["plan"], at=s["at"][:16].replace("T", " ")),
             *_headings(_(SUMMARY_BY[by]), [_(h) for _k, h in SUMMARY_COLUMNS])]
    for a in s.get("agencies") or s.get("rows") or []:
        name = a[by]
        if len(name) > 16:  # a long id gets a line of its own rather than being cut
            lines.append(name)
            name = ""
        lines.append(f"{name:<16}" + "".join(f"{a[k]:>8}" for k in cols))
        if by == "agency" and names.get(a["agency"]):
            lines.extend(wrap(names[a["agency"]], indent="  ", width=WIDTH))
    everything = _("all")
    lines.append(f"{everything:<16}" + "".join(f"{s['total'][k]:>8}" for k in cols))
    if s.get("approvers"):  # overdue, but the approver's delay: counted against it
        lines.append(_("approvals overdue (reported by the due day, awaiting approval):"))
        for a in s["approvers"]:
            lines.append(f"  {a['agency']:<14}{a['approvals_overdue']:>8}")
            lines.extend(wrap(names.get(a["agency"]), indent="    ", width=WIDTH))
    return "\n".join(lines)


def escalation_table(rows: list[dict[str, Any]]) -> str:
    """A line per open escalation: task, level, agency, reason, age, in 80 columns (an id too
    long for its column gets a line of its own above its row)."""
    if not rows:
        return _("no open escalations")
    rw = max(8, *(len(words.reason(r)) for r in words.REASON))
    cells = [(e["task"], _("L{level} → {agency}").format(level=e["level"], agency=""),
              e["escalated_to"], words.reason(e["reason"]), age(e["age_hours"])) for e in rows]
    lw, aw = max(len(c[1]) for c in cells), max(13, *(len(c[4]) for c in cells))
    room = WIDTH - 1 - (lw + 16 + 1 + rw + 1 + aw + 1)
    tw = max([2] + [len(c[0]) for c in cells if len(c[0]) <= room])
    lines = []
    for task, level, to, reason, when in cells:
        if len(task) > tw:
            lines.append(task)
            task = ""
        lines.append(f"{task:<{tw}} {level}{to:<16} {reason:<{rw}} {when:>{aw}}")
    return "\n".join(lines)


def age(hours: float) -> str:
    """An age as a person says it: ``76 days 2 hours``, ``1 day 0 hours``, ``5 hours`` (whole
    hours; ``76 ngày 2 giờ`` in Vietnamese)."""
    days, rest = divmod(max(int(hours), 0), 24)
    said = ngettext("{n} hour", "{n} hours", rest).format(n=rest)
    return (ngettext("{n} day", "{n} days", days).format(n=days) + " " + said) if days else said
