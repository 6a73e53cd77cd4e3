"""`workflow import`: each shared plan against its reviewed draft, in every input format.

The sources are copies of ../shared/seeds and ../shared/plans (tests/data/import/sources);
the expected drafts (tests/data/import/expected) were read line by line against them.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Runner
from tests.documents import task_table, write_csv, write_docx, write_pdf, write_xlsx
from workflow.errors import DocumentError
from workflow.plan.dates import parse_deadline
from workflow.plan.importer import import_document
from workflow.plan.importer.agencies import Registry, split_cell
from workflow.plan.importer.sources import read_blocks
from workflow.plan.importer.words import agency_key

DATA = Path(__file__).parent / "data" / "import"
SOURCES = sorted((DATA / "sources").glob("*.txt"))
TABLE_PLANS = [p for p in SOURCES if p.name[:2] in ("01", "05", "09")]
SMALL = [p for p in SOURCES if not p.name.startswith("01")]  # PDFs of Đồng Nai take seconds


@pytest.fixture
def run(tmp_path, capsys, monkeypatch) -> Runner:
    return Runner(str(tmp_path / "w.db"), capsys, monkeypatch)


def expected(source: Path) -> str:
    return (DATA / "expected" / f"{source.stem}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_text_import_matches_the_reviewed_draft(source, run, tmp_path):
    out = tmp_path / "draft.yaml"
    r = run.ok("import", source, "--output", out)
    assert out.read_text(encoding="utf-8") == expected(source)
    draft = import_document(source)
    assert r.err.strip().splitlines()[-1] == draft.summary()
    assert r.out == ""


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_round_trip_import_validate_load_tasks(source, run, tmp_path):
    out = tmp_path / f"{source.stem}.yaml"
    run.ok("import", source, "-o", out)
    run.ok("validate", out)
    run.ok("load", out)
    tasks = run.ok("tasks", "--json").json
    data = import_document(source).data()
    assert [t["id"] for t in tasks] == list(data["tasks"])
    for t in tasks:
        want = data["tasks"][t["id"]]
        leads = [want["lead"]] if isinstance(want["lead"], str) else want["lead"]
        due = parse_deadline(want["due"]).due if want["due"] else None
        assert (t["lead"], t["support"], t["due"]) == (  # joint leads: the list
            leads[0] if len(leads) == 1 else leads, want["support"],
            due.isoformat() if due else None)
    # ... and out again as the phụ lục: one row per task, in the document's order
    sheet = tmp_path / f"{source.stem}.csv"
    run.ok("export", "--output", sheet)
    rows = list(csv.reader(sheet.read_text(encoding="utf-8-sig").splitlines()))
    titles = {t["title"] for t in tasks}
    assert len(rows) > len(tasks) and titles <= {cell for row in rows for cell in row}


def _same_plan(a: dict, b: dict, *, header: bool = True) -> None:
    assert a["tasks"] == b["tasks"]
    if header:
        for key in ("id", "title", "document", "issuer", "coordinator", "agencies"):
            assert a[key] == b[key], key


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_word_file_with_real_and_merged_tables_gives_the_same_draft(source, tmp_path):
    _kind, blocks = read_blocks(source)
    docx = write_docx(blocks, tmp_path / f"{source.stem}.docx")
    _same_plan(import_document(docx).data(), import_document(source).data())


@pytest.mark.parametrize("source", SMALL, ids=lambda p: p.stem)
def test_pdf_with_a_text_layer_gives_the_same_draft(source, tmp_path):
    _kind, blocks = read_blocks(source)
    pdf = write_pdf(blocks, tmp_path / f"{source.stem}.pdf")
    _same_plan(import_document(pdf).data(), import_document(source).data())


def _rows(data: dict) -> list[tuple]:
    """Tasks with agencies by name: a phụ lục alone does not say the province, so ids that
    drop the province's name ("... Đồng Nai") may differ from the whole document's."""
    name = {i: a["name"] for i, a in data["agencies"].items()}

    def leads(lead: str | list[str]) -> list[str]:
        return [name[x] for x in ([lead] if isinstance(lead, str) else lead)]

    return [(t["ref"], t["title"], leads(t["lead"]), [name[x] for x in t["support"]], t["due"])
            for t in data["tasks"].values()]


@pytest.mark.parametrize("source", TABLE_PLANS, ids=lambda p: p.stem)
def test_phu_luc_in_excel_and_csv_gives_the_same_tasks(source, tmp_path):
    _kind, blocks = read_blocks(source)
    rows = task_table(blocks)
    want = _rows(import_document(source).data())
    xlsx = write_xlsx(rows, tmp_path / "phu-luc.xlsx")
    csv = write_csv(rows, tmp_path / "phu-luc.csv")
    for path in (xlsx, csv):
        assert _rows(import_document(path).data()) == want


def test_json_gives_the_draft_and_its_checks(run):
    source = DATA / "sources" / "05-dong-thap-kh617-cds-doanh-nghiep.txt"
    data = run.ok("import", source, "--json").json
    assert data["id"] == "dong-thap-2025-kh617"
    assert data["agencies"]["so-khoa-hoc-cong-nghe"] == {
        "name": "Sở Khoa học và Công nghệ", "aliases": ["Sở KH&CN"]}
    assert data["tasks"]["4-xay-dung-bo-tieu"]["due"] == "Quí IV-2025"  # the words, as written
    assert data["checks"] and all(set(c) == {"where", "check"} for c in data["checks"])
    assert any(c["where"] == "coordinator" for c in data["checks"])
    assert len(data["checks"]) == import_document(source).check_count()


def test_a_layout_not_seen_before(tmp_path):
    """Another province's phụ lục: upper-case header words, "Đơn vị chủ trì thực hiện",
    "Thời hạn", a merged lead cell, joint leads and an abbreviated, southern-spelled Sở."""
    text = (
        "ỦY BAN NHÂN DÂN TỈNH GIA LAI\n\nSố: 2158/KH-UBND\n\nGia Lai, ngày 5 tháng 9 năm 2024\n\n"
        "KẾ HOẠCH\n\nThực hiện chuyển đổi số ngành y tế\n\n"
        "Giao Sở Y tế chủ trì, theo dõi, đôn đốc việc thực hiện Kế hoạch này.\n\n"
        "TM. ỦY BAN NHÂN DÂN\n\nPHỤ LỤC\n\n"
        "| STT | NỘI DUNG CÔNG VIỆC | ĐƠN VỊ CHỦ TRÌ THỰC HIỆN | ĐƠN VỊ PHỐI HỢP | THỜI HẠN |\n"
        "|---|---|---|---|---|\n"
        "| I | Hạ tầng | | | |\n"
        "| 1 | Nâng cấp mạng | Sở KH&CN | Sở Tài Chánh, Sở Y tế và UBND cấp huyện | Quý IV/2024 |\n"
        "| 2 | Lập kế hoạch vốn | Sở Y tế và Sở Tài chính | Các sở, ban, ngành | 30/11/2024 |\n"
        "| 3 | Đào tạo | Sở Khoa học và Công nghệ | Bảo hiểm xã hội tỉnh và Sở Y tế |"
        " Quí 5/2024 |\n"
    )
    path = tmp_path / "gia-lai.md"
    path.write_text(text, encoding="utf-8")
    data = import_document(path).data()
    assert data["id"] == "gia-lai-2024-kh2158"
    assert data["coordinator"] == "so-y-te"
    assert data["issuer"] == "ubnd-tinh"
    assert data["agencies"]["ubnd-tinh"]["name"] == "Ủy ban nhân dân tỉnh Gia Lai"
    tasks = list(data["tasks"].values())
    assert [t["ref"] for t in tasks] == ["1", "2", "3"]
    assert tasks[0]["lead"] == "so-khoa-hoc-cong-nghe"
    assert tasks[0]["support"] == ["so-tai-chinh", "so-y-te", "ubnd-cap-huyen"]
    assert tasks[1]["lead"] == ["so-y-te", "so-tai-chinh"]
    assert tasks[1]["support"] == ["so-ban-nganh"]
    assert tasks[2]["lead"] == "so-khoa-hoc-cong-nghe"
    assert tasks[2]["support"] == ["bhxh-tinh", "so-y-te"]
    assert tasks[2]["due"] is None  # "Quí 5/2024" is no quarter: left out, never guessed
    assert "Quí 5/2024" in import_document(path).yaml()


@pytest.mark.parametrize(("cell", "names"), [
    ("Sở Y tế, Sở Nội vụ và UBND cấp huyện", ["Sở Y tế", "Sở Nội vụ", "UBND cấp huyện"]),
    ("Bảo hiểm xã hội tỉnh và Sở Y tế", ["Bảo hiểm xã hội tỉnh", "Sở Y tế"]),
    ("Các sở, ban, ngành tỉnh; UBND các xã, phường",
     ["Các sở, ban, ngành tỉnh", "UBND các xã, phường"]),
    ("Sở Văn hóa, Thể thao và Du lịch", ["Sở Văn hóa, Thể thao và Du lịch"]),
    ("Sở Khoa học và Công nghệ Sở Công Thương; UBND các phường, xã",
     ["Sở Khoa học và Công nghệ", "Sở Công Thương", "UBND các phường, xã"]),
    ("Sở Tài Chính; Sở Sở Công thương", ["Sở Tài Chính", "Sở Công thương"]),
    ("Sở KH&CN; các cơ quan, đơn vị liên quan", ["Sở KH&CN", "các cơ quan, đơn vị liên quan"]),
])
def test_a_cell_naming_several_agencies_is_split(cell, names):
    assert split_cell(cell) == names


@pytest.mark.parametrize(("a", "b"), [
    ("Sở KH&CN", "Sở Khoa học và Công nghệ"),
    ("Sở Tài Chánh", "Sở Tài chính"),
    ("Sở Khoa học Công nghệ", "Sở Khoa học và Công nghệ"),
    ("UBND các phường xã", "UBND các phường, xã"),
    ("Công an tỉnh Đồng Nai", "Công an tỉnh"),
    ("Sở Văn hoá Thể thao và Du lịch", "Sở Văn hóa, Thể thao và Du lịch"),
])
def test_one_agency_however_it_is_written(a, b):
    assert agency_key(a, "Đồng Nai") == agency_key(b, "Đồng Nai")
    registry = Registry("Đồng Nai")
    assert registry.add(a) == registry.add(b)


# --------------------------------------------------------------------------- bad input


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def _no_plan_docx(tmp_path: Path) -> Path:
    import docx
    document = docx.Document()
    document.add_paragraph("Biên bản họp giao ban tháng 3.")
    path = tmp_path / "bien-ban.docx"
    document.save(str(path))
    return path


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    big = tmp_path / "big.docx"
    with big.open("wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: nothing is written to disk
    corrupt_xlsx = tmp_path / "corrupt.xlsx"
    corrupt_xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    bad_word = _zip(tmp_path / "broken.docx", {"[Content_Types].xml": b"<Types/>",
                                                "word/document.xml": b"<not xml"})
    bomb = _zip(tmp_path / "bomb.xlsx", {"xl/workbook.xml": b"<workbook/>",
                                         "xl/worksheets/sheet1.xml": b"\x00" * 50_000_000})
    encrypted = tmp_path / "locked.docx"
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    renamed = tmp_path / "plan.pdf"
    renamed.write_text("KẾ HOẠCH\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"garbage" * 100)
    scan = tmp_path / "scan.pdf"
    from fpdf import FPDF
    doc = FPDF()
    doc.add_page()
    doc.rect(20, 20, 100, 50, style="F")  # a page with no text, like a scan
    doc.output(str(scan))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Kế hoạch".encode("utf-16-le"))
    return {
        "empty": (empty, "empty.txt: the file is empty"),
        "no plan": (_no_plan_docx(tmp_path), "bien-ban.docx: no plan found"),
        "corrupt docx": (bad_word, "broken.docx: the Word file is damaged"),
        "corrupt xlsx": (corrupt_xlsx, "corrupt.xlsx: the file is damaged"),
        "corrupt pdf": (pdf, "broken.pdf: the PDF is damaged, encrypted or not readable"),
        "password": (encrypted, "locked.docx: an encrypted (password-protected)"),
        "200 MB": (big, "big.docx: the file is 200 MiB"),
        "zip bomb": (bomb, "bomb.xlsx: entry 'xl/worksheets/sheet1.xml' expands"),
        "wrong extension": (renamed, "plan.pdf: the file is plain text, not what its "
                                     "extension .pdf says"),
        "scan": (scan, "scan.pdf: the PDF has no text layer"),
        "not utf-8": (latin1, "latin1.txt"),
    }


CASES = ["empty", "no plan", "corrupt docx", "corrupt xlsx", "corrupt pdf", "password",
         "200 MB", "zip bomb", "wrong extension", "scan", "not utf-8"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_error_line_exit_3_and_nothing_written(case, run, tmp_path):
    path, start = _bad_inputs(tmp_path)[case]
    out = tmp_path / "draft.yaml"
    r = run("import", path, "--output", out)
    assert r.code == 3, r.err
    assert r.error.startswith(f"Error: {tmp_path}/{start}"), r.error
    assert len(r.err.strip().splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".draft")] == []


def test_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    bomb = _zip(tmp_path / "bomb.docx", {"word/document.xml": b" " * 300_000_000})
    with pytest.raises(DocumentError, match="refused as a zip bomb"):
        read_blocks(bomb)  # expanding it would take seconds and 300 MB; refusing takes neither


def test_missing_file_is_exit_5(run, tmp_path):
    r = run("import", tmp_path / "nope.docx", "--output", tmp_path / "d.yaml")
    assert (r.code, r.error) == (5, f"Error: {tmp_path}/nope.docx: no such file")
    assert not (tmp_path / "d.yaml").exists()


def test_output_replaces_a_file_whole(run, tmp_path):
    out = tmp_path / "draft.yaml"
    out.write_text("old", encoding="utf-8")
    source = DATA / "sources" / "09-ha-noi-kh310-ha-tang-5g-iot.txt"
    run.ok("import", source, "--output", out)
    assert out.read_text(encoding="utf-8") == expected(source)
    assert json.loads(run.ok("import", source, "--json").out)["id"] == "ha-noi-2025-kh310"
