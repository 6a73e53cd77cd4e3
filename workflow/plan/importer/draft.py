"""Found tasks + header → a draft definition: YAML with ``# CHECK:`` comments, or plain data.

Nothing is invented: no dependency, no deadline, no agency the document does not state. A
deadline the engine cannot read is left out, its words in the comment. The only values put in
without the document stating them are required ones (a coordinator; a lead for a row that
names none), and each of those carries a ``# CHECK:``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from workflow.plan.dates import DateParseError, parse_deadline
from workflow.plan.importer.agencies import Registry
from workflow.plan.importer.blocks import clean
from workflow.plan.importer.header import Header
from workflow.plan.importer.layout import Found
from workflow.plan.importer.words import DUE_IN_TEXT, fold

_STOP = {"va", "cac", "cua", "cho", "trong", "tren", "dia", "ban", "theo", "de", "voi", "tai",
         "ve", "the", "nhung", "mot", "so", "duoc", "la", "co", "thuc", "hien", "trien", "khai"}


def read_due(words: str) -> str | None:
    """Why the engine cannot read a deadline, or None when it can: the same reading a
    definition's ``due`` gets (``parse_deadline``), so a draft keeps every cell it accepts."""
    try:
        parse_deadline(words)
    except DateParseError as err:
        return str(err)
    return None


def _recurs(words: str | None) -> bool:
    try:
        return words is not None and parse_deadline(words).recurrence is not None
    except DateParseError:
        return False


@dataclass
class Task:
    id: str
    ref: str | None
    title: str
    lead: list[str]
    support: list[str]
    due: str | None
    note: str | None
    groups: list[str]
    checks: dict[str, str] = field(default_factory=dict)  # key → comment


@dataclass
class Draft:
    source: str
    layout: str
    header: Header
    plan_checks: dict[str, str]
    issuer: str
    coordinator: str
    registry: Registry
    tasks: list[Task]

    def agencies(self) -> dict[str, Any]:
        used = {self.issuer, self.coordinator}
        for t in self.tasks:
            used.update(t.lead, t.support)
        return self.registry.used(used)

    def check_count(self) -> int:
        period_check = self.period()[1] is not None
        return len(self.plan_checks) + period_check + sum(len(t.checks) for t in self.tasks)

    def summary(self) -> str:
        n, a, c = len(self.tasks), len(self.agencies()), self.check_count()
        return (f"{n} task{'s' * (n != 1)}, {a} agenc{'ies' if a != 1 else 'y'}, "
                f"{c} item{'s' * (c != 1)} to check")

    def data(self) -> dict[str, Any]:
        """The draft as plain data (what --json prints): the definition and its checks."""
        h = self.header
        return {
            "id": h.plan_id(), "title": h.title or h.plan_id(), "document": h.document(),
            "issuer": self.issuer, "coordinator": self.coordinator, "period": self.period()[0],
            "agencies": {i: {"name": a.name, "aliases": a.aliases}
                         for i, a in self.agencies().items()},
            "tasks": {t.id: {"ref": t.ref, "title": t.title,
                             "lead": t.lead[0] if len(t.lead) == 1 else t.lead,
                             "support": t.support, "due": t.due, "note": t.note}
                      for t in self.tasks},
            "checks": [{"where": k, "check": v} for k, v in self.plan_checks.items()]
            + [{"where": "period", "check": why} for why in self.period()[1:] if why]
            + [{"where": f"tasks.{t.id}.{k}", "check": v} for t in self.tasks
               for k, v in t.checks.items()],
        }

    def period(self) -> tuple[str | None, str | None]:
        """A recurring deadline needs a first day: the document's date, when it has one."""
        if not any(_recurs(t.due) for t in self.tasks):
            return None, None
        d, m, y = self.header.date
        if d.isdigit() and m.isdigit() and y.isdigit():
            return (f"Từ {int(d)}/{int(m)}/{y}", "recurring deadlines begin at the document's "
                    "date; give the plan's span if it states one, e.g. \"2026 - 2030\"")
        return None, ("recurring deadlines need a first day: add period: (the plan's span, "
                      "e.g. \"2026 - 2030\", or \"Từ\" its date)")

    def yaml(self) -> str:
        h, pc = self.header, self.plan_checks
        out = [f"# Draft made by `workflow import` from {_comment(self.source)}",
               f"# ({self.layout}). Fix every line marked CHECK, then: workflow validate FILE",
               f"id: {h.plan_id()}{_mark(pc.get('id'))}",
               f"title: {_q(h.title or h.plan_id())}{_mark(pc.get('title'))}",
               f"document: {_q(h.document())}",
               f"issuer: {self.issuer}{_mark(pc.get('issuer'), h.issuer_how)}",
               f"coordinator: {self.coordinator}{_mark(pc.get('coordinator'))}"]
        period, why = self.period()
        if period is not None:
            out.append(f"period: {_q(period)}{_mark(why)}")
        elif why:
            out.append(f"# CHECK: {_comment(why)}")
        out += ["", "agencies:"]
        for agency_id, a in self.agencies().items():
            aliases = f", aliases: [{', '.join(_q(x) for x in a.aliases)}]" if a.aliases else ""
            out.append(f"  {agency_id}: {{name: {_q(a.name)}{aliases}}}")
        out += ["", "tasks:"]
        for t in self.tasks:
            out += [f"  # {_comment(g)}" for g in t.groups]
            out.append(f"  {t.id}:")
            if t.ref:
                out.append(f"    ref: {_q(t.ref)}")
            out.append(f"    title: {_q(t.title)}")
            lead = t.lead[0] if len(t.lead) == 1 else f"[{', '.join(t.lead)}]"
            out.append(f"    lead: {lead}{_mark(t.checks.get('lead'))}")
            if t.support:
                out.append(f"    support: [{', '.join(t.support)}]")
            if t.due is not None:
                out.append(f"    due: {_q(t.due)}{_mark(t.checks.get('due'))}")
            elif "due" in t.checks:
                out.append(f"    # CHECK: {_comment(t.checks['due'])}")
            if t.note:
                out.append(f"    note: {_q(t.note)}")
        return "\n".join(out) + "\n"


