"""``workflow import``: a plan's own document (.docx, .pdf, .txt/.md, .xlsx/.csv) → a draft.

``import_document(path)`` reads the file (``sources``), finds the tasks in one of the layouts
the provinces use (``layout``), declares each agency once (``agencies``), reads the header
(``header``) and returns a ``Draft`` (``draft``) that writes YAML or plain data.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from workflow import outfile
from workflow.errors import DocumentError
from workflow.i18n import _
from workflow.logs import Progress, no_progress
from workflow.plan.importer.agencies import Registry
from workflow.plan.importer.blocks import Para
from workflow.plan.importer.draft import Draft, make_tasks
from workflow.plan.importer.header import Header, read_header
from workflow.plan.importer.layout import find_tasks, header_roles
from workflow.plan.importer.sources import read_blocks
from workflow.plan.importer.words import fold

_PROVINCE = re.compile(r"\b(?:tỉnh|thành phố) ((?:[A-ZĐ][a-zà-ỹđ]*)(?: [A-ZĐ][a-zà-ỹđ]*){0,2})")

__all__ = ["Draft", "import_document", "write_output"]


def import_document(path: str | Path, progress: Progress = no_progress) -> Draft:
    """Reads one document and drafts its plan; DocumentError when it holds no plan."""
    progress("đọc tài liệu", 0, 3)
    kind, blocks = read_blocks(path)
    progress("tìm nhiệm vụ", 1, 3)
    layout, found = find_tasks(blocks)
    if not found:
        raise DocumentError(_("{path}: no plan found: no phụ lục table (TT, Nội dung, Cơ quan "
                              "chủ trì, ...) and no numbered items naming a lead agency").format(
            path=path))
    paras = [b.text for b in blocks if isinstance(b, Para)]
    texts: list[str] = []
    for b in blocks:
        if isinstance(b, Para):
            texts.append(b.text)
        elif not any(header_roles(r) for r in b.rows):
            texts.extend(c for r in b.rows for c in r if c)
    header = read_header(texts, paras)
    registry = Registry(header.place or _place_named(blocks))
    checks: dict[str, str] = {}
    issuer = _declare_issuer(header, registry, " ".join(texts), checks)
    progress(f"soạn {len(found)} nhiệm vụ", 2, 3)
    tasks = make_tasks(found, registry, issuer)
    if header.coordinator:
        coordinator = _known(registry, header.coordinator)
        checks["coordinator"] = f'guessed from "{header.coordinator_how}"'
    else:
        coordinator = issuer
        checks["coordinator"] = ("the document names nobody to follow the plan up; the issuer "
                                 "is put here")
    if not header.number:
        checks["id"] = "the document's number is blank; put it in the id when it has one"
    if not header.title:
        checks["title"] = "no title found after KẾ HOẠCH"
    if header.checks and "issuer" in " ".join(header.checks):
        checks["issuer"] = f"guessed {header.issuer_how}"
    source = f"{Path(path).name}, {kind}"
    progress("xong", 3, 3)
    return Draft(source, f"{layout}, {len(tasks)} tasks", header, checks, issuer, coordinator,
                 registry, tasks)


def _place_named(blocks) -> str:
    """The province the cells name most ("... tỉnh Đồng Nai"), for a phụ lục given alone:
    used only to know that "Công an tỉnh Đồng Nai" is "Công an tỉnh", never in the id."""
    names = Counter(m[1] for b in blocks if not isinstance(b, Para) for r in b.rows for c in r
                    for m in _PROVINCE.finditer(c))
    return names.most_common(1)[0][0] if names else ""


def _declare_issuer(h: Header, registry: Registry, text: str, checks: dict[str, str]) -> str:
    """The signing authority; a People's Committee gets its full name and its short forms."""
    if fold(h.issuer) not in ("uy ban nhan dan", "ubnd"):
        return registry.add(h.issuer)
    city = len(re.findall(r"(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+[Tt]hành phố", text))
    province = len(re.findall(r"(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\s+[Tt]ỉnh", text))
    level = "thành phố" if city > province else "tỉnh"
    name = f"Ủy ban nhân dân {level} {h.place}".strip()
    forms = [f"UBND {level}", f"Ủy ban nhân dân {level}", f"UBND {level} {h.place}",
             f"UBND {level.title()}", f"Uỷ ban nhân dân {level}"]
    seen = [f for f in forms if f.casefold() in text.casefold()]
    return registry.declare(f"ubnd-{fold(level).replace(' ', '-')}", name, seen)


def _known(registry: Registry, name: str) -> str:
    """The agency a name points at, trying shorter heads of it first: "Phòng Kế hoạch Tài
    chính Sở Y tế" is the Phòng Kế hoạch Tài chính already met under its heading."""
    words = name.split()
    for n in range(len(words), 1, -1):
        found = registry.find(" ".join(words[:n]))
        if found:
            return found
    return registry.add(name)


def write_output(path: str | Path, text: str) -> None:
    """Writes the whole file or nothing (``workflow.outfile``: a temporary file, a rename)."""
    with outfile.text(str(path), None) as out:  # type: ignore[arg-type]: a path, never stdout
        out.write(text)
