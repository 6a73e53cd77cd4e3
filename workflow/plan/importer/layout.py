"""Blocks → the plan's tasks as the document writes them (cell and label texts, not yet ids).

Three layouts, tried in this order; the first that finds tasks wins, so a body and its phụ
lục are never both read:

1. the phụ lục table: a header row found by its words (TT, Nội dung/Nhiệm vụ, chủ trì/thực
   hiện, phối hợp, Thời gian/Thời hạn, Sản phẩm), in any case; rows of group numbering (I, II,
   A, B) become comments; a header row repeated on each page is skipped;
2. numbered items with labelled lines ("Cơ quan chủ trì:", "Đơn vị phối hợp:", "Thời gian
   thực hiện:"): the lines above the labels are the task;
3. items under an agency heading ("1. Phòng Tổ chức - Hành chính"): each paragraph under it is
   a task that agency leads; a deadline line applies to the tasks above it in that group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflow.plan.importer.blocks import Block, Para, Table
from workflow.plan.importer.words import DUE_IN_TEXT, fold, looks_like_agency

_ROMAN = re.compile(r"^([IVXL]+)\s*[.)/:]\s*(.*)$")
_NUMBER = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)(?:[.)]\s*|\s+(?=\D))(.*)$")
_MARKER = re.compile(r"^(?:[-+•]\s*|\(?[a-zđ]\)\s*)+")
_LABEL = re.compile(r"^([^:]{2,90}?)\s*:\s*(.*)$")
_GROUP_REF = re.compile(r"^(?:[IVXLC]+|[A-ZĐ])\.?$")
_END = re.compile(r"^(?:Trên đây là|Nơi nhận|Phụ lục\b|PHỤ LỤC|TM\.|KT\.|GIÁM ĐỐC$)")


@dataclass
class Found:
    """One task as written: texts straight from the document."""

    ref: str | None
    title: str
    lead: str = ""
    support: str = ""
    due: str = ""
    note: str | None = None
    groups: list[str] = field(default_factory=list)  # group rows/headings opened before it
    checks: list[str] = field(default_factory=list)
    scope: str | None = None  # the table's lettered part (A, B, C): numbering restarts in each


def find_tasks(blocks: list[Block]) -> tuple[str, list[Found]]:
    """(the layout that found them, the tasks in document order)."""
    paras = _joined([b for b in blocks if isinstance(b, Para)])
    for name, finder in (("phụ lục table", lambda: table_tasks(blocks)),
                         ("numbered items with labelled lines", lambda: item_tasks(paras)),
                         ("items under agency headings", lambda: heading_tasks(paras))):
        found = finder()
        if found:
            _unique_refs(found)
            return name, found
    return "", []


def _joined(paras: list[Para]) -> list[Para]:
    """A paragraph that starts in lower case continues the one before (a converter's break)."""
    out: list[Para] = []
    for p in paras:
        if (out and p.text[:1].islower() and not out[-1].text.endswith(":")
                and not _MARKER.match(p.text)):
            out[-1] = Para(f"{out[-1].text} {p.text}", out[-1].strong)
        else:
            out.append(p)
    return out


# --------------------------------------------------------------------------- 1. tables


def header_roles(row: tuple[str, ...]) -> dict[str, int]:
    """Column of each role a header row names; {} when the row is not a task header."""
    roles: dict[str, int] = {}
    for i, cell in enumerate(row):
        f = fold(cell)
        role = None
        if f in ("tt", "stt", "so tt", "so thu tu", "thu tu"):
            role = "ref"
        elif "phoi hop" in f:
            role = "support"
        elif "chu tri" in f or (("thuc hien" in f or "trach nhiem" in f)
                                and ("don vi" in f or "co quan" in f)):
            role = "lead"
        elif f.startswith(("thoi gian", "thoi han", "tien do", "han hoan thanh")):
            role = "due"
        elif "san pham" in f or "ket qua" in f:
            role = "product"
        elif any(w in f for w in ("noi dung", "nhiem vu", "giai phap", "cong viec", "hoat dong")):
            role = "title"
        if role and role not in roles:
            roles[role] = i
    return roles if "title" in roles and "lead" in roles else {}


def table_tasks(blocks: list[Block]) -> list[Found]:
    found: list[Found] = []
    columns: dict[str, int] = {}
    width = 0
    groups: list[str] = []
    scope = None
    for table in (b for b in blocks if isinstance(b, Table)):
        for row in table.rows:
            roles = header_roles(row)
            if roles:
                # A header repeated on a new page may leave a column blank (its TT): the
                # columns it does not name stay where the first header put them.
                columns = {**columns, **roles} if len(row) == width else roles
                width = len(row)
                continue
            if not columns:
                continue

            def cell(role: str, row: tuple[str, ...] = row, columns: dict = columns) -> str:
                i = columns.get(role)
                return row[i] if i is not None and i < len(row) else ""

            filled = [c for c in row if c]
            if not filled:
                continue
            ref = cell("ref").rstrip(".") or None
            if not cell("lead") and not cell("due") and (len(filled) <= 2 or (
                    ref and _GROUP_REF.match(ref))):
                groups.append(". ".join(dict.fromkeys(filled)))
                if ref and len(ref) == 1 and ref not in "IVX":  # A, B, C: parts, not numerals
                    scope = ref
                continue
            title = cell("title")
            if not title:
                continue
            product = cell("product")
            found.append(Found(ref, title, cell("lead"), cell("support"), cell("due"),
                               f"Sản phẩm: {product}" if product else None, groups,
                               scope=scope))
            groups = []
    return found


# --------------------------------------------------------------------------- 2. labelled items


def label(text: str) -> tuple[str, str] | None:
    """("lead"|"support"|"due", value) when the paragraph is a labelled line."""
    bare = _MARKER.sub("", text).strip()
    f = fold(bare)
    match = _LABEL.match(bare)
    if match is None:
        if f.startswith(("thoi gian", "thoi han")) and len(bare) < 200:
            return "due", bare.rstrip(".;")  # "Thời hạn hoàn thành trước ngày 15/01/2026."
        return None
    name, value = fold(match[1]), match[2].strip().rstrip(".;").strip()
    if len(name.split()) > 12:
        return None
    if "phoi hop" in name:
        return "support", value
    if name.startswith(("co quan", "don vi", "chu tri", "trach nhiem", "bo phan")) and (
            "chu tri" in name or "thuc hien" in name or "trach nhiem" in name):
        return "lead", value
    if name.startswith(("thoi gian", "thoi han", "tien do", "han hoan thanh")):
        return "due", value
    return None


def item_tasks(paras: list[Para]) -> list[Found]:
    found: list[Found] = []
    section = item = heading = None
    content: list[str] = []
    labels: dict[str, str] = {}
    last = None

    def emit() -> None:
        if "lead" in labels:
            title = " ".join(content) or heading or ""
            ref = ".".join(x for x in (section, item) if x) or None
            found.append(Found(ref, title, labels.get("lead", ""), labels.get("support", ""),
                               labels.get("due", "")))
        labels.clear()
        content.clear()

    for p in paras:
        got = label(p.text)
        if got is not None:
            kind, value = got
            labels[kind] = f"{labels[kind]}; {value}" if kind in labels else value
            last = kind
            continue
        if labels:
            emit()
        if (m := _ROMAN.match(p.text)) and _section(p, m):
            section, item, heading = m[1], None, None
            content.clear()
        elif m := _NUMBER.match(p.text):
            item, heading = m[1], m[2].strip()
            content.clear()
        else:
            content.append(_MARKER.sub("", p.text).strip())
        last = None
    del last
    if labels:
        emit()
    return found


# --------------------------------------------------------------------------- 3. headings


def heading_tasks(paras: list[Para]) -> list[Found]:
    found: list[Found] = []
    section = agency = number = None
    group: list[Found] = []
    bullets = False
    for p in paras:
        text = p.text
        if _END.match(text):
            agency = None  # the closing lines, recipients and signature: no more tasks
            continue
        if (m := _ROMAN.match(text)) and _section(p, m):
            section, agency, group, bullets = m[1], None, [], False
            continue
        if m := _NUMBER.match(text):
            name = m[2].split(":")[0].strip() if ":" in m[2][:90] else m[2].strip()
            name = re.sub(r"^Đề nghị\s*:?\s*", "", name).rstrip(".:")
            agency = name if looks_like_agency(name) else None
            number, group, bullets = m[1], [], False
            continue
        if agency is None:
            continue
        bare = _MARKER.sub("", text).strip()
        got = label(text)
        if got is not None and got[0] == "due":
            for task in group:
                if not task.due:
                    task.due = got[1]
                    task.checks.append(f'deadline from the group\'s line: "{got[1]}"')
            continue
        if bare.endswith(":"):
            continue  # an introduction to the items below it
        is_bullet = text[:1] in "-+•"
        if group and bullets and not is_bullet:
            group[-1].title = f"{group[-1].title} {bare}"
            continue
        bullets = bullets or is_bullet
        ref = ".".join(x for x in (section, number) if x) or None
        task = Found(ref, bare, agency)
        due = {m[0] for m in DUE_IN_TEXT.finditer(bare)}
        if len(due) == 1:
            task.due = due.pop()
            task.checks.append("deadline read from the task's own words")
        found.append(task)
        group.append(task)
    return found


def _section(p: Para, m: re.Match) -> bool:
    """"II. NỘI DUNG" or a short bold "II. Nội dung:": a part of the plan, not a sentence."""
    return p.strong or m[2].isupper() or len(m[2].split()) <= 8


def _unique_refs(found: list[Found]) -> None:
    """Several tasks under one number get "(1)", "(2)"; the table's repeated numbering under
    other groups gets the group's letter or numeral in front."""
    scopes: dict[str | None, set[str | None]] = {}
    for t in found:
        scopes.setdefault(t.ref, set()).add(t.scope)
    if any(len(s) > 1 for s in scopes.values()):
        for t in found:
            if t.ref is not None and t.scope:
                t.ref = f"{t.scope}.{t.ref}"
    counts: dict[str | None, int] = {}
    for t in found:
        counts[t.ref] = counts.get(t.ref, 0) + 1
    seen: dict[str | None, int] = {}
    for t in found:
        if t.ref is not None and counts[t.ref] > 1:
            seen[t.ref] = seen.get(t.ref, 0) + 1
            t.ref = f"{t.ref} ({seen[t.ref]})"
