"""What a command that changes something says it did: validated, loaded, moved, swept, copied,
memberships and grants, as plain text in the interface's language (``render`` shows what is)."""

from __future__ import annotations

from typing import Any

from workflow.i18n import N_, _, ngettext
from workflow.rules.membership import command, managers, role
from workflow.store.schema import State
from workflow.views import words

ARROW = "→"
# What a sweep did, as ``workflow escalate`` says it.
ACTIONS = {"raised": N_("raised"), "climbed": N_("climbed"), "resolved": N_("resolved")}


def action_line(a: dict[str, Any]) -> str:
    if a["action"] == "reminded":
        return _("reminded {plan}/{task}  {arrow} {agency} (due soon)").format(
            plan=a["plan"], task=a["task"], arrow=ARROW, agency=a["escalated_to"])
    action = _(ACTIONS[a["action"]]) if a["action"] in ACTIONS else a["action"]
    width = max(8, *(len(_(w)) for w in ACTIONS.values()))
    where = _("L{level} → {agency} ({reason})").format(
        level=a["level"], agency=a["escalated_to"], reason=words.reason(a["reason"]))
    line = f"{action:<{width}} {a['plan']}/{a['task']}  {where}"
    if a.get("paused"):  # a clock in working days that holidays held back
        which = _("stall clock") if a["clock"] == "stall" else _("escalation clock")
        line += f"; {which} {a['paused']}"
    return line


