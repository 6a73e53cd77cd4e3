"""Plain-text views for people: returns strings, prints nothing.

Vietnamese text is kept whole (NFC, so one letter is one column); long titles wrap under their
row so every line fits an 80-column terminal.
"""

from __future__ import annotations

import textwrap
from typing import Any

from workflow.plan.names import LEAD_EACH
from workflow.rules.kinds import ESCALATION_EVENTS, EventKind, Kind
from workflow.rules.membership import command, either
from workflow.store.schema import State

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
    if t.get("kind") == Kind.GROUP and lead == LEAD_EACH:
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
        return "no tasks match"
    refs = any(t.get("ref") for t in tasks)
    rw = max(min(max(len(t.get("ref") or "") for t in tasks), REF_WIDTH), 3)
    room = WIDTH - 3 - (rw + 2 if refs else 0) - (11 + 2 + LEAD_WIDTH + 2 + 10)
    idw = max([2] + [len(t["id"]) for t in tasks if len(t["id"]) <= room])
    lines = [(f"{'id':<{idw}}  " + (f"{'ref':<{rw}}  " if refs else "")
              + f"{'state':<11}  {'lead':<{LEAD_WIDTH}}  due")]
    for t in tasks:
        task_id = t["id"]
        if len(task_id) > idw:
            lines.append(task_id)
            task_id = ""
        head = (f"{task_id:<{idw}}  " + (f"{clip(t.get('ref') or '-', rw):<{rw}}  " if refs
                                         else "")
                + f"{t['state']:<11}  {clip(lead_text(t), LEAD_WIDTH):<{LEAD_WIDTH}}  "
                  f"{t['due'] or '-':<10}")
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
    due, words = t["due"], (t.get("due_text") or "").strip()
    out = due or "-"
    if words and not _same_day(words, due):
        out += f"  ({words})"
    if t.get("original_due") and t["original_due"] != due:
        out += f"  (extended; was {t['original_due']})"
    return out + ("  (OVERDUE)" if t["overdue"] else "")


def _same_day(words: str, due: str | None) -> bool:
    """"2024-06-30", "30/6/2024" and "30/06/2024" are the date itself, not more words."""
    if due is None:
        return False
    y, m, d = due.split("-")
    return words in (due, f"{int(d)}/{int(m)}/{y}", f"{d}/{m}/{y}")


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
        ("due", _due(t)),
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
    if e["event"] in ESCALATION_EVENTS:
        what = (f"{e['event']:<20} L{e['level']} {ARROW} {e['escalated_to']} ({e['reason']})")
    elif e["event"] in (EventKind.LOAD, EventKind.UPGRADE):
        what = f"{e['event']:<20} by {e['person'] or '-'}"
    elif e["event"] in (EventKind.MEMBER_ADDED, EventKind.MEMBER_REMOVED):
        what = f"{e['event']:<20} by {e['person'] or '-'} for {e['actor']}"
    else:
        what = f"{e['event']:<8} {e['from']} {ARROW} {e['to']} by {e['actor']}"
    line = f"{e['seq']:>4}  {at}  {task}{what}"
    note = e.get("note")
    if note and e["event"] not in ESCALATION_EVENTS:
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


# --------------------------------------------------------------------------- command results


LOADED = {"created": "loaded", "unchanged": "already loaded, unchanged", "upgraded": "upgraded"}


def loaded(r: dict[str, Any]) -> str:
    text = f"{LOADED[r['status']]}: plan {r['plan']} ({r['tasks']} tasks)"
    if r["changes"]:
        text += "; " + ", ".join(f"{k}: {', '.join(v) or '-'}" for k, v in r["changes"].items())
    return text


def moved(r: dict[str, Any]) -> str:
    text = f"{r['task']}: {r['from']} {ARROW} {r['to']} ({r['event']} by {r['actor']})"
    return text + "".join(f"\n  escalation {action_line(a)}" for a in r["escalations"])


