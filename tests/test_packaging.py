"""What `pip install` puts on a machine: a distribution name of ours, the package `workflow`,
the command `workflow`, and the command line under our own name (no top-level `cli`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

from tests.conftest import ROOT, SON_LA

DIST = "kehoach-workflow"
CLI = ("cli.py", "cli_lang.py", "cli_parts.py")  # the entry point and its parts (sorted)


def _build_wheel(tmp_path):
    """Builds the wheel from a copy of the sources (the repository is left as it is),
    offline, with the setuptools the test extra installs."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "workflow", src / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", *CLI):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", str(src), "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    return wheel


def test_the_wheel_holds_workflow_and_our_command_line_only(tmp_path):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST  # `workflow` on PyPI is someone else's project
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = f"kehoach_workflow-{project['version']}.dist-info"
        metadata = z.read(f"{info}/METADATA").decode()
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    assert {n.split("/")[0] for n in names} == {"workflow", "kehoach_workflow", info}
    assert sorted(n for n in names if n.startswith("kehoach_workflow/")) == [
        f"kehoach_workflow/{name}" for name in CLI]
    # Every package folder of workflow/ (the layers and what they hold) is in the wheel.
    folders = sorted(str(p.parent.relative_to(ROOT)) for p in (ROOT / "workflow").rglob(
        "__init__.py") if "__pycache__" not in p.parts)
    assert [f for f in folders if f"{f}/__init__.py" not in names] == []
    assert len(folders) >= 9
    assert f"\nName: {DIST}\n" in metadata
    assert "workflow = kehoach_workflow.cli:main" in entry_points.splitlines()

    # Installed on its own (dependencies from this environment), the command works and no
    # module named `cli` comes with it.
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site), "WORKFLOW_LOG_LEVEL": "warning"}
    r = subprocess.run([str(site / "bin" / "workflow"), "validate", str(SON_LA)], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout.split(":")[0]) == (0, f"ok  {SON_LA}")
    r = subprocess.run([sys.executable, "-c", "import kehoach_workflow.cli as c, workflow as w; "
                        "print(c.__file__); print(w.__file__)"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.stdout.splitlines() == [str(site / "kehoach_workflow" / "cli.py"),
                                     str(site / "workflow" / "__init__.py")]
    r = subprocess.run([sys.executable, "-c", "import cli"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "ModuleNotFoundError" in r.stderr


def test_the_console_script_line_stays():
    """Tools outside the repository look for the console script's line in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'workflow = "kehoach_workflow.cli:main"' in text.splitlines()