def change_lines(changes: list[dict[str, Any]], indent: str = "  ",
                 most: int = 12) -> list[str]:
    """An upgrade's changes, one a line (``2.1 due: 2024-06-30 → 2024-09-30``), the first
    ``most`` of them."""
    def shown(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(
            "-" if value is None or value == "" else value)

    whole = {"added": _("added"), "removed": _("removed")}
    lines = [f"{indent}{c['task']}: " + (whole.get(c["new"], "") if c["field"] is None else
                                          f"{c['field']} {shown(c['old'])} {ARROW} "
                                          f"{shown(c['new'])}") for c in changes[:most]]
    if len(changes) > most:
        lines.append(indent + _("... and {n} more (workflow history --event upgrade --json)")
                     .format(n=len(changes) - most))
    return lines



LOADED = {"created": N_("loaded: plan {plan} ({tasks})"),
          "unchanged": N_("already loaded, unchanged: plan {plan} ({tasks})"),
          "upgraded": N_("upgraded: plan {plan} ({tasks})")}
CHANGES = {"added": N_("added"), "removed": N_("removed"), "changed": N_("changed")}


def loaded(r: dict[str, Any]) -> str:
    text = _(LOADED[r["status"]]).format(
        plan=r["plan"], tasks=ngettext("{n} task", "{n} tasks", r["tasks"]).format(n=r["tasks"]))
    if r["changes"]:
        text += "; " + ", ".join(f"{_(CHANGES[k]) if k in CHANGES else k}: {', '.join(v) or '-'}"
                                 for k, v in r["changes"].items() if k != "fields")
        text = "\n".join([text, *change_lines(r["changes"].get("fields", []))])
    return text


def moved(r: dict[str, Any]) -> str:
    text = _("{task}: {old} → {new} ({event} by {agency})").format(
        task=r["task"], old=words.state(r["from"]), new=words.state(r["to"]),
        event=words.event(r["event"]), agency=r["actor"])
    return text + "".join("\n  " + _("escalation {action}").format(action=action_line(a))
                          for a in r["escalations"])


def extended(r: dict[str, Any]) -> str:
    text = _("{task}: due {old} {arrow} {new} (extend by {actor})").format(
        task=r["task"], old=r["old_due"], arrow=ARROW, new=r["new_due"], actor=r["actor"])
    if not r["in_time"]:
        text += "\n  " + _("granted after the due day it replaced had ended: it does not "
                           "count for on time")
    return text + "".join("\n  " + _("escalation {action}").format(action=action_line(a))
                          for a in r["escalations"])


def moved_many(rows: list[dict[str, Any]] | dict[str, Any]) -> str:
    """A pattern's moves (or extensions): each task's, then what they came to; one extension
    alone is just its line."""
    if isinstance(rows, dict):
        return extended(rows)
    dry = bool(rows and rows[0]["dry_run"])
    lines = [_("refused {task} ({state}): {why}").format(
        task=r["task"], state=words.state(r["from"]), why=r["refused"]) if r.get("refused")
             else (_("would move {move}") if dry else "{move}").format(
                 move=extended(r) if r["event"] == "extend" else moved(r))
             for r in rows]
    refused = sum(1 for r in rows if r.get("refused"))
    if dry:
        lines.append(_("dry run: {n} of {total} tasks would {event}, {refused} refused; "
                       "nothing was written").format(
            n=len(rows) - refused, total=len(rows), event=words.event(rows[0]["event"]),
            refused=refused))
    elif rows and rows[0]["event"] == "extend":
        lines.append(ngettext("{n} task extended in one transaction",
                              "{n} tasks extended in one transaction", len(rows)).format(
                                  n=len(rows)))
    else:
        lines.append(ngettext("{n} task moved in one transaction",
                              "{n} tasks moved in one transaction", len(rows)).format(n=len(rows)))
    return "\n".join(lines)


def swept(actions: list[dict[str, Any]]) -> str:
    return "\n".join(action_line(a) for a in actions) or _("nothing to do")


def verified(rows: list[dict[str, Any]], head: str | None) -> str:
    return "\n".join(
        _("ok  {plan}: {n} events verified; head {head}").format(
            plan=r["plan"], n=r["events"], head=r["head"])
        + ("\n    " + _("--head {head} is event seq {seq}: the history up to it is "
                        "intact").format(head=head.strip().lower(), seq=r["head_found_at"])
           if head else "") for r in rows) or _("no plans")


def upgraded_schema(r: dict[str, Any]) -> str:
    text = {"created": _("created the schema at revision {revision}"),
            "current": _("already at revision {revision}; nothing to do"),
            "upgraded": _("upgraded from {old} to revision {revision}")}[r["status"]]
    old = State(r["from_status"], r["from"]).describe() if r["status"] == "upgraded" else ""
    return f"{r['database']}: " + text.format(revision=r["revision"], old=old)


def copied(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        _("copied {plan}: {tasks}, {events}, {escalations}; history verified on the target, "
          "head {head}").format(
            plan=r["plan"], head=r["head"],
            tasks=ngettext("{n} task", "{n} tasks", r["rows"].get("wf_task", 0)).format(
                n=r["rows"].get("wf_task", 0)),
            events=ngettext("{n} event", "{n} events", r["events"]).format(n=r["events"]),
            escalations=ngettext("{n} escalation", "{n} escalations", r["rows"].get(
                "wf_escalation", 0)).format(n=r["rows"].get("wf_escalation", 0)))
        for r in rows) or _("no plans to copy")


MEMBER_CHANGE = {"added": N_("added {person} to {agency} in plan {plan} (by {by} for {actor})"),
                 "removed": N_("removed {person} from {agency} in plan {plan} "
                               "(by {by} for {actor})"),
                 "unchanged": N_("{person} is already a member of {agency} in plan {plan}; "
                                 "nothing changed")}


def member_change(c: dict[str, Any]) -> str:
    text = _(MEMBER_CHANGE[c["status"]]).format(person=c["person"], agency=c["agency"],
                                                plan=c["plan"], by=c.get("by"),
                                                actor=c.get("actor"))
    if c["status"] == "removed" and not c["members"]:
        text += "\n" + _("the plan has no members now: it is open again (anyone may act for "
                         "any agency)")
    return text


ROLES = {"coordinator": N_("the coordinator"), "issuer": N_("the issuer")}


def _described(agency: str, agency_role: str | None) -> str:
    """``so-y-te (the coordinator)``; other agencies as their id."""
    if not agency_role:
        return agency
    return _("{agency} ({role})").format(agency=agency,
                                         role=_(ROLES.get(agency_role, agency_role)))


def member_list(plan: Any, rows: list[dict[str, Any]], total: int, agency: str | None) -> str:
    """``workflow members list``; says plainly when the plan is open."""
    if not total:
        who = _(" or ").join(_described(a, role(plan, a)) for a in managers(plan))
        return _("plan {plan} has no members: it is open, anyone may act for any agency "
                 "(--as is taken on trust).\nTo restrict it, add the first member to "
                 "{who}: {command}").format(plan=plan.id, who=who,
                                             command=command("add", "PERSON", plan.coordinator))
    head = ngettext("plan {plan}: {n} membership; a move's --as must name an agency of the "
                    "person making it",
                    "plan {plan}: {n} memberships; a move's --as must name an agency of the "
                    "person making it", total).format(plan=plan.id, n=total)
    if not rows:
        return f"{head}\n  " + _("{agency} has no members").format(agency=agency)
    width = max(len(r["person"]) for r in rows)
    lines = [head]
    for r in rows:
        what = _described(r["agency"], r["role"])
        lines.append(f"  {r['person']:<{width}}  {what:<32} " + _("added by {person} {at}").format(
            person=r["added_by"], at=r["added_at"][:16].replace("T", " ")))
    return "\n".join(lines)


def granted(data: dict[str, Any]) -> str:
    """``workflow db grant``: the statements, runnable as they are (psql -f)."""
    done = ("-- " + _("applied: {role} is now a {level} role").format(
        role=data["role"], level=data["level"]) + "\n" if data["applied"] else "")
    return done + "\n".join(f"{s};" for s in data["statements"])
