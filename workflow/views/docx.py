"""The periodic progress report (báo cáo tình hình thực hiện Kế hoạch) as a Word document in
the layout of Nghị định 30/2020/NĐ-CP: Times New Roman, the national heading, the issuing
body, number, place and date, the title, the sections, and the phụ lục table on a landscape
page. A coordinator edits it and signs it."""

from __future__ import annotations

import copy
import re
from typing import IO, Any

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell

from workflow.text import strip_accents
from workflow.views import phuluc
from workflow.views.report_data import Progress, ReportData, no_progress
from workflow.views.words import STATE, assessment, day, long_date

FONT = "Times New Roman"
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # XML 1.0 cannot hold these
LIST_LIMIT = 100  # tasks listed by name in a section; the rest are in the phụ lục
APPENDIX = ("TT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời hạn",
            "Tình trạng", "Đánh giá", "Khó khăn, vướng mắc")


def write(data: ReportData, out: IO[bytes], progress: Progress = no_progress) -> None:
    doc = Document()
    _page(doc)
    _heading(doc, data)
    progress("báo cáo", 1, 4)
    _results(doc, data)
    _difficulties(doc, data)
    _closing(doc, data)
    progress("phụ lục", 2, 4)
    _appendix(doc, data, progress)
    doc.core_properties.title = f"Báo cáo tình hình thực hiện {data.title}"
    doc.core_properties.author = data.name(data.coordinator)
    doc.save(out)
    progress("docx", 4, 4)


def _page(doc: DocumentType) -> None:
    s = doc.sections[0]
    s.page_width, s.page_height = Cm(21), Cm(29.7)
    s.top_margin = s.bottom_margin = Cm(2)
    s.left_margin, s.right_margin = Cm(3), Cm(1.5)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(14)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    style.paragraph_format.space_after = Pt(6)


def _para(where, text: str = "", *, bold: bool = False, italic: bool = False, size: float = 14,
          align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False, after: float = 6):
    p = where.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(after)
    if indent:
        p.paragraph_format.first_line_indent = Cm(1)
    if text:
        run = p.add_run(text)
        run.bold, run.italic, run.font.size = bold, italic, Pt(size)
    return p


def _heading(doc: DocumentType, data: ReportData) -> None:
    """Nghị định 30/2020, Phụ lục I: body and number on the left, national heading, place and
    date on the right, then the title."""
    number, place = _document_parts(data.document)
    body = data.name(data.coordinator)
    table = doc.add_table(rows=1, cols=2)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(10)
    center = WD_ALIGN_PARAGRAPH.CENTER
    left.paragraphs[0].text = ""
    _para(left, data.name(data.issuer).upper(), size=13, align=center, after=0)
    _para(left, body.upper(), bold=True, size=13, align=center, after=6)
    _para(left, f"Số: …/BC-{_initials(body)}", size=13, align=center, after=0)
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=13, align=center,
          after=0)
    _para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, size=14, align=center, after=6)
    _para(right, f"{place}, {long_date(data.today)}", italic=True, size=14, align=center)
    for cell in (left, right):
        first = cell.paragraphs[0]
        first._element.getparent().remove(first._element)
    _para(doc, "", after=0)
    _para(doc, "BÁO CÁO", bold=True, align=center, after=0)
    _para(doc, f"Tình hình thực hiện Kế hoạch số {number}", bold=True, align=center, after=0)
    _para(doc, data.title, bold=True, align=center, after=12)
    _para(doc, f"Kính gửi: {data.name(data.issuer)}.", align=center, after=12)
    _para(doc, f"Thực hiện Kế hoạch số {number} của {data.name(data.issuer)} về {data.title}, "
               f"{body} báo cáo tình hình thực hiện đến {long_date(data.today)} như sau:",
          indent=True)


def _document_parts(document: str | None) -> tuple[str, str]:
    """(the plan's number, the place) from the definition's ``document`` text such as
    "Số: /KH-UBND, Sơn La, 2024"; an ellipsis where it does not say."""
    number, place = "…", "……"
    for part in (p.strip() for p in (document or "").split(",")):
        found = re.match(r"(?i)^số\s*:?\s*(.*)$", part)
        if found:
            value = found[1].strip()
            number = f"…{value}" if value.startswith("/") else value or "…"
        elif part and not re.search(r"\d", part) and place == "……":
            place = part
    return number, place


def _initials(name: str) -> str:
    letters = [w[0] for w in name.split() if w[0].isalpha()]
    return strip_accents("".join(letters).upper()) or "…"


def _results(doc: DocumentType, data: ReportData) -> None:
    total = data.summary["total"]
    _para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True)
    _para(doc, "1. Kết quả chung", bold=True)
    done = total["on_time"] + total["done_late"]
    _para(doc, f"Kế hoạch có {total['tasks']} nhiệm vụ (mỗi đơn vị thực hiện tính một nhiệm "
               f"vụ). Đến {long_date(data.today)}: đã hoàn thành {done} nhiệm vụ (đúng hạn "
               f"{total['on_time']}, trễ hạn {total['done_late']}); chưa đến hạn "
               f"{total['not_yet_due']}; quá hạn {total['overdue']}; đã báo cáo, chờ phê duyệt "
               f"{total['awaiting_approval']}; đang vướng mắc {total['blocked']}; "
               f"{total['escalated']} nhiệm vụ đã chuyển cấp trên xử lý.", indent=True)
    _summary_table(doc, data)
    concrete = data.concrete()
    _para(doc, "2. Các nhiệm vụ đã hoàn thành", bold=True)
    finished = [t for t in concrete if t["state"] == "approved"]
    _listing(doc, data, finished, lambda t: (
        f"phê duyệt {day(data.approved_on.get(t['id']))}, {assessment(t)}"),
        "Chưa có nhiệm vụ nào hoàn thành.")
    _para(doc, "3. Các nhiệm vụ quá hạn", bold=True)
    late = [t for t in concrete if t.get("overdue")]
    _listing(doc, data, late, lambda t: "; ".join(filter(None, (
        f"hạn {day(t['due'])}", STATE[t["state"]].lower(),
        f"phối hợp: {', '.join(data.name(a) for a in t['support'])}" if t["support"] else "",
        f"khó khăn: {data.block_notes[t['id']]}" if t["id"] in data.block_notes else ""))),
        "Không có nhiệm vụ quá hạn.")


