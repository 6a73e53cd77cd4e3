"""Reports people read (issue 14): the HTML page opened in a real headless Chromium, the
phụ lục read back with openpyxl, the Word report with python-docx, the graph as text and laid
out by Graphviz's dot, and bad output paths refused with one line."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import pty
import re
import shutil
import stat
import subprocess
import sys
from datetime import date, datetime
from html.parser import HTMLParser

import docx
import openpyxl
import pytest

from tests.chromium import Browser
from tests.conftest import ROOT, SMALL_PLAN, workflow_process, write_plan

NOW = "2024-05-20T10:00:00+07:00"
HOSTILE = 'Chưa có biên bản <script>alert("x")</script> & "kiểm kê" \\N'


def _walk(run) -> None:
    """Sơn La on 20 May 2024: one task approved, one reported, a district blocked with a
    hostile note, a district started, and the sweep's escalations."""
    day2 = "2024-04-02T09:00:00+07:00"
    run.ok("start", "quyet-toan-2023", "--as", "so-y-te", now=day2)
    run.ok("report", "quyet-toan-2023", "--as", "so-y-te", "--note", "Đã gửi <b>", now=day2)
    run.ok("approve", "quyet-toan-2023", "--as", "ubnd-tinh", now=day2)
    run.ok("start", "quyet-toan-2024", "--as", "so-y-te", now=day2)
    run.ok("report", "quyet-toan-2024", "--as", "so-y-te", "--note", "Đã xong", now=day2)
    run.ok("block", "kiem-ke-tai-san/moc-chau", "--as", "moc-chau", "--note", HOSTILE, now=day2)
    run.ok("start", "kiem-ke-tai-san/mai-son", "--as", "so-y-te", now=day2)
    run.ok("escalate", now=NOW)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tasks: set[str] = set()
        self.tags: set[str] = set()
        self.cells: dict[tuple[str, str], int] = {}
        self._agency: str | None = None
        self._bucket: str | None = None
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "data-task" in a:
            self.tasks.add(a["data-task"])
        if tag == "tr" and "data-agency" in a:
            self._agency = a["data-agency"]
        self._bucket = a.get("data-bucket")
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, text):
        if self._bucket and self._agency is not None and text.strip():
            self.cells[(self._agency, self._bucket)] = int(text)
            self._bucket = None


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def test_the_page_in_chromium_shows_every_task_and_the_summary(son_la, tmp_path, browser):
    _walk(son_la)
    page = tmp_path / "tinh-hinh.html"
    r = son_la.ok("report", "--html", page, now=NOW)
    assert r.err.strip().endswith(f"wrote {page}")
    summary = son_la.ok("summary", "--json", now=NOW).json
    every = {t["id"] for t in son_la.ok("tasks", "--json", now=NOW).json}
    every |= {t["id"] for t in son_la.ok("tasks", "*/*", "--json", now=NOW).json}
    v = browser.visit(page, pdf=True, script="({w: document.documentElement.scrollWidth, "
                      "scripts: document.scripts.length})")
    assert v.requests == [page.resolve().as_uri()]  # nothing else: no font, CDN or image
    assert v.errors == []
    dom = _Dom()
    dom.feed(v.dom)
    assert every <= dom.tasks and len(every) == 15 + 12 * 4  # tasks, groups, instances
    for a in [*summary["agencies"], {**summary["total"], "agency": ""}]:
        for bucket in ("tasks", "on_time", "done_late", "not_yet_due", "overdue",
                       "awaiting_approval", "blocked", "escalated"):
            assert dom.cells[(a["agency"], bucket)] == a[bucket], (a["agency"], bucket)
    assert summary["total"]["awaiting_approval"] == 1 and summary["total"]["blocked"] == 1
    assert v.values["scripts"] == 0 and "script" not in dom.tags and dom.urls == []
    assert "<script>alert" not in v.dom and "&lt;script&gt;alert" in v.dom
    assert "Tổng hợp theo cơ quan chủ trì" in v.dom and "Vướng mắc" in v.dom
    assert "<svg" in v.dom and 'class="node' in v.dom  # the graph laid out by dot
    assert v.screenshot.startswith(b"\x89PNG") and v.pdf.startswith(b"%PDF")
    (tmp_path / "tinh-hinh.png").write_bytes(v.screenshot)
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", v.pdf)
    assert box and round(float(box[1])) == 842 and round(float(box[2])) == 595  # A4 landscape
    phone = browser.visit(page, width=390, height=800,
                          script="({w: document.documentElement.scrollWidth})")
    assert phone.values["w"] <= 390 and phone.errors == []  # no sideways scrolling on a phone


