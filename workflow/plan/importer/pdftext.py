"""One pdfplumber page → blocks: its ruled tables, and the text around them as paragraphs.

A PDF has no paragraphs, only lines: a new paragraph starts after a vertical gap wider than
the usual line spacing, or at a line that starts like a numbered item, a bullet or a label.
"""

from __future__ import annotations

import re

from workflow.plan.importer.blocks import Block, Para, Table, clean

_STARTS = re.compile(r"^(?:[-+•]\s+(?!\d)|\(?[a-zđ]\)\s|\d+(?:\.\d+)*[.)]\s|[IVXL]+\.\s)")
_GAP = 0.9  # a gap above a line larger than this many line heights starts a paragraph


def page_blocks(page) -> list[Block]:
    tables = page.find_tables()
    placed: list[tuple[float, Block]] = [(t.bbox[1], _table(t)) for t in tables]
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
        y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    lines = page.filter(outside).extract_text_lines() if boxes else page.extract_text_lines()
    placed.extend(_paragraphs(lines))
    placed.sort(key=lambda item: item[0])
    return [block for _top, block in placed]


def _paragraphs(lines: list[dict]) -> list[tuple[float, Para]]:
    out: list[tuple[float, Para]] = []
    words: list[str] = []
    bold: list[bool] = []
    top = 0.0
    previous = None
    for line in lines:
        text = clean(line["text"])
        if not text:
            continue
        height = max(line["bottom"] - line["top"], 1.0)
        gap = line["top"] - previous["bottom"] if previous else 0.0
        if words and (gap > _GAP * height or _STARTS.match(text)):
            out.append((top, Para(" ".join(words), all(bold))))
            words, bold = [], []
        if not words:
            top = line["top"]
        words.append(text)
        bold.append(all("bold" in c.get("fontname", "").lower() for c in line.get("chars", [])
                        if c.get("text", " ").strip()))
        previous = line
    if words:
        out.append((top, Para(" ".join(words), all(bold))))
    return out


def _table(table) -> Table:
    texts = table.extract()
    rows: list[tuple[str, ...]] = []
    for r, row in enumerate(texts):
        cells = []
        for c, value in enumerate(row):
            if value is None:
                value = _spanned_from_above(table, texts, r, c)
            cells.append(clean(value or ""))
        rows.append(tuple(cells))
    return Table(tuple(rows))


def _spanned_from_above(table, texts: list[list], r: int, c: int) -> str:
    """The text of a cell merged down into row r (a cell spanning rows applies to each)."""
    top = table.rows[r].bbox[1]
    for above in range(r - 1, -1, -1):
        cell = table.rows[above].cells[c] if c < len(table.rows[above].cells) else None
        if cell is not None:
            return texts[above][c] or "" if cell[3] > top + 1 else ""
    return ""
