"""The package's shape: layers that import only downward, no import cycle, no hidden imports,
small modules and functions, and a README whose layout table is the one checked here.

Every import is read with ``ast``, at the top of a module and inside functions alike.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workflow"
MODULES = sorted(PACKAGE.rglob("*.py"))
CLI = [ROOT / "cli.py", ROOT / "cli_parts.py", ROOT / "cli_lang.py"]  # the command line
BASE = "(base)"  # workflow/__init__.py, errors.py, clock.py, logs.py, text.py

# Each folder of the package (lowest first) and the folders it may import from.
LAYERS = {
    BASE: [],
    "plan": [BASE],
    "rules": [BASE, "plan"],
    "store": [BASE, "plan", "rules"],
    "ops": [BASE, "plan", "rules", "store"],
    "views": [BASE, "plan", "rules", "store", "ops"],
}
# Imports allowed inside a function: a heavy dependency only some commands need. Anything
# else inside a function is an import cycle being dodged, or a cost hidden from the reader.
LAZY = {
    ("workflow.logs", "structlog"): "about 50 ms (with rich); commands that log nothing skip it",
    ("workflow.store.schema", "alembic"): "only to create or upgrade a schema",
    ("workflow.plan.importer.sources", "docx"): "python-docx, only to import a .docx",
    ("workflow.plan.importer.sources", "openpyxl"): "only to import a .xlsx",
    ("workflow.plan.importer.sources", "pdfplumber"): "pdfminer, only to import a .pdf",
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else BASE


def imports(path: Path) -> list[tuple[str, int, bool]]:
    """(module imported, line, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
              for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, id(node) in inside) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], *filter(None, [base])])
            # `from workflow.store import lookup` imports the module workflow.store.lookup
            for a in node.names:
                full = f"{base}.{a.name}"
                sub = full if (ROOT / Path(*full.split("."))).with_suffix(".py").exists() or \
                    (ROOT / Path(*full.split(".")) / "__init__.py").exists() else base
                found.append((sub, node.lineno, id(node) in inside))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in [*MODULES, *CLI]:
        edges[module_name(path)] = {m for m, _line, _lazy in imports(path)
                                    if m.split(".")[0] == "workflow"}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    here = module_name(path)
    allowed = {layer(here), *LAYERS[layer(here)]}
    upward = [f"line {line}: {m} ({layer(m)})" for m, line, _lazy in imports(path)
              if m.split(".")[0] == "workflow" and layer(m) not in allowed]
    assert upward == [], f"{here} ({layer(here)}) may import only {sorted(allowed)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_inside_a_function_but_heavy_optional_ones(path):
    here = module_name(path)
    hidden = [f"line {line}: {m}" for m, line, lazy in imports(path)
              if lazy and (here, m.split(".")[0]) not in LAZY]
    assert hidden == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_is_below_the_cli(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {m.split(".")[0] for m, _line, _lazy in imports(path)}
    assert not top & {"cli", "cli_parts", "cli_lang", "kehoach_workflow", "typer", "click",
                      "rich"}
    prints = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name) and n.func.id == "print"]
    assert prints == [], f"{path.name} prints at lines {prints}"
    if module_name(path) != "workflow.ops.scheduler":
        assert "apscheduler" not in top


def sizes() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lines, module) and (lines, function) for the package and the CLI, largest first."""
    modules, functions = [], []
    for path in [*MODULES, *CLI]:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(ROOT))
        modules.append((len(text.splitlines()), name))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((node.end_lineno - node.lineno + 1,
                                  f"{name}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def test_modules_and_functions_stay_small():
    modules, functions = sizes()
    assert [m for m in modules if m[0] > MAX_MODULE_LINES] == []
    assert [f for f in functions if f[0] > MAX_FUNCTION_LINES] == []


def test_readme_layout_is_the_layers_table():
    """README's "Layout" table lists each folder and what it may import, as LAYERS does."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Layout", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|[^|]*\| ([^|]*) \|$", section, re.M)
    table = {}
    for folder, below in rows:
        key = BASE if folder.endswith(".py") or folder == "workflow/" else \
            folder.removeprefix("workflow/").rstrip("/")
        table[key] = [BASE if w == "base" else w for w in re.findall(r"[a-z]+", below)
                      if w != "nothing"]
    assert table == LAYERS
    for folder in LAYERS:
        if folder != BASE:
            assert (PACKAGE / folder / "__init__.py").exists()
