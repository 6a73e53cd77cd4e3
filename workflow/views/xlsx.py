"""The phụ lục as an Excel workbook (openpyxl): sheets ``Nhiệm vụ``, ``Tổng hợp`` and
``Lịch sử``; Vietnamese headers, wrapped text, fitting widths, a frozen header row with a
filter, real Excel dates, states and assessments as words, coloured by assessment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from workflow.views import phuluc
from workflow.views.report_data import Progress, ReportData, no_progress
from workflow.views.words import LATE, NOT_DUE, ON_TIME, OVERDUE, moment

DATE, TIME = "dd/mm/yyyy", "dd/mm/yyyy hh:mm"
FONT = "Times New Roman"
THIN = Side(style="thin", color="94A3B8")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
WRAP = Alignment(wrap_text=True, vertical="top")
MAX_WIDTH = {"Nội dung nhiệm vụ": 60, "Khó khăn, vướng mắc": 40, "Ghi chú": 50}
COLOURS = ((OVERDUE, "FECACA", "991B1B"), (LATE, "FED7AA", "9A3412"),
           (ON_TIME, "BBF7D0", "166534"), (NOT_DUE, "E0F2FE", "075985"))


def write(data: ReportData, out: IO[bytes], progress: Progress = no_progress) -> None:
    book = Workbook()
    tasks = book.active
    tasks.title = "Nhiệm vụ"
    title = f"{data.title} — tình hình đến {moment(data.at)} ({data.timezone})"
    rows = phuluc.rows(data, progress)
    _sheet(tasks, phuluc.COLUMNS, rows, title)
    _colour(tasks, phuluc.COLUMNS.index("Đánh giá"), len(rows))
    progress("Tổng hợp", 1, 3)
    _sheet(book.create_sheet("Tổng hợp"), phuluc.SUMMARY_COLUMNS, phuluc.summary_rows(data),
           title, total_row=True)
    progress("Lịch sử", 2, 3)
    _sheet(book.create_sheet("Lịch sử"), phuluc.HISTORY_COLUMNS, phuluc.history_rows(data),
           title)
    book.properties.title = data.title
    book.properties.creator = "workflow"
    book.save(out)
    progress("xlsx", 3, 3)


def _sheet(ws: Worksheet, columns: Sequence[str], rows: list[tuple[Any, ...]], title: str,
           *, total_row: bool = False) -> None:
    """Header in row 1 (frozen, filtered, repeated on each printed page); data from row 2."""
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(name=FONT, bold=True, size=12)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = BOX
    body = Font(name=FONT, size=12)
    for row in rows:
        ws.append(list(row))
    for line in ws.iter_rows(min_row=2, max_row=len(rows) + 1):
        for cell in line:
            cell.font = body
            cell.alignment = WRAP
            cell.border = BOX
            if isinstance(cell.value, datetime):
                cell.number_format = TIME
            elif isinstance(cell.value, date):
                cell.number_format = DATE
    if total_row and rows:
        for cell in ws[len(rows) + 1]:
            cell.font = Font(name=FONT, size=12, bold=True)
    last = get_column_letter(len(columns))
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    ws.row_dimensions[1].height = 36
    for i, name in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = _width(name, rows, i - 1)
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.center.text = title.replace("&", "&&")  # '&' starts a header code


def _width(name: str, rows: list[tuple[Any, ...]], index: int) -> float:
    """Characters wide: the longest value in the first 2,000 rows (dates 11), within bounds;
    longer text wraps."""
    longest = max((len(w) for w in name.split()), default=4)
    for row in rows[:2000]:
        value = row[index]
        size = 11 if isinstance(value, date) else len(str(value)) if value is not None else 0
        longest = max(longest, size)
    return min(max(longest + 2, 8), MAX_WIDTH.get(name, 30))


def _colour(ws: Worksheet, index: int, count: int) -> None:
    """Đánh giá coloured by its word; the row's Tình trạng too when it is Vướng mắc."""
    if not count:
        return
    col = get_column_letter(index + 1)
    cells = f"{col}2:{col}{count + 1}"
    for word, fill, font in COLOURS:
        ws.conditional_formatting.add(cells, FormulaRule(
            formula=[f'{col}2="{word}"'],
            fill=PatternFill("solid", bgColor=fill), font=Font(color=font, bold=True)))
    state = get_column_letter(phuluc.COLUMNS.index("Tình trạng") + 1)
    ws.conditional_formatting.add(f"{state}2:{state}{count + 1}", FormulaRule(
        formula=[f'{state}2="Vướng mắc"'], fill=PatternFill("solid", bgColor="FECACA"),
        font=Font(color="991B1B", bold=True)))