def make_tasks(found: list[Found], registry: Registry, issuer: str) -> list[Task]:
    tasks: list[Task] = []
    ids: set[str] = set()
    for f in found:
        task = Task(_task_id(f.ref, f.title, ids), f.ref, clean(f.title), [], [], None, f.note,
                    f.groups)
        task.lead = registry.ids(f.lead)
        if not task.lead:
            task.lead = [issuer]
            task.checks["lead"] = ("the document names no lead for this task; the issuer is put "
                                   "here to keep the draft valid")
        task.support = [s for s in registry.ids(f.support) if s not in task.lead]
        words = clean(f.due).strip(" .;,")
        if words:
            problem = read_due(words)
            if problem is None:
                task.due = words
                if f.checks:
                    task.checks["due"] = "; ".join(f.checks)
            elif len(inner := {m[0] for m in DUE_IN_TEXT.finditer(words)}) == 1:
                task.due = inner.pop()  # "Thời gian hoàn thiện gửi về ... trước ngày 13/01/2026"
                task.checks["due"] = f'read from "{words}"'
            else:
                task.checks["due"] = f'deadline left out, the engine cannot read "{words}"'
        tasks.append(task)
    return tasks


def _task_id(ref: str | None, title: str, taken: set[str]) -> str:
    words = [w for w in fold(title).split() if w not in _STOP and not w.isdigit()][:4]
    prefix = "-".join(re.findall(r"[a-z0-9]+", fold(ref or "")))
    base = "-".join(x for x in (prefix, "-".join(words)) if x) or "nhiem-vu"
    task_id, n = base, 2
    while task_id in taken:
        task_id, n = f"{base}-{n}", n + 1
    taken.add(task_id)
    return task_id


def _q(text: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _comment(text: str) -> str:
    text = clean(text)
    return text if len(text) <= 160 else text[:157] + "…"


def _mark(check: str | None, how: str = "") -> str:
    if check:
        return f"  # CHECK: {_comment(check)}"
    return f"  # {_comment(how)}" if how else ""
