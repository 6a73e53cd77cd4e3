"""Every deadline cell of the real plans in ../shared, and the fixture that keeps a copy of them.

A cell is the text of a table column headed "Thời gian ...", "Thời hạn ..." or "Tiến độ"
(converter tables: one cell per line run, ``|`` lines between cells, an empty cell between
rows; or tab-separated rows), or what follows a labelled line "Thời gian thực hiện: ...",
"c) Thời hạn hoàn thành ..." in the running text.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path


def _shared() -> Path | None:
    """``shared/`` beside the clone (CI), or beside a folder above it (a git worktree)."""
    if os.environ.get("WORKFLOW_SHARED"):
        return Path(os.environ["WORKFLOW_SHARED"])
    for up in Path(__file__).resolve().parents[1:4]:
        if (up.parent / "shared" / "seeds").is_dir():
            return up.parent / "shared"
    return None


SHARED = _shared()
FIXTURE = Path(__file__).resolve().parent / "data" / "deadline_corpus.txt"
_HEAD = re.compile(r"(thời gian|thời hạn|tiến độ)", re.IGNORECASE)
# "c) Thời gian hoàn thành: Trước ngày 01/6/2024.", "Thời hạn hoàn thành trước ngày 15/01/2026."
_LABEL = re.compile(
    r"(?:[-•+]\s*)?(?:[a-zđ]\)\s*)?(?:Thời gian|Thời hạn)(?P<label>[^:]{0,60}):\s*(?P<cell>.+)"
    r"|(?:[-•+]\s*)?(?:[a-zđ]\)\s*)?(?:Thời gian|Thời hạn)(?: dự kiến)?\s+"
    r"(?P<rest>(?:hoàn thành|hoàn thiện|trước|từ|đến).+)"
)


_BULLET = re.compile(r"\s*\**\s*(?:[-•+]|[a-zđ]\)|\d+[.)])\s")


def text_of(cell: str) -> str:
    """NFC, one line, single spaces, without the converter's bold/italic markers."""
    return " ".join(unicodedata.normalize("NFC", cell).replace("*", "").split())


def _pipe_rows(text: str) -> list[list[str]]:
    chunks, cur = [], []
    for line in text.splitlines():
        if line.strip() == "|":
            chunks.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    rows, row = [], []
    for chunk in chunks[1:]:  # the text before the first "|" is no cell
        if chunk.strip():
            row.append(text_of(chunk))
        elif row:
            rows.append(row)
            row = []
    return [*rows, row] if row else rows


def table_cells(text: str) -> list[str]:
    """The cells of every deadline column, in document order."""
    cells: list[str] = []
    col = None
    for row in _pipe_rows(text) + [line.split("\t") for line in text.splitlines() if "\t" in line]:
        heads = [i for i, c in enumerate(row) if _HEAD.match(text_of(c))]
        if heads and len(row) >= 4:
            firsts = [i for i, c in enumerate(row[: heads[0]]) if re.fullmatch(r"S?TT", c)]
            # Prose may run into the header row; a header without "STT" leaves the number
            # column of the rows below it unnamed.
            col = heads[0] - max(firsts) if firsts else heads[0] + 1
            continue
        if col is not None and len(row) > col and row[col].strip() and len(row) >= 4:
            cells.append(text_of(row[col]))
    return cells


def labelled_cells(text: str) -> list[str]:
    """What follows "Thời gian ...:" / "Thời hạn ..." at the start of a line, with the lines it
    wraps onto (up to a blank line or the next bulleted line)."""
    cells, lines = [], text.replace("\r", "").splitlines()
    for i, line in enumerate(lines):
        in_table = "|" in (lines[i - 1].strip() if i else "", *lines[i + 1:i + 2])
        m = None if in_table else _LABEL.fullmatch(text_of(line))
        if m is None:
            continue
        cell = [m["cell"] or m["rest"]]
        for nxt in lines[i + 1:]:
            if not nxt.strip() or _BULLET.match(nxt) or _LABEL.fullmatch(text_of(nxt)):
                break
            cell.append(text_of(nxt))
        cells.append(" ".join(cell))
    return cells


def corpus_files() -> list[Path]:
    if SHARED is None:
        return []
    return sorted([*SHARED.glob("seeds/*.txt"), *SHARED.glob("plans/*.txt")])


def extract(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return table_cells(text) + labelled_cells(text)


def fixture_rows() -> list[tuple[str, str, int, str]]:
    """(file, phrase, how many cells, expected reading) of every line of the fixture."""
    rows = []
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            file, phrase, count, reading = line.split("\t")
            rows.append((file, phrase, int(count), reading))
    return rows


def fixture_cells() -> list[str]:
    """Every deadline cell of the corpus, repeats included, from the fixture."""
    return [phrase for _, phrase, count, _ in fixture_rows() for _ in range(count)]