def test_the_checks_catch_a_page_that_fetches_or_fails(tmp_path, browser):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png">'
                   '<script>console.error("boom")</script>', encoding="utf-8")
    v = browser.visit(bad)
    assert "http://example.invalid/x.png" in v.requests and "boom" in v.errors


def test_as_of_page_has_the_numbers_of_summary_at(son_la, tmp_path, browser):
    _walk(son_la)
    page = tmp_path / "past.html"
    son_la.ok("report", "--html", page, "--at", "2024-04-01", now=NOW)
    past = son_la.ok("summary", "--at", "2024-04-01", "--json", now=NOW).json["total"]
    dom = _Dom()
    dom.feed(page.read_text(encoding="utf-8"))
    assert dom.cells[("", "on_time")] == past["on_time"] == 0
    assert dom.cells[("", "not_yet_due")] == past["not_yet_due"] == 59
    assert "01/04/2024" in page.read_text(encoding="utf-8")


def test_without_dot_the_page_says_so_and_is_still_written(son_la, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    page = tmp_path / "p.html"
    r = son_la("report", "--html", page, now=NOW, env={"PATH": str(bin_dir)})
    assert r.code == 0
    assert "warning: Graphviz's dot was not found" in r.err
    text = page.read_text(encoding="utf-8")
    assert 'id="graph-missing"' in text and "apt-get install graphviz" in text
    r = son_la("graph", "--format", "svg", now=NOW, env={"PATH": str(bin_dir)})
    assert r.code == 5 and r.error.startswith("Error: Graphviz's dot was not found")


def test_xlsx_reads_back_with_dates_words_and_three_sheets(son_la, tmp_path):
    _walk(son_la)
    out = tmp_path / "phu-luc.xlsx"
    son_la.ok("export", "--output", out, now=NOW)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Nhiệm vụ", "Tổng hợp", "Lịch sử"]
    ws = book["Nhiệm vụ"]
    head = [c.value for c in ws[1]]
    assert head[:5] == ["TT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp",
                        "Thời hạn"]
    assert "Đang xử lý ở" in head and ws.freeze_panes == "B2" and ws.auto_filter.ref
    rows = {r[head.index("Mã nhiệm vụ")]: dict(zip(head, r, strict=True))
            for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 15 + 12 * 4  # tasks and groups, then each group's instances
    done = rows["quyet-toan-2023"]
    assert done["Tình trạng"] == "Đã phê duyệt" and done["Đánh giá"] == "đúng hạn"
    assert done["Ngày hết hạn"] == datetime(2024, 4, 19)  # a real date, not text
    assert done["Ngày báo cáo"] == done["Ngày phê duyệt"] == datetime(2024, 4, 2)
    assert done["Cơ quan chủ trì"] == "Sở Y tế" and done["TT"] == "II.1 (năm 2023)"
    blocked = rows["kiem-ke-tai-san/moc-chau"]
    assert blocked["Khó khăn, vướng mắc"] == HOSTILE and blocked["Tình trạng"] == "Vướng mắc"
    assert blocked["Đang xử lý ở"] == "Ủy ban nhân dân tỉnh Sơn La"
    assert ws.cell(2, head.index("Ngày hết hạn") + 1).number_format == "dd/mm/yyyy"
    assert {r["Đánh giá"] for r in rows.values() if "/" in r["Mã nhiệm vụ"]} <= {
        "đúng hạn", "trễ hạn", "quá hạn", "chưa đến hạn"}
    total = son_la.ok("summary", "--json", now=NOW).json["total"]
    last = [c.value for c in list(book["Tổng hợp"].iter_rows())[-1]]
    assert last == ["Tổng cộng", total["tasks"], total["on_time"], total["done_late"],
                    total["not_yet_due"], total["overdue"], total["awaiting_approval"],
                    total["blocked"], total["escalated"]]
    history = list(book["Lịch sử"].iter_rows(min_row=2, values_only=True))
    assert len(history) == len(son_la.ok("history", "--json", now=NOW).json)
    assert isinstance(history[0][1], datetime) and history[0][3] == "nạp kế hoạch"


def test_csv_is_the_first_sheet_with_a_bom(son_la, tmp_path):
    _walk(son_la)
    out = tmp_path / "phu-luc.csv"
    son_la.ok("export", "-o", out, now=NOW)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "TT" and rows[0][1] == "Nội dung nhiệm vụ" and len(rows) == 1 + 63
    moc_chau = next(r for r in rows if r[-1] == "kiem-ke-tai-san/moc-chau")
    assert HOSTILE in moc_chau
    son_la.ok("block", "kiem-ke-tai-san/mai-son", "--as", "so-y-te", "--note",
              '=HYPERLINK("http://example.invalid","x")', now=NOW)
    son_la.ok("export", "-o", out, "--force", now=NOW)
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    mai_son = next(r for r in rows if r[-1] == "kiem-ke-tai-san/mai-son")
    assert "'=HYPERLINK(\"http://example.invalid\",\"x\")" in mai_son  # never a formula
    xlsx = tmp_path / "p.xlsx"
    son_la.ok("export", "-o", xlsx, now=NOW)
    ws = openpyxl.load_workbook(xlsx)["Nhiệm vụ"]
    cell = next(r[10] for r in ws.iter_rows(min_row=2) if r[12].value.endswith("mai-son"))
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_docx_has_the_national_heading_sections_and_tables(son_la, tmp_path):
    _walk(son_la)
    out = tmp_path / "bao-cao.docx"
    son_la.ok("report", "--docx", out, now=NOW)
    d = docx.Document(out)
    text = "\n".join(p.text for p in d.paragraphs)
    heading = "\n".join(p.text for c in d.tables[0].rows[0].cells for p in c.paragraphs)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in heading
    assert "Độc lập - Tự do - Hạnh phúc" in heading and "SỞ Y TẾ" in heading
    assert "Số: …/BC-SYT" in heading and "Sơn La, ngày 20 tháng 5 năm 2024" in heading
    assert "BÁO CÁO\nTình hình thực hiện Kế hoạch số …/KH-UBND" in text
    for section in ("I. KẾT QUẢ THỰC HIỆN", "2. Các nhiệm vụ đã hoàn thành",
                    "3. Các nhiệm vụ quá hạn", "II. KHÓ KHĂN, VƯỚNG MẮC", "PHỤ LỤC"):
        assert section in text
    assert HOSTILE in text and "đúng hạn 1" in text
    assert d.styles["Normal"].font.name == "Times New Roman"
    assert d.styles["Normal"].font.size.pt == 14
    appendix = d.tables[-1]
    assert appendix.rows[0].cells[0].text == "TT" and len(appendix.rows) == 1 + 63
    assert d.sections[-1].orientation == 1  # landscape


def test_graph_as_mermaid_dot_and_svg_with_labels_escaped(small, tmp_path):
    hostile = SMALL_PLAN.replace('title: "Quyết toán"', 'title: "Quyết \\"toán\\" \\\\N <b>"')
    small.ok("load", write_plan(tmp_path, hostile, "v2.yaml"), "--upgrade")
    small.ok("start", "a", "--as", "so-tai-chinh")
    mermaid = small.ok("graph").out
    assert mermaid.startswith("flowchart LR\n") and "n0 --> n1" in mermaid
    assert "#quot;toán#quot;" in mermaid and "#lt;b#gt;" in mermaid
    assert re.search(r'n0\["a\\n|n0\["a<br/>', mermaid) and ":::in_progress" in mermaid
    dot = small.ok("graph", "--format", "dot").out
    assert '"a" -> "b";' in dot and 'Quyết \\"toán\\" \\\\N <b>' in dot
    svg = small.ok("graph", "--format", "svg").out
    assert svg.startswith("<svg") and "Quyết &quot;toán&quot; \\N &lt;b&gt;" in svg
    assert 'fill="#bfdbfe"' in svg and "Đang thực hiện" in svg  # marked by state
    if shutil.which("dot"):
        assert subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True,
                              text=True).returncode == 0


@pytest.mark.parametrize("how", ["missing folder", "existing", "read-only", "future",
                                 "suffix", "folder"])
def test_bad_output_is_one_error_line_and_nothing_written(small, tmp_path, how):
    target = tmp_path / "out.xlsx"
    args = ["export", "--output", target]
    if how == "missing folder":
        args[2] = tmp_path / "nope" / "out.xlsx"
    elif how == "existing":
        target.write_bytes(b"keep")
    elif how == "read-only":
        if os.geteuid() == 0:  # root writes anywhere a permission allows: use sysfs
            args[2] = "/sys/out.xlsx"
        else:
            tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    elif how == "future":
        args += ["--at", "2030-01-01"]
    elif how == "suffix":
        args[2] = tmp_path / "out.pdf"
    elif how == "folder":
        args = ["report", "--html", tmp_path]
    r = small(*args)
    tmp_path.chmod(0o755)
    expected = {"missing folder": (5, "Error: cannot write"), "existing": (6, "Error: "),
                "read-only": (5, "Error: cannot write"), "future": (2, "Error: --at 2030"),
                "suffix": (2, "Error: --output"), "folder": (2, "Error: cannot write")}[how]
    assert (r.code, r.error[:len(expected[1])]) == expected, r.err
    assert len([ln for ln in r.err.splitlines() if ln.startswith("Error:")]) == 1
    assert "Traceback" not in r.err
    left = {p.name for p in tmp_path.iterdir() if not p.name.startswith(("plan.", "workflow."))}
    assert left == ({"out.xlsx"} if how == "existing" else set())  # no temporary file left
    if how == "existing":
        assert target.read_bytes() == b"keep" and "add --force" in r.error
        small.ok("export", "--output", target, "--force")
        assert openpyxl.load_workbook(target).sheetnames[0] == "Nhiệm vụ"


def test_a_plan_without_tasks_is_refused(run, tmp_path):
    empty = ("id: empty\ntitle: Trống\nissuer: u\ncoordinator: s\nagencies:\n"
             "  u: {name: UBND}\n  s: {name: SYT}\ntasks: {}\n")
    run.ok("load", write_plan(tmp_path, empty))
    r = run("report", "--html", tmp_path / "e.html")
    assert r.code == 5 and r.error.startswith("Error: plan empty has no tasks")
    assert not (tmp_path / "e.html").exists()


def test_report_still_moves_a_task_and_needs_one(small):
    assert small("report").code == 2
    r = small("report", "a", "--html", "x.html")
    assert r.code == 2 and r.error.startswith("Error: --html/--docx write the plan's report")


@pytest.mark.sqlite_only
def test_libreoffice_opens_both_files_as_an_outside_reader(small, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc "
                    "libreoffice-writer)")
    small.ok("export", "-o", tmp_path / "p.xlsx")
    small.ok("report", "--docx", tmp_path / "b.docx")
    done = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", tmp_path / "pdf",
                           tmp_path / "p.xlsx", tmp_path / "b.docx"],
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for name in ("p.pdf", "b.pdf"):
        assert (tmp_path / "pdf" / name).read_bytes().startswith(b"%PDF")


