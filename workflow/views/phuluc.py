"""The phụ lục: one row per task in the document's order, as the provinces keep it in Excel
(SPEC.md, "Export"), with the summary and history sheets beside it; shared by the Excel, CSV
and Word renderers. Values are plain Python (dates as dates), formatted by each renderer."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from typing import IO, Any

from workflow.views.report_data import Progress, ReportData, no_progress
from workflow.views.words import BUCKETS, EVENT, REASON, STATE, assessment, day

COLUMNS = ("TT", "Nội dung nhiệm vụ", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời hạn",
           "Ngày hết hạn", "Tình trạng", "Ngày báo cáo", "Ngày phê duyệt", "Đánh giá",
           "Khó khăn, vướng mắc", "Đang xử lý ở", "Mã nhiệm vụ")
SUMMARY_COLUMNS = ("Cơ quan chủ trì", *(label for _k, label in BUCKETS))
HISTORY_COLUMNS = ("STT", "Thời gian", "Nhiệm vụ", "Sự kiện", "Từ", "Đến", "Cơ quan",
                   "Người thực hiện", "Ghi chú", "Chuyển đến", "Cấp", "Lý do")


def rows(data: ReportData, progress: Progress = no_progress) -> list[tuple[Any, ...]]:
    out = []
    total = len(data.tasks)
    for i, t in enumerate(data.tasks, 1):
        number = t.get("ref") or str(i)
        out.append(_row(data, t, number))
        for j, kid in enumerate(data.instances.get(t["id"], ()), 1):
            out.append(_row(data, kid, f"{number}.{j}"))
        if i % 500 == 0:
            progress("phụ lục", i, total)
    return out


def _row(data: ReportData, t: dict[str, Any], number: str) -> tuple[Any, ...]:
    title = t["title"]
    if t["kind"] == "instance" and " — " in title:
        title = "— " + title.rsplit(" — ", 1)[1]  # under its group's row
    words = t.get("due_text") or ""
    original = t.get("original_due")
    if original and original != t.get("due"):
        words = f"{words} (gia hạn; hạn ban đầu {day(original)})".strip()
    if t["kind"] == "group":
        counts = Counter(assessment(k) for k in data.instances.get(t["id"], ()))
        judged = ", ".join(f"{n} {word}" for word, n in counts.most_common())
    else:
        judged = assessment(t)
    return (number, title, data.leads(t), ", ".join(data.name(a) for a in t["support"]),
            words, _date(t.get("due")), STATE[t["state"]], data.reported_on.get(t["id"]),
            data.approved_on.get(t["id"]), judged, data.block_notes.get(t["id"], ""),
            data.name(t.get("escalated_to")), t["id"])


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def summary_rows(data: ReportData) -> list[tuple[Any, ...]]:
    out = [(data.name(a["agency"]), *(a[k] for k, _l in BUCKETS))
           for a in data.summary["agencies"]]
    out.append(("Tổng cộng", *(data.summary["total"][k] for k, _l in BUCKETS)))
    return out


def history_rows(data: ReportData) -> list[tuple[Any, ...]]:
    """Times as naive local date-times (Excel has no timezones; the plan's is in the title)."""
    return [(e["seq"], datetime.fromisoformat(e["at"]).replace(tzinfo=None), e["task"] or "",
             EVENT.get(e["event"], e["event"]), STATE.get(e["from"] or "", e["from"] or ""),
             STATE.get(e["to"] or "", e["to"] or ""), data.name(e["actor"]), e["person"] or "",
             e["note"] or "", data.name(e.get("escalated_to")), e.get("level") or "",
             REASON.get(e.get("reason") or "", e.get("reason") or ""))
            for e in data.history]


def _inert(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) gets a leading
    apostrophe, as OWASP advises for CSV: nothing read from the data is executed."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(data: ReportData, out: IO[bytes], progress: Progress = no_progress) -> None:
    """The first sheet as CSV: UTF-8 with a byte-order mark (Excel then reads Vietnamese
    whole), CRLF rows, ISO dates."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows(data, progress):
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date)
                         else _inert(v) for v in row])
    text.flush()
    text.detach()