def _listing(doc: DocumentType, data: ReportData, tasks: list[dict[str, Any]], detail,
             empty: str) -> None:
    if not tasks:
        _para(doc, empty, indent=True)
    for t in tasks[:LIST_LIMIT]:
        ref = f"{t['ref']}. " if t.get("ref") and t["kind"] != "instance" else ""
        _para(doc, f"- {ref}{t['title']} (chủ trì: {data.leads(t)}; {detail(t)}).",
              indent=True, after=3)
    if len(tasks) > LIST_LIMIT:
        _para(doc, f"- Và {len(tasks) - LIST_LIMIT} nhiệm vụ khác (chi tiết tại Phụ lục).",
              indent=True)


def _summary_table(doc: DocumentType, data: ReportData) -> None:
    rows = phuluc.summary_rows(data)
    _table(doc, phuluc.SUMMARY_COLUMNS, rows, size=11,
           widths=[4.5] + [1.5] * (len(phuluc.SUMMARY_COLUMNS) - 1))


def _difficulties(doc: DocumentType, data: ReportData) -> None:
    _para(doc, "II. KHÓ KHĂN, VƯỚNG MẮC", bold=True)
    noted = [t for t in data.concrete() if t["state"] == "blocked" and t["id"] in
             data.block_notes]
    if not noted:
        _para(doc, "Không có khó khăn, vướng mắc nào đang được báo cáo.", indent=True)
    for t in noted[:LIST_LIMIT]:
        _para(doc, f"- {t['title']} ({data.leads(t)}): {data.block_notes[t['id']]}",
              indent=True, after=3)
    if len(noted) > LIST_LIMIT:
        _para(doc, f"- Và {len(noted) - LIST_LIMIT} vướng mắc khác (chi tiết tại Phụ lục).",
              indent=True)
    _para(doc, "III. ĐỀ XUẤT, KIẾN NGHỊ", bold=True)
    _para(doc, "……", indent=True)


def _closing(doc: DocumentType, data: ReportData) -> None:
    body = data.name(data.coordinator)
    _para(doc, f"Trên đây là báo cáo tình hình thực hiện Kế hoạch của {body}./.", indent=True)
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.paragraphs[0].text = ""
    _para(left, "Nơi nhận:", bold=True, italic=True, size=12, align=None, after=0)
    for line in (f"- {data.name(data.issuer)};", "- Lưu: VT."):
        _para(left, line, size=11, align=None, after=0)
    right.paragraphs[0].text = ""
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(right, "THỦ TRƯỞNG CƠ QUAN", bold=True, align=center, after=0)
    _para(right, "(Chữ ký, dấu)", italic=True, align=center, after=48)
    _para(right, "Họ và tên", bold=True, align=center)


def _appendix(doc: DocumentType, data: ReportData, progress: Progress) -> None:
    section = doc.add_section()
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.left_margin, section.right_margin = Cm(2), Cm(1.5)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, "PHỤ LỤC", bold=True, align=center, after=0)
    _para(doc, "TÌNH HÌNH THỰC HIỆN CÁC NHIỆM VỤ", bold=True, align=center, after=0)
    _para(doc, f"(Kèm theo Báo cáo tình hình thực hiện Kế hoạch đến {long_date(data.today)})",
          italic=True, align=center, after=12)
    keep = [phuluc.COLUMNS.index(c) for c in APPENDIX]
    rows = [tuple(_cell(r[i]) for i in keep) for r in phuluc.rows(data, progress)]
    _table(doc, APPENDIX, rows, size=11, widths=[1.3, 7.5, 3.2, 3.2, 2.6, 2.4, 2.2, 3.8])


def _cell(value: Any) -> str:
    return day(value) if hasattr(value, "isoformat") else "" if value is None else str(value)


def _table(doc: DocumentType, head: tuple[str, ...], rows: list[tuple[Any, ...]], *,
           size: float, widths: list[float]) -> Table:
    """A grid table: the header row and one formatted body row are built through
    python-docx, and each data row is a copy of that body row with its texts set (building
    every cell through python-docx takes 50 s for a 10,000-row phụ lục)."""
    table = doc.add_table(rows=0, cols=len(head))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = _row(table, head, size, widths, bold=True)
    header.get_or_add_trPr().append(_repeat_header())
    if rows:
        model = _row(table, ("x",) * len(head), size, widths)
        for values in rows:
            tr = copy.deepcopy(model)
            for t, value in zip(tr.iter(qn("w:t")), values, strict=True):
                t.text = _XML_UNSAFE.sub("", _cell(value))
            model.addprevious(tr)
        model.getparent().remove(model)
    return table


def _row(table: Table, values: tuple[str, ...], size: float, widths: list[float], *,
         bold: bool = False):
    tr = table.add_row()._tr
    for tc, value, width in zip(tr.tc_lst, values, widths, strict=True):
        cell = _Cell(tc, table)
        cell.width = Cm(width)
        run = cell.paragraphs[0].add_run(value)
        run.font.size, run.bold = Pt(size), bold or None
        if bold:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    return tr


def _repeat_header():
    """The header row repeats on every printed page."""
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    return element