def test_dates_in_words_follow_nghi_dinh_30():
    from workflow.views.words import long_date
    assert long_date(date(2024, 2, 5)) == "ngày 05 tháng 02 năm 2024"
    assert long_date(date(2024, 11, 20)) == "ngày 20 tháng 11 năm 2024"


@pytest.mark.sqlite_only
def test_a_progress_bar_on_a_terminal_and_nothing_when_piped(small, tmp_path):
    env = {"WORKFLOW_DB": small.db, "WORKFLOW_NOW": "2024-04-02T09:00:00+07:00",
           "WORKFLOW_LOG_LEVEL": "error", "TERM": "xterm"}
    piped = workflow_process("export", "-o", tmp_path / "a.xlsx", env=env)
    assert piped.returncode == 0 and piped.stderr == f"wrote {tmp_path / 'a.xlsx'}\n"
    main, child = pty.openpty()
    with subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "export", "-o",
                           str(tmp_path / "b.xlsx")], env={**os.environ, **env},
                          stdout=subprocess.DEVNULL, stderr=child) as proc:
        os.close(child)
        seen = b""
        with contextlib.suppress(OSError):  # EIO once the child has gone
            while chunk := os.read(main, 65536):
                seen += chunk
        assert proc.wait(timeout=60) == 0
    os.close(main)
    assert b"reading the data" in seen and b"\x1b[" in seen  # rich drew a bar (in English)
    assert seen.rstrip().endswith(f"wrote {tmp_path / 'b.xlsx'}".encode())
