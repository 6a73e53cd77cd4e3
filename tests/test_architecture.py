"""The core never imports the CLI, Typer or prints; APScheduler stays in one module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "workflow"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_core_module_is_below_the_cli(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert not imported(tree) & {"cli", "kehoach_workflow", "typer", "click", "rich"}
    prints = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert prints == [], f"{path.name} prints at lines {prints}"
    if path.name != "scheduler.py":
        assert "apscheduler" not in imported(tree)
