"""The plan as one self-contained HTML page: inline CSS and SVG, no script, no font or image
from elsewhere (a Content-Security-Policy forbids any request), readable on a phone, printable
on A4 landscape. Every string from the data is HTML-escaped here."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from workflow.views import gantt, graph
from workflow.views.report_data import Progress, ReportData, no_progress
from workflow.views.words import BUCKETS, EVENT, REASON, STATE, day, moment

GRAPH_LIMIT = 1500  # more linked tasks than this make a graph nobody can read in a page

CSS = """
*{box-sizing:border-box}
body{font-family:"DejaVu Sans","Liberation Sans",Arial,sans-serif;margin:0;padding:1rem;
color:#0f172a;font-size:15px;line-height:1.4}
h1{font-size:1.35rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem;
border-bottom:2px solid #cbd5e1;padding-bottom:.2rem}
.meta{color:#475569;margin:0}.note{background:#fef3c7;border-left:4px solid #d97706;
padding:.5rem .8rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #cbd5e1;padding:.3rem .45rem;vertical-align:top;text-align:left}
th{background:#f1f5f9}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;background:#f8fafc}
.legend span{display:inline-block;margin:0 .8rem .3rem 0;font-size:.85rem}
.legend i{display:inline-block;width:1.1rem;height:.8rem;margin-right:.3rem;
vertical-align:middle;border:1px solid #64748b}
.gantt{max-height:80vh;overflow-y:auto;border:1px solid #cbd5e1}
.row{display:grid;grid-template-columns:minmax(9rem,26rem) 1fr;gap:.5rem;align-items:center;
border-top:1px solid #eef2f7;padding:.15rem .4rem}
.row .label{font-size:.82rem;overflow-wrap:anywhere}
.row .label span{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;
overflow:hidden}.row .label small{display:block;
color:#64748b}
.row svg{width:100%;height:22px;display:block}
.axis{position:sticky;top:0;background:#fff;z-index:1;border-bottom:1px solid #94a3b8;
font-weight:bold}
.ticks{position:relative;height:1.3rem;font-size:.72rem;font-weight:normal}
.ticks span{position:absolute;top:.1rem;border-left:1px solid #94a3b8;padding-left:2px;
white-space:nowrap}
.ticks .now{position:absolute;top:0;bottom:0;border-left:2px solid #dc2626}
details.group>summary{list-style:none;cursor:pointer}
details.group>summary::-webkit-details-marker{display:none}
details.group>summary .label span::before{content:"▸ ";color:#475569}
details.group[open]>summary .label span::before{content:"▾ "}
.kids .row{background:#f8fafc}.kids .label{padding-left:1.2rem}
.bar{stroke-width:1;vector-effect:non-scaling-stroke}
.s-assigned{fill:#cbd5e1;stroke:#64748b}.s-in_progress{fill:#93c5fd;stroke:#1d4ed8}
.s-reported{fill:#fcd34d;stroke:#b45309}.s-approved{fill:#86efac;stroke:#15803d}
.s-blocked{fill:#fca5a5;stroke:#b91c1c}
.bar.late{stroke:#dc2626;stroke-width:2.5}.bar.open{fill-opacity:.35}
.mk.rep{fill:#7c3aed}.mk.app{fill:#166534}
line.now{stroke:#dc2626;stroke-width:2;vector-effect:non-scaling-stroke}
line.orig{stroke:#0f172a;stroke-width:2;stroke-dasharray:3 2;vector-effect:non-scaling-stroke}
.graph svg{max-width:none;height:auto}
@media (max-width:640px){body{padding:.5rem;font-size:14px}
.row{grid-template-columns:1fr;gap:0}.axis .label{display:none}}
@page{size:A4 landscape;margin:10mm}
@media print{body{padding:0;font-size:10pt}.gantt{max-height:none;overflow:visible}
.scroll{overflow:visible}.row{break-inside:avoid}h2{break-after:avoid}
.axis{position:static}}
"""


def page(data: ReportData, *, graph_timeout: float = 60,
         progress: Progress = no_progress) -> tuple[str, str | None]:
    """(the page, a warning for stderr when the graph could not be drawn, else None)."""
    progress("gantt", 0, 3)
    chart = gantt.chart(data)
    progress("graph", 1, 3)
    graph_html, warning = _graph(data, graph_timeout)
    progress("page", 2, 3)
    title = escape(data.title)
    when = moment(data.at) + (" (theo lịch sử)" if data.as_of else "")
    doc = f" · {escape(data.document)}" if data.document else ""
    body = [
        f"<header><h1>{title}</h1><p class=\"meta\">Kế hoạch <code>{escape(data.plan_id)}"
        f"</code>{doc}</p><p class=\"meta\">Tình hình đến <b id=\"as-of\">{when}</b> "
        f"({escape(data.timezone)}) · cơ quan ban hành: {escape(data.name(data.issuer))}"
        f" · cơ quan theo dõi: {escape(data.name(data.coordinator))}</p></header>",
        f'<section id="tong-hop"><h2>Tổng hợp theo cơ quan chủ trì</h2>'
        f'<div class="scroll">{summary_table(data)}</div></section>',
        f'<section id="tien-do"><h2>Tiến độ thực hiện</h2>{_legend()}{chart}</section>',
        f'<section id="so-do"><h2>Sơ đồ phụ thuộc giữa các nhiệm vụ</h2>{graph_html}</section>',
        f'<section id="chuyen-cap"><h2>Đang chuyển cấp trên xử lý</h2>{_escalations(data)}'
        "</section>",
        f'<section id="lich-su"><h2>Hoạt động gần đây</h2>{_history(data)}</section>',
    ]
    html = ("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Báo cáo tình hình thực hiện: {title}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")
    progress("page", 3, 3)
    return html, warning


def summary_table(data: ReportData) -> str:
    head = "".join(f"<th>{label}</th>" for _k, label in BUCKETS)
    rows = []
    for a in data.summary["agencies"]:
        cells = "".join(f'<td class="n" data-bucket="{k}">{a[k]}</td>' for k, _l in BUCKETS)
        rows.append(f'<tr data-agency="{escape(a["agency"])}"><td>'
                    f'{escape(data.name(a["agency"]))}</td>{cells}</tr>')
    total = "".join(f'<td class="n" data-bucket="{k}">{data.summary["total"][k]}</td>'
                    for k, _l in BUCKETS)
    return (f"<table class=\"summary\"><thead><tr><th>Cơ quan chủ trì</th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}<tr class=\"total\" data-agency=\"\"><td>Tổng cộng</td>"
            f"{total}</tr></tbody></table>")


def _legend() -> str:
    states = "".join(f'<span><i class="s-{s}" style="background:{graph.FILL[s]}"></i>'
                     f"{label}</span>" for s, label in STATE.items())
    return ('<p class="legend">' + states +
            '<span><i style="border:2px solid #dc2626"></i>quá hạn</span>'
            '<span><i style="background:#7c3aed"></i>ngày báo cáo</span>'
            '<span><i style="background:#166534"></i>ngày phê duyệt</span>'
            '<span><i style="border-left:3px solid #dc2626;border-width:0 0 0 3px"></i>'
            'ngày báo cáo tình hình</span>'
            '<span><i style="border-left:2px dashed #0f172a;border-width:0 0 0 2px"></i>'
            "hạn ban đầu (trước gia hạn)</span></p>")


def _graph(data: ReportData, timeout: float) -> tuple[str, str | None]:
    shown = graph.nodes(data, linked_only=True)
    if not shown:
        return '<p class="meta">Các nhiệm vụ không phụ thuộc nhau.</p>', None
    if len(shown) > GRAPH_LIMIT:
        return (f'<p class="note">Sơ đồ có {len(shown)} nhiệm vụ liên quan, quá lớn để vẽ dễ '
                "đọc trong trang này; xuất riêng bằng <code>workflow graph --format svg"
                "</code>.</p>"), None
    try:
        svg = graph.to_svg(graph.to_dot(data, linked_only=True), timeout=timeout)
    except graph.GraphError as err:
        return (f'<p class="note" id="graph-missing">Không vẽ được sơ đồ phụ thuộc: '
                f"{escape(str(err))}</p>"), str(err)
    return f'<div class="scroll graph">{svg}</div>', None


def _task_cell(data: ReportData, task_id: str) -> str:
    t = _find(data, task_id)
    title = f"<br><small>{escape(t['title'])}</small>" if t else ""
    return f"<td><code>{escape(task_id)}</code>{title}</td>"


def _find(data: ReportData, task_id: str) -> dict[str, Any] | None:
    parent = task_id.split("/", 1)[0]
    for t in data.tasks:
        if t["id"] == task_id:
            return t
        if t["id"] == parent:
            return next((k for k in data.instances.get(parent, ()) if k["id"] == task_id), t)
    return None


def _escalations(data: ReportData) -> str:
    if not data.escalations:
        return '<p class="meta">Không có nhiệm vụ nào đang chuyển cấp trên.</p>'
    rows = "".join(
        f"<tr>{_task_cell(data, e['task'])}<td>{escape(data.name(e['must_act']))}</td>"
        f"<td>{escape(data.name(e['escalated_to']))}</td><td class=\"n\">{e['level']}</td>"
        f"<td>{REASON.get(e['reason'], escape(e['reason']))}</td><td>{day(e['since'])}</td>"
        f"<td>{escape(data.block_notes.get(e['task'], ''))}</td></tr>"
        for e in data.escalations)
    return ('<div class="scroll"><table id="escalations"><thead><tr><th>Nhiệm vụ</th>'
            "<th>Cơ quan phải xử lý</th><th>Chuyển đến</th><th>Cấp</th><th>Lý do</th>"
            f"<th>Từ ngày</th><th>Khó khăn, vướng mắc</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div>")


def _history(data: ReportData) -> str:
    if not data.history:
        return '<p class="meta">Chưa có hoạt động.</p>'
    rows = []
    for e in reversed(data.history):
        move = (f"{STATE.get(e['from'], '')} → {STATE.get(e['to'], '')}"
                if e.get("from") and e.get("to") and e["from"] != e["to"] else "")
        if e.get("escalated_to"):
            move = f"cấp {e['level']} → {escape(data.name(e['escalated_to']))}"
        rows.append(f"<tr><td>{moment(datetime.fromisoformat(e['at']))}</td>"
                    f"<td><code>{escape(e['task'] or '')}</code></td>"
                    f"<td>{EVENT.get(e['event'], escape(e['event']))}</td><td>{move}</td>"
                    f"<td>{escape(data.name(e['actor']))}</td>"
                    f"<td>{escape(e['note'] or '')}</td></tr>")
    return ('<div class="scroll"><table id="history"><thead><tr><th>Thời gian</th>'
            "<th>Nhiệm vụ</th><th>Sự kiện</th><th>Thay đổi</th><th>Cơ quan</th><th>Ghi chú</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