def moved_many(rows: list[dict[str, Any]]) -> str:
    """A pattern's moves: each task's, then what they came to."""
    dry = bool(rows and rows[0]["dry_run"])
    lines = [f"refused {r['task']} ({r['from']}): {r['refused']}" if r.get("refused")
             else ("would move " if dry else "") + moved(r) for r in rows]
    refused = sum(1 for r in rows if r.get("refused"))
    if dry:
        lines.append(f"dry run: {len(rows) - refused} of {len(rows)} tasks would "
                     f"{rows[0]['event']}, {refused} refused; nothing was written")
    else:
        lines.append(f"{_n(len(rows), 'task')} moved in one transaction")
    return "\n".join(lines)


def swept(actions: list[dict[str, Any]]) -> str:
    return "\n".join(action_line(a) for a in actions) or "nothing to do"


def escalation_table(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"{e['task']:<28} L{e['level']} {ARROW} {e['escalated_to']:<16} "
                     f"{e['reason']:<8} {age(e['age_hours']):>13}" for e in rows) or \
        "no open escalations"


def age(hours: float) -> str:
    """An age as a person says it: ``76 days 2 h``, ``1 day 0 h``, ``5 h`` (whole hours)."""
    days, rest = divmod(max(int(hours), 0), 24)
    return f"{_n(days, 'day')} {rest} h" if days else f"{rest} h"


def verified(rows: list[dict[str, Any]], head: str | None) -> str:
    return "\n".join(
        f"ok  {r['plan']}: {r['events']} events verified; head {r['head']}"
        + (f"\n    --head {head.strip().lower()} is event seq {r['head_found_at']}: the "
           "history up to it is intact" if head else "") for r in rows) or "no plans"


def upgraded_schema(r: dict[str, Any]) -> str:
    text = {"created": f"created the schema at revision {r['revision']}",
            "current": f"already at revision {r['revision']}; nothing to do",
            "upgraded": f"upgraded from {State(r['from_status'], r['from']).describe()} to "
                        f"revision {r['revision']}"}
    return f"{r['database']}: {text[r['status']]}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def copied(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"copied {r['plan']}: {_n(r['rows'].get('wf_task', 0), 'task')}, "
        f"{_n(r['events'], 'event')}, {_n(r['rows'].get('wf_escalation', 0), 'escalation')}; "
        f"history verified on the target, head {r['head']}" for r in rows) or \
        "no plans to copy"


def member_change(c: dict[str, Any]) -> str:
    if c["status"] == "unchanged":
        text = (f"{c['person']} is already a member of {c['agency']} in plan {c['plan']}; "
                "nothing changed")
    else:
        to = "to" if c["status"] == "added" else "from"
        text = (f"{c['status']} {c['person']} {to} {c['agency']} in plan {c['plan']} "
                f"(by {c['by']} for {c['actor']})")
    if c["status"] == "removed" and not c["members"]:
        text += "\nthe plan has no members now: it is open again (anyone may act for any agency)"
    return text


def member_list(plan: Any, rows: list[dict[str, Any]], total: int, agency: str | None) -> str:
    """``workflow members list``; says plainly when the plan is open."""
    if not total:
        return (f"plan {plan.id} has no members: it is open, anyone may act for any agency "
                "(--as is taken on trust).\nTo restrict it, add the first member to "
                f"{either(plan)}: {command('add', 'PERSON', plan.coordinator)}")
    head = (f"plan {plan.id}: {total} membership{'s' * (total != 1)}; a move's --as must name "
            "an agency of the person making it")
    if not rows:
        return f"{head}\n  {agency} has no members"
    width = max(len(r["person"]) for r in rows)
    lines = [head]
    for r in rows:
        what = f"{r['agency']} (the {r['role']})" if r["role"] else r["agency"]
        lines.append(f"  {r['person']:<{width}}  {what:<32} added by {r['added_by']} "
                     f"{r['added_at'][:16].replace('T', ' ')}")
    return "\n".join(lines)


def granted(data: dict[str, Any]) -> str:
    """``workflow db grant``: the statements, runnable as they are (psql -f)."""
    done = (f"-- applied: {data['role']} is now a {data['level']} role\n" if data["applied"]
            else "")
    return done + "\n".join(f"{s};" for s in data["statements"])
