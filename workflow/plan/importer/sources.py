"""A plan's document → blocks (paragraphs and tables), whatever the file format.

Each reader is bounded before it opens anything: the file's size, then (for the zip-based
.docx and .xlsx) every entry's declared size and compression ratio from the zip's central
directory, so a zip bomb is refused without expanding a byte of it. The format is decided by
the file's first bytes, not its extension; a mismatch is an error. Third-party readers fail in
many ways on damaged input: their errors are turned into one DocumentError here, nowhere else.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import warnings
import zipfile
from pathlib import Path

from workflow.errors import DocumentError, NotFoundError
from workflow.i18n import _
from workflow.plan.importer.blocks import Block, Para, Table, clean
from workflow.plan.importer.markdown import text_blocks
from workflow.plan.importer.pdftext import page_blocks

MAX_FILE_BYTES = 100 * 1024 * 1024  # a Word plan with scanned annexes stays well below this
MAX_TEXT_BYTES = 16 * 1024 * 1024  # .txt/.md/.csv: a 94-task plan is 136 kB
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # declared total of a .docx/.xlsx's entries
MAX_ZIP_RATIO = 100  # real Office XML compresses 5-20×; bombs compress 1000×
MAX_ZIP_ENTRIES = 5000
MAX_PDF_PAGES = 500
MAX_SHEET_CELLS = 500_000

_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: old .doc/.xls, or an encrypted .docx/.xlsx


def read_blocks(path: str | Path) -> tuple[str, list[Block]]:
    """(the format read: docx, xlsx, pdf, csv or text; the document's blocks in order)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise NotFoundError(_("{path}: is a directory, expected a document").format(path=p))
    except FileNotFoundError:
        raise NotFoundError(_("{path}: no such file").format(path=p)) from None
    except OSError as err:
        raise NotFoundError(_("{path}: cannot read: {reason}").format(
            path=p, reason=err.strerror)) from None
    if size > MAX_FILE_BYTES:
        raise DocumentError(_("{path}: the file is {size} MiB; documents over {limit} MiB are "
                              "refused").format(path=p, size=size // (1024 * 1024),
                                                limit=MAX_FILE_BYTES // (1024 * 1024)))
    if size == 0:
        raise DocumentError(_("{path}: the file is empty; give the plan's .docx, .pdf, .txt, "
                              ".md, .xlsx or .csv").format(path=p))
    kind = _sniff(p)
    readers = {"docx": _docx, "xlsx": _xlsx, "pdf": _pdf, "csv": _csv, "text": _text}
    blocks = readers[kind](p)
    if not any(b.text if isinstance(b, Para) else b.rows for b in blocks):
        raise DocumentError(_("{path}: no text in the document").format(path=p))
    return kind, blocks


def _sniff(p: Path) -> str:
    """The format from the first bytes, checked against the extension."""
    with p.open("rb") as f:
        head = f.read(8)
    ext = p.suffix.lower().lstrip(".")
    if head.startswith(_CFB):
        raise DocumentError(_("{path}: an encrypted (password-protected) or old binary Office "
                              "file (.doc/.xls); remove the password or save it as "
                              ".docx/.xlsx").format(path=p))
    if head.startswith(b"%PDF-"):
        kind = "pdf"
    elif head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(p)
    else:
        kind = "csv" if ext == "csv" else "text"
    expected = {"docx": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "pdf": "pdf", "csv": "csv",
                "txt": "text", "md": "text", "markdown": "text", "text": "text"}.get(ext)
    if expected is None:
        raise DocumentError(_("{path}: unknown extension .{ext}; give a .docx, .pdf, .txt, .md, "
                              ".xlsx or .csv file").format(path=p, ext=ext or _("(none)")))
    if expected != kind:
        shown = (_("plain text") if kind in ("text", "csv") else
                 _("a {kind} file").format(kind=kind))
        raise DocumentError(_("{path}: the file is {kind}, not what its extension .{ext} says; "
                              "rename it or export it again").format(path=p, kind=shown, ext=ext))
    return kind


def _zip_kind(p: Path) -> str:
    """docx or xlsx, after the central directory shows nothing that would expand too far."""
    try:
        with zipfile.ZipFile(p) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise DocumentError(_("{path}: the file is damaged (not a readable zip archive)").format(
            path=p)) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise DocumentError(_("{path}: {entries} entries in the archive; refused as a zip bomb")
                            .format(path=p, entries=len(infos)))
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(
                info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise DocumentError(_("{path}: entry {entry!r} expands {ratio}×; refused as a zip "
                                  "bomb").format(path=p, entry=info.filename[:60], ratio=ratio))
        if info.flag_bits & 0x1:
            raise DocumentError(_("{path}: the archive is encrypted; remove the password").format(
                path=p))
    if total > MAX_UNZIPPED_BYTES:
        raise DocumentError(_("{path}: the archive would expand to {size} MiB; refused as a zip "
                              "bomb").format(path=p, size=total // (1024 * 1024)))
    names = {i.filename for i in infos}
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    raise DocumentError(_("{path}: a zip archive that is neither a Word (.docx) nor an Excel "
                          "(.xlsx) file").format(path=p))


def _text_of(p: Path) -> str:
    if p.stat().st_size > MAX_TEXT_BYTES:
        raise DocumentError(_("{path}: a text file over {limit} MiB; refused").format(
            path=p, limit=MAX_TEXT_BYTES // (1024 * 1024)))
    raw = p.read_bytes()
    if b"\x00" in raw:
        raise DocumentError(_("{path}: binary data, not text").format(path=p))
    try:
        return unicodedata.normalize("NFC", raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DocumentError(_("{path}:{line}: not UTF-8 text; save it as UTF-8").format(
            path=p, line=line)) from None


def _text(p: Path) -> list[Block]:
    return text_blocks(_text_of(p))


def _csv(p: Path) -> list[Block]:
    text = _text_of(p)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    try:
        rows = [tuple(clean(c) for c in row)
                for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as err:
        raise DocumentError(_("{path}: not readable as CSV ({error})").format(
            path=p, error=err)) from None
    return [Table(tuple(r for r in rows if any(r)))]


def _docx(p: Path) -> list[Block]:
    import docx  # optional heavy dependency: only for .docx
    try:
        document = docx.Document(str(p))
        blocks: list[Block] = []
        for item in document.iter_inner_content():
            if isinstance(item, docx.table.Table):
                blocks.append(_docx_table(item))
            else:
                blocks.append(_docx_para(item))
        return blocks
    except DocumentError:
        raise
    except Exception as err:  # python-docx/lxml raise many kinds on damaged files
        raise DocumentError(_("{path}: the Word file is damaged or not readable ({error})")
                            .format(path=p, error=type(err).__name__)) from None


def _docx_para(par) -> Para:
    text = clean(par.text)
    # The raw style id ("Heading1"): resolving par.style looks up the default style every
    # time and was four fifths of reading a 94-task plan.
    style = par._p.style or ""
    runs = [r for r in par.runs if r.text.strip()]
    strong = style.lower().startswith(("heading", "title")) or (
        bool(runs) and all(r.bold for r in runs))
    return Para(text, strong)


def _docx_table(table) -> Table:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # A cell spanning columns comes once per column: keep its text in the first only.
            key = id(cell._tc)
            cells.append("" if key in seen else clean(cell.text))
            seen.add(key)
        rows.append(tuple(cells))
    return Table(tuple(rows))


def _xlsx(p: Path) -> list[Block]:
    import openpyxl  # optional heavy dependency: only for .xlsx
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles other tools wrote
            book = openpyxl.load_workbook(str(p), data_only=True)
        try:
            return [_sheet(p, ws) for ws in book.worksheets]
        finally:
            book.close()
    except DocumentError:
        raise
    except Exception as err:  # openpyxl/lxml raise many kinds on damaged files
        raise DocumentError(_("{path}: the Excel file is damaged or not readable ({error})")
                            .format(path=p, error=type(err).__name__)) from None


def _sheet(p: Path, ws) -> Table:
    if ws.max_row * ws.max_column > MAX_SHEET_CELLS:
        raise DocumentError(_("{path}: sheet {sheet!r} has {rows} rows × {columns} columns; "
                              "refused").format(path=p, sheet=ws.title, rows=ws.max_row,
                                                columns=ws.max_column))
    grid = [["" if v is None else clean(str(v)) for v in row]
            for row in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        # A cell merged down a column applies to each row; one merged across stays in its first.
        top = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row, merged.max_row + 1):
            grid[r - 1][merged.min_col - 1] = top
    return Table(tuple(tuple(r) for r in grid if any(r)))


def _pdf(p: Path) -> list[Block]:
    import pdfplumber  # optional heavy dependency: only for .pdf
    try:
        with pdfplumber.open(str(p)) as pdf:
            if len(pdf.pages) > MAX_PDF_PAGES:
                raise DocumentError(_("{path}: {pages} pages; over {limit} is refused").format(
                    path=p, pages=len(pdf.pages), limit=MAX_PDF_PAGES))
            blocks: list[Block] = []
            for page in pdf.pages:
                blocks.extend(page_blocks(page))
    except DocumentError:
        raise
    except Exception as err:  # pdfminer raises many kinds on damaged or encrypted files
        raise DocumentError(_("{path}: the PDF is damaged, encrypted or not readable ({error})")
                            .format(path=p, error=type(err).__name__)) from None
    if not any(isinstance(b, Table) or b.text for b in blocks):
        raise DocumentError(_("{path}: the PDF has no text layer (a scan); run OCR on it first "
                              "(e.g. ocrmypdf -l vie) or give the Word file").format(path=p))
    return blocks
