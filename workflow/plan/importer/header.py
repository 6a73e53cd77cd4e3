"""The plan's header: number, place, date, title, the signing authority and the coordinator.

All of it is read from the document's own words; what is guessed (the coordinator, an issuer
not signed for) says so, and the draft marks it ``# CHECK:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflow.plan.importer.words import HEADS, agency_id, fold, looks_like_agency

_NUMBER = re.compile(r"Số\s*:?\s*(\d*)\s*/\s*([A-ZĐ]+)\s*-?\s*([A-ZĐ&]*)")
_PLACE_DATE = re.compile(
    r"(?:^|\s)([A-ZĐÀ-Ỹ][\w.]*(?:\s+[A-ZĐÀ-Ỹ][\w]*){0,3}),\s*ngày\s*(\d{0,2})\s*tháng\s*(\d{0,2})"
    r"\s*năm\s*(\d{4})")
_PLAN_WORD = re.compile(r"^(?:KẾ HOẠCH|Kế hoạch)\s*[:.]?\s*(.*)$")
_TITLE_END = re.compile(r"^Căn cứ\b|^(?:Thực hiện|Triển khai|Để|Nhằm|Theo)\b.*\bsố\s*\d|"
                        r"^[IVX]+\.\s|\bban hành Kế hoạch|\bxây dựng kế hoạch", re.IGNORECASE)
_SIGN = re.compile(r"\b(?:TM|KT|TL|TUQ)\.\s*((?:ỦY|UỶ|UBND|SỞ|BAN|TRUNG TÂM|BỆNH VIỆN|HỘI ĐỒNG)"
                   r"[A-ZĐÀ-Ỹ\s]*?)(?=\s+(?:KT\.|TL\.|CHỦ|GIÁM|PHÓ|TRƯỞNG|[A-ZĐÀ-Ỹ][a-zà-ỹ])|$)")
_ISSUES = re.compile(rf"((?:{HEADS})[^.;:]{{0,80}}?)\s+(?:ban hành|xây dựng) (?:Kế hoạch|kế hoạch)")
_AG = rf"(?:{HEADS})[^.;:()]{{0,90}}?"
# Where a plan names who follows it up: strongest first.
_COORDINATOR = [
    re.compile(rf"\b[Gg]iao (?:cho )?({_AG})\s+(?:là cơ quan (?:đầu mối|thường trực|chủ trì)|"
               r"chủ trì,? theo dõi|theo dõi|là đầu mối)"),
    re.compile(rf"({_AG})\s+(?:là cơ quan (?:đầu mối|thường trực)|chủ trì,? theo dõi|"
               r"chịu trách nhiệm tổng hợp|là đầu mối (?:tổng hợp|theo dõi))"),
    re.compile(rf"(?:báo cáo|gửi|phản ánh)[^.;]{{0,100}}?\s(?:về|qua|cho)\s+({_AG})\s+(?:để\s+)?"
               r"tổng hợp"),
    re.compile(rf"\(qua ({_AG})\)"),
]


_FOCAL = re.compile(r"^(?:[-+•]\s*|[a-zđ]\)\s*)?Là (?:cơ quan |đơn vị )?đầu mối")
_HEADING = re.compile(r"^\d{1,2}(?:\.\d{1,2})*[.)]?\s+(.{3,90})$")


@dataclass
class Header:
    number: str = ""
    kind: str = "KH"
    org: str = ""
    place: str = ""
    date: tuple[str, str, str] = ("", "", "")
    title: str = ""
    issuer: str = ""  # the issuing body's name as the document gives it
    issuer_how: str = ""
    coordinator: str = ""
    coordinator_how: str = ""
    checks: list[str] = field(default_factory=list)

    @property
    def year(self) -> str:
        return self.date[2]

    def plan_id(self) -> str:
        parts = [agency_id(self.place) if self.place else "", self.year,
                 f"{fold(self.kind).replace(' ', '')}{self.number}"]
        return "-".join(p for p in parts if p) or "ke-hoach"

    def document(self) -> str:
        number = f"Số: {self.number}/{self.kind}" + (f"-{self.org}" if self.org else "")
        d, m, y = self.date
        when = f"ngày {d} tháng {m} năm {y}" if y else ""
        return ", ".join(x for x in (number, self.place, when) if x)


def read_header(texts: list[str], body: list[str]) -> Header:
    """``texts``: every paragraph and header cell in order; ``body``: the prose paragraphs."""
    h = Header()
    for text in texts:
        if not h.org and (m := _NUMBER.search(text)):
            h.number, h.kind, h.org = m[1], m[2], m[3]
        if not h.place and (m := _PLACE_DATE.search(text)):
            h.place, h.date = m[1].strip(), (m[2], m[3], m[4])
    if not h.number:
        h.checks.append("the document's number is blank: the plan id has none")
    h.title = _title(body)
    _issuer(h, texts, body)
    _coordinator(h, body)
    return h


def _title(body: list[str]) -> str:
    for i, text in enumerate(body):
        m = _PLAN_WORD.match(text)
        if m is None or (m[1] and m[1][:1].islower()):
            continue
        parts = [m[1]] if m[1] else []
        for nxt in body[i + 1: i + 3]:
            if _TITLE_END.search(nxt) or len(nxt) > 400 or (parts and len(parts) >= 1
                                                            and nxt[:1] == "("):
                break
            parts.append(nxt)
            if len(" ".join(parts)) > 120:
                break
        return " ".join(parts).strip()
    return ""


def _issuer(h: Header, texts: list[str], body: list[str]) -> None:
    for text in reversed(texts):
        if m := _SIGN.search(text):
            h.issuer, h.issuer_how = " ".join(m[1].split()).title(), f'signed "{m[0].strip()}"'
            return
    for text in body[:40]:
        if m := _ISSUES.search(text):
            h.issuer, h.issuer_how = m[1].strip(), f'"{m[0].strip()}"'
            return
    h.issuer = {"UBND": "Ủy ban nhân dân", "SYT": "Sở Y tế"}.get(h.org, h.org or "Ủy ban nhân dân")
    h.issuer_how = f'from the number "/{h.kind}-{h.org}"'
    h.checks.append("the issuer is guessed from the document's number")


def _coordinator(h: Header, body: list[str]) -> None:
    for i, text in enumerate(body):
        # "2. Phòng Kế hoạch - Nghiệp vụ" / "Là đầu mối tổng hợp ...": the heading's agency.
        m = _HEADING.match(body[i - 1]) if i and _FOCAL.match(text) else None
        if m and looks_like_agency(m[1]):
            h.coordinator, h.coordinator_how = m[1].rstrip(":."), f"{m[1]}: {text[:60]}"
            return
    for pattern in _COORDINATOR:
        for text in body:
            if m := pattern.search(text):
                name = re.sub(r"^(?:Giao|giao)\s+", "", m[1]).strip(" ,")
                h.coordinator, h.coordinator_how = name, m[0].strip()
                return
