"""Agency cells → declared agencies: one per body however it is written, with readable ids.

A cell may name several agencies ("Sở Y tế, Sở Nội vụ và UBND cấp huyện"): it is split on
";" always, and on "," or "và" only where an agency's name starts right after, so names that
hold a comma or "và" ("Sở Văn hóa, Thể thao và Du lịch", "Các sở, ban, ngành") stay whole.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from workflow.plan.importer.words import HEADS, agency_id, agency_key, fold, spelled_out

_SPLIT = re.compile(rf"\s*(?:,|\bvà\b|\bcùng\b|\bvới\b)\s+(?=(?:{HEADS})\b)")
_SO_RUN = re.compile(r"(?<=\S)\s+(?=Sở\s+(?!Sở\b))")  # "Sở KH và CN Sở Công Thương"
_TRIM = re.compile(r"^(?:[-+•]\s*|và\s+|với\s+|cùng\s+)+|[\s.;:,]+$")


def split_cell(text: str) -> list[str]:
    """The agencies a cell names, in its order, as written."""
    names: list[str] = []
    for piece in re.split(r"\s*[;\n]\s*", text):
        piece = re.sub(r"\bSở\s+Sở\b", "Sở", piece)
        parts = _SPLIT.split(piece)
        for part in parts:
            subparts = _SO_RUN.split(part) if part.startswith("Sở ") else [part]
            for name in subparts:
                name = _TRIM.sub("", name).strip()
                name = re.sub(r"\s*\([^)]*\)$", "", name)  # "(chủ trì)", "(nếu có)"
                if name and len(fold(name)) >= 2:
                    names.append(name)
    return names


@dataclass
class Agency:
    id: str
    written: Counter = field(default_factory=Counter)
    fixed_name: str | None = None

    @property
    def name(self) -> str:
        if self.fixed_name:
            return self.fixed_name
        def score(form: str) -> tuple:
            return (spelled_out(form) == form, not form.isupper(), self.written[form], len(form))
        best = max(self.written, key=score)
        return spelled_out(best)

    @property
    def aliases(self) -> list[str]:
        name = self.name
        seen = {fold(name)}
        out = []
        for form in self.written:
            if fold(form) not in seen:
                seen.add(fold(form))
                out.append(form)
        return out


class Registry:
    """The plan's agencies, keyed so that every written form of one body finds it."""

    def __init__(self, place: str = "") -> None:
        self.place = place
        self.by_key: dict[str, Agency] = {}
        self.by_id: dict[str, Agency] = {}

    def declare(self, agency_id_: str, name: str, forms: list[str]) -> str:
        """A body known before reading the tasks (the issuer), with its id and name fixed."""
        agency = Agency(agency_id_, Counter(), name)
        self.by_id[agency_id_] = agency
        for form in [name, *forms]:
            self.by_key.setdefault(agency_key(form, self.place), agency)
            if form != name:
                agency.written[form] += 0
        return agency_id_

    def add(self, written: str) -> str:
        key = agency_key(written, self.place)
        agency = self.by_key.get(key)
        if agency is None:
            base = agency_id(written, self.place)
            new_id, n = base, 2
            while new_id in self.by_id:
                new_id, n = f"{base}-{n}", n + 1
            agency = Agency(new_id)
            self.by_key[key] = self.by_id[new_id] = agency
        agency.written[written] += 1
        return agency.id

    def ids(self, cell: str) -> list[str]:
        out: list[str] = []
        for name in split_cell(cell):
            agency = self.add(name)
            if agency not in out:
                out.append(agency)
        return out

    def find(self, written: str) -> str | None:
        agency = self.by_key.get(agency_key(written, self.place))
        return agency.id if agency else None

    def used(self, ids: set[str]) -> dict[str, Agency]:
        """The agencies in ``ids``, in the order they were first met."""
        return {a.id: a for a in self.by_id.values() if a.id in ids}
