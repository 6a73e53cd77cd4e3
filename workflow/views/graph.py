"""The dependency graph as text (Graphviz dot, Mermaid) and as SVG laid out by Graphviz's
``dot``, run as a subprocess on text generated here with every label escaped."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from workflow.errors import WorkflowError
from workflow.i18n import N_, _
from workflow.views.report_data import ReportData
from workflow.views.words import STATE

FILL = {"assigned": "#e2e8f0", "in_progress": "#bfdbfe", "reported": "#fde68a",
        "approved": "#bbf7d0", "blocked": "#fecaca"}
STROKE = {"assigned": "#64748b", "in_progress": "#1d4ed8", "reported": "#b45309",
          "approved": "#15803d", "blocked": "#b91c1c"}
FONT = "DejaVu Sans"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NO_DOT = N_("Graphviz's dot was not found, so the dependency graph is not drawn; install it "
          "(Debian: apt-get install graphviz) or use workflow graph --format mermaid")


class GraphError(WorkflowError):
    """dot failed or took too long (a page says so instead of drawing the graph)."""


class DotMissingError(GraphError):
    """Graphviz's dot is not installed."""

    exit_code = 5


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    state: str
    overdue: bool


def nodes(data: ReportData, *, linked_only: bool = False) -> list[Node]:
    """One node per task or group (groups fold their instances), in the document's order;
    ``linked_only``: only those with a dependency in or out."""
    linked = {n for edge in data.edges for n in edge}
    out = []
    for t in data.tasks:
        if linked_only and t["id"] not in linked:
            continue
        out.append(Node(t["id"], label(t), t["state"], bool(t.get("overdue"))))
    return out


def label(t: dict[str, Any], width: int = 48) -> str:
    title = t["title"] if len(t["title"]) <= width else t["title"][:width - 1].rstrip() + "…"
    head = f"{t['ref']} · {t['id']}" if t.get("ref") else t["id"]
    counts = t.get("instances") or {}
    done = f" ({counts.get('approved', 0)}/{sum(counts.values())})" if counts else ""
    return f"{head}\n{title}\n{STATE[t['state']]}{done}"


def _dot_text(text: str) -> str:
    """A dot double-quoted string: backslash and quote escaped (so \\N, \\G, \\l stay text),
    line breaks as \\n, other control characters dropped."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub("", text.replace("\n", "\\n")) + '"'


def to_dot(data: ReportData, *, linked_only: bool = False) -> str:
    lines = [f"digraph {_dot_text(data.plan_id)} {{",
             f'  graph [rankdir=LR, fontname="{FONT}", nodesep=0.25, ranksep=0.5];',
             f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=10];',
             '  edge [color="#64748b", arrowsize=0.7];']
    for n in nodes(data, linked_only=linked_only):
        extra = ', penwidth=2.5, color="#dc2626"' if n.overdue else f', color="{STROKE[n.state]}"'
        lines.append(f"  {_dot_text(n.id)} [label={_dot_text(n.label)}, "
                     f'fillcolor="{FILL[n.state]}"{extra}];')
    lines += [f"  {_dot_text(a)} -> {_dot_text(b)};" for a, b in data.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Mermaid's quoted label: its entity codes for the characters it would read."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return '"' + _CONTROL.sub("", text.replace("\n", "<br/>")) + '"'


def to_mermaid(data: ReportData) -> str:
    """Mermaid flowchart; node names are n0, n1, ... (task ids may hold any letter)."""
    graph_nodes = nodes(data)
    name = {n.id: f"n{i}" for i, n in enumerate(graph_nodes)}
    lines = ["flowchart LR"]
    lines += [f"  {name[n.id]}[{_mermaid_text(n.label)}]:::{n.state}" for n in graph_nodes]
    lines += [f"  {name[a]} --> {name[b]}" for a, b in data.edges]
    lines += [f"  classDef {s} fill:{FILL[s]},stroke:{STROKE[s]}" for s in FILL]
    overdue = [name[n.id] for n in graph_nodes if n.overdue]
    if overdue:
        lines.append(f"  style {','.join(overdue)} stroke:#dc2626,stroke-width:3px")
    return "\n".join(lines) + "\n"


def to_svg(dot_source: str, *, timeout: float = 60) -> str:
    """``dot -Tsvg`` on ``dot_source``: the SVG element alone (no XML prolog or doctype)."""
    exe = shutil.which("dot")
    if exe is None:
        raise DotMissingError(_(NO_DOT))
    try:
        done = subprocess.run([exe, "-Tsvg"], input=dot_source.encode(), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GraphError(_("dot took longer than {seconds} s to lay the graph out; use "
                           "workflow graph --format dot and lay it out elsewhere").format(
            seconds=f"{timeout:g}")) from None
    if done.returncode != 0:
        why = _CONTROL.sub("", done.stderr.decode(errors="replace").strip().split("\n")[0])
        raise GraphError(_("dot failed to lay the graph out ({why})").format(
            why=why or done.returncode))
    svg = done.stdout.decode()
    return svg[svg.index("<svg"):]
