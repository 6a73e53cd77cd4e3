"""Builds real .docx, .xlsx, .csv and .pdf files from a plan's text, the way offices make them.

python-docx, openpyxl and fpdf2 write them; group rows span the table's width and, in Word
and Excel, a lead or support cell that repeats on following rows is one merged cell, as in
the phụ lục tables provinces publish.
"""

from __future__ import annotations

import csv
from pathlib import Path

from workflow.plan.importer.blocks import Block, Para, Table
from workflow.plan.importer.layout import header_roles

FONT = Path(__file__).parent / "data" / "fonts" / "DejaVuSans.ttf"


def task_table(blocks: list[Block]) -> list[tuple[str, ...]]:
    """The phụ lục's rows (its first header row and every row after it, tables joined)."""
    rows: list[tuple[str, ...]] = []
    for b in blocks:
        if isinstance(b, Table):
            for row in b.rows:
                if rows or header_roles(row):
                    rows.append(row)
    return rows


def _merge_runs(rows: list[tuple[str, ...]], width: int, columns: list[int]) -> list[tuple]:
    """(column, first row, last row) of each run of equal, non-empty cells down a column."""
    runs = []
    for c in columns:
        start = 0
        for r in range(1, len(rows) + 1):
            same = (r < len(rows) and len(rows[r]) == width and len(rows[start]) == width
                    and rows[r][c] and rows[r][c] == rows[start][c] and not header_roles(rows[r]))
            if not same:
                if r - 1 > start:
                    runs.append((c, start, r - 1))
                start = r
    return runs


def write_docx(blocks: list[Block], path: Path) -> Path:
    import docx

    document = docx.Document()
    for b in blocks:
        if isinstance(b, Para):
            p = document.add_paragraph()
            p.add_run(b.text).bold = b.strong
            continue
        width = max(len(r) for r in b.rows)
        table = document.add_table(rows=len(b.rows), cols=width)
        table.style = "Table Grid"
        for r, row in enumerate(b.rows):
            cells = table.rows[r].cells
            for c, text in enumerate(row):
                cells[c].text = text
            if len(row) < width:  # a group row: its last cell spans the rest of the row
                cells[len(row) - 1].merge(cells[width - 1])
        roles = next((header_roles(r) for r in b.rows if header_roles(r)), {})
        merge_cols = [roles[k] for k in ("lead", "support", "due") if k in roles]
        for c, first, last in _merge_runs(list(b.rows), width, merge_cols):
            top = table.cell(first, c)
            merged = top.merge(table.cell(last, c))
            merged.text = b.rows[first][c]
    document.save(str(path))
    return path


def write_xlsx(rows: list[tuple[str, ...]], path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Phụ lục"
    width = max(len(r) for r in rows)
    for row in rows:
        sheet.append(list(row))
    for r, row in enumerate(rows, start=1):
        if len(row) < width:
            sheet.merge_cells(start_row=r, start_column=len(row), end_row=r, end_column=width)
    roles = header_roles(rows[0])
    merge_cols = [roles[k] for k in ("lead", "support") if k in roles]
    for c, first, last in _merge_runs(rows, width, merge_cols):
        sheet.merge_cells(start_row=first + 1, start_column=c + 1, end_row=last + 1,
                          end_column=c + 1)
    book.save(str(path))
    return path


def write_csv(rows: list[tuple[str, ...]], path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_pdf(blocks: list[Block], path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.set_font("DejaVu", size=9)
    pdf.add_page()
    for b in blocks:
        if isinstance(b, Para):
            pdf.multi_cell(0, 5, b.text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
            continue
        width = max(len(r) for r in b.rows)
        with pdf.table(first_row_as_headings=False, line_height=5) as table:
            for row in b.rows:
                line = table.row()
                for c, text in enumerate(row):
                    span = width - len(row) + 1 if c == len(row) - 1 else 1
                    line.cell(text, colspan=span)
        pdf.ln(3)
    pdf.output(str(path))
    return path
