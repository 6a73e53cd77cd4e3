"""``--output``: only regular files are replaced, whole, keeping their mode and owner."""

from __future__ import annotations

import ast
import json
import os
import stat

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.sqlite_only  # files, not databases

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, chown)")


def test_dash_means_standard_output(small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = small.ok("history", "--format", "jsonl", "--output", "-")
    assert [json.loads(line)["event"] for line in r.out.splitlines()] == ["load"]
    assert not (tmp_path / "-").exists()
    assert "wrote" not in r.err


def test_a_fifo_is_refused_and_stays_a_fifo(small, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = small("history", "--output", fifo)
    assert (r.code, r.error) == (2, f"Error: cannot write {fifo}: it is a FIFO (named pipe), "
                                    "not a regular file (--output takes a regular file, or - "
                                    "for standard output)")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pipe")]


def test_a_directory_is_refused(small, tmp_path):
    r = small("history", "--output", tmp_path)
    assert (r.code, r.error) == (2, f"Error: cannot write {tmp_path}: it is a directory; name "
                                    "a file in it (--output takes a regular file, or - for "
                                    "standard output)")


@as_root
def test_a_device_is_refused_and_stays_a_device(small, tmp_path):
    full = tmp_path / "full"  # our own node for /dev/full (1, 7): the real one is never risked
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    r = small("history", "--output", full)
    assert r.code == 2 and r.error.startswith(f"Error: cannot write {full}: it is a character "
                                              "device, not a regular file")
    assert stat.S_ISCHR(full.lstat().st_mode) and full.lstat().st_rdev == os.makedev(1, 7)


def test_a_replaced_file_keeps_its_mode(small, tmp_path):
    out = tmp_path / "h.jsonl"
    out.write_text("old\n")
    out.chmod(0o600)
    small.ok("history", "--format", "jsonl", "-o", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text(encoding="utf-8"))["event"] == "load"


@as_root
def test_a_replaced_file_keeps_its_owner(small, tmp_path):
    out = tmp_path / "h.csv"
    out.write_text("old\n")
    os.chown(out, 12345, 23456)
    out.chmod(0o640)
    small.ok("history", "--format", "csv", "-o", out)
    st = out.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (12345, 23456, 0o640)
    assert out.read_text(encoding="utf-8-sig").startswith("seq,at,plan")


def test_a_symbolic_link_is_followed_not_replaced(small, tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "h.jsonl"
    real.write_text("old\n")
    link = tmp_path / "h.jsonl"
    link.symlink_to(real)
    small.ok("history", "--format", "jsonl", "-o", link)
    assert link.is_symlink()
    assert json.loads(real.read_text(encoding="utf-8"))["event"] == "load"
    assert [p.name for p in real.parent.iterdir()] == ["h.jsonl"]  # no temporary file left


def test_a_new_file_gets_the_umask_mode(small, tmp_path):
    out = tmp_path / "new.json"
    old = os.umask(0o027)
    try:
        small.ok("history", "--json", "-o", out)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert json.loads(out.read_text(encoding="utf-8"))[0]["event"] == "load"


WRITERS = {"mkstemp", "mkdtemp", "NamedTemporaryFile", "write_text", "write_bytes"}


def _writes(call: ast.Call) -> bool:
    func = call.func
    name = getattr(func, "attr", getattr(func, "id", None))
    if name in WRITERS:
        return True
    if isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "os":
        return name in ("open", "replace", "rename")
    if name != "open":
        return False
    modes = [a for a in call.args[1:2]] + [k.value for k in call.keywords if k.arg == "mode"]
    return any(not isinstance(m, ast.Constant) or set(str(m.value)) & set("wax+")
               for m in modes)


def test_only_the_output_helper_writes_files():
    """Every command that writes a file goes through workflow/outfile.py (its rules hold for
    all of them); elsewhere nothing opens a file for writing, renames or creates one."""
    found = []
    for path in [ROOT / "cli.py", *sorted((ROOT / "workflow").rglob("*.py"))]:
        if path.name == "outfile.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _writes(node):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
