"""Plain text and Markdown → blocks, as converters and copy-paste give them.

Three table shapes are read: a converter's cells one per line with a line holding only ``|``
between cells (a line of ``|`` closes one cell; two in a row close a row), Markdown's
``| a | b |`` rows, and tab-separated rows. Emphasis markers (``**``, ``*``, ``__``) are
dropped wherever they are, even inside words; lines of one paragraph are joined, since
converters break lines inside names ("Sở Khoa\\nhọc và Công nghệ").
"""

from __future__ import annotations

import re
from collections import Counter

from workflow.plan.importer.blocks import Block, Para, Table, clean

# A line that starts a paragraph of its own even without a blank line before it: a bullet
# ("- ", but not "- 2030", the tail of a wrapped "2026 - 2030"), a), 1., 1.1., II., a heading.
_STARTS = re.compile(r"^(?:#|[-+•]\s+(?!\d)|\(?[a-zđ]\)\s|\d+(?:\.\d+)*[.)]\s|[IVXL]+\.\s)")
_ORDINAL = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.?|[A-ZĐ]\.?)$")
_MD_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?$")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")


def unmark(text: str) -> str:
    """Markdown's emphasis and escapes removed; what is left is the words."""
    text = _ESCAPE.sub(r"\1", text)
    return text.replace("*", "").replace("__", "")


def text_blocks(text: str) -> list[Block]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            raw = " ".join(para).strip()
            strong = raw.startswith("#") or (raw.startswith("**") and raw.rstrip(":. ").endswith(
                "**"))
            words = clean(unmark(raw.lstrip("#")))
            if words:
                blocks.append(Para(words, strong))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i].strip()
        end, table = _table_at(lines, i)
        if table is not None:
            flush()
            blocks.append(table)
            i = end
            continue
        if not line or (set(line) <= {"-", "=", "_", " "} and len(line) >= 3):
            flush()
        elif _STARTS.match(unmark(line).strip()):
            flush()
            para.append(line)
            if line.startswith("#"):
                flush()
        else:
            para.append(line)
        i += 1
    flush()
    return blocks


def _table_at(lines: list[str], i: int) -> tuple[int, Table | None]:
    line = lines[i].strip()
    if line and set(line) == {"|"}:
        return _pipe_cells(lines, i)
    if line.startswith("|") and line.count("|") >= 3:
        return _markdown_rows(lines, i)
    if lines[i].count("\t") >= 2:
        j = i
        rows = []
        while j < len(lines) and lines[j].count("\t") >= 2:
            rows.append(tuple(clean(unmark(c)) for c in lines[j].split("\t")))
            j += 1
        return j, Table(tuple(rows))
    return i, None


def _markdown_rows(lines: list[str], i: int) -> tuple[int, Table]:
    rows = []
    j = i
    while j < len(lines) and lines[j].strip().startswith("|"):
        line = lines[j].strip()
        if not _MD_RULE.match(line):
            cells = re.split(r"(?<!\\)\|", line.strip("|"))
            rows.append(tuple(clean(unmark(c)) for c in cells))
        j += 1
    return j, Table(tuple(rows))


def _pipe_cells(lines: list[str], i: int) -> tuple[int, Table]:
    """A converter's table: up to the first blank line."""
    cells: list[str] = []
    current: list[str] | None = None
    j = i
    while j < len(lines) and lines[j].strip():
        line = lines[j].strip()
        if set(line) == {"|"}:
            for _ in line:
                if current is not None:
                    cells.append(clean(unmark(" ".join(current))))
                current = []
        elif current is not None:
            current.append(line)
        j += 1
    rows: list[list[str]] = [[]]
    for cell in cells:
        if cell:
            rows[-1].append(cell)
        elif rows[-1]:
            rows.append([])
    return j, Table(tuple(tuple(r) for r in _repair([r for r in rows if r])))


def _repair(rows: list[list[str]]) -> list[list[str]]:
    """An empty cell looks like a row break in this shape: put rows back to the usual width."""
    widths = Counter(len(r) for r in rows if len(r) >= 3)
    if not widths:
        return rows
    width = widths.most_common(1)[0][0]
    out: list[list[str]] = []
    k = 0
    while k < len(rows):
        row = rows[k]
        nxt = rows[k + 1] if k + 1 < len(rows) else None
        if (nxt is not None and len(row) < width and len(row) + len(nxt) + 1 == width
                and _ORDINAL.match(row[0]) and not _ORDINAL.match(nxt[0])):
            out.append([*row, "", *nxt])  # an empty cell inside the row
            k += 2
            continue
        if (nxt is not None and len(row) == 1 and len(nxt) == 1 and _ORDINAL.match(row[0])
                and not _ORDINAL.match(nxt[0])):
            out.append([row[0], nxt[0]])  # a group row whose other cells were blank
            k += 2
            continue
        if len(row) == width - 1 and width >= 4:
            row = [*row, ""] if _ORDINAL.match(row[0]) else ["", *row]
        out.append(row)
        k += 1
    return out
