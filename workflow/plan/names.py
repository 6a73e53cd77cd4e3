"""Agency names as the plans write them: several ways for one agency.

"Sở Y tế", "SỞ Y TẾ", "Sở Y Tế", "SYT"; "UBND tỉnh", "Ủy ban nhân dân tỉnh", "Uỷ ban nhân dân
tỉnh" (the tone mark on the other vowel: both spellings are in use). A reference is matched in
three passes, each only if the one before found nothing, and each only when it names one
agency: as written (NFC, case and spacing ignored); with common abbreviations spelled out and
tone marks placed one way; without diacritics at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from workflow.text import strip_accents

# Abbreviations the plans use for the names of agencies (word → words).
ABBREVIATIONS = {
    "ubnd": "ủy ban nhân dân", "hđnd": "hội đồng nhân dân", "bhxh": "bảo hiểm xã hội",
    "kbnn": "kho bạc nhà nước", "ttyt": "trung tâm y tế", "tyt": "trạm y tế",
    "ttksbt": "trung tâm kiểm soát bệnh tật", "cdc": "trung tâm kiểm soát bệnh tật",
    "bv": "bệnh viện", "bvđk": "bệnh viện đa khoa", "bvđkkv": "bệnh viện đa khoa khu vực",
    "vp": "văn phòng", "tp": "thành phố", "tp.": "thành phố", "syt": "sở y tế",
    "stc": "sở tài chính", "snv": "sở nội vụ", "skhđt": "sở kế hoạch và đầu tư",
    "tchc": "tổ chức hành chính", "khtc": "kế hoạch tài chính", "khnv": "kế hoạch nghiệp vụ",
    "bgđ": "ban giám đốc", "ca": "công an",
}
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (NFD marks)
# Old and new spellings put the tone on different vowels of oa, oe, uy: hòa/hoà, thủy/thuỷ.
_TONE_ON_FIRST = re.compile(f"([ou])([{_TONES}])([aey])")
_PUNCT = re.compile(r"[^\w\s-]")
_SPACE = re.compile(r"[\s_-]+")


def exact(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def expanded(text: str) -> str:
    words = [ABBREVIATIONS.get(w, w) for w in _PUNCT.sub(" ", exact(text).replace(
        "tp.", "tp ")).split()]
    nfd = unicodedata.normalize("NFD", " ".join(words))
    return unicodedata.normalize("NFC", _TONE_ON_FIRST.sub(r"\1\3\2", nfd))


def folded(text: str) -> str:
    return _SPACE.sub(" ", strip_accents(expanded(text))).strip()


PASSES = (exact, expanded, folded)


class AgencyIndex:
    """Finds an agency id from an id, name or alias written any of those ways."""

    def __init__(self, agencies: Iterable[tuple[str, str, Iterable[str]]]) -> None:
        rows = [(a_id, name, tuple(aliases)) for a_id, name, aliases in agencies]
        self.ids = [a_id for a_id, _n, _a in rows]
        # For each pass, three tiers: ids win over names, names over aliases.
        self._tiers: list[list[dict[str, set[str]]]] = []
        for key in PASSES:
            tiers: list[dict[str, set[str]]] = [{}, {}, {}]
            for a_id, name, aliases in rows:
                for tier, words in enumerate(([a_id], [name], aliases)):
                    for w in words:
                        tiers[tier].setdefault(key(w), set()).add(a_id)
            self._tiers.append(tiers)

    def add(self, agency_id: str, name: str) -> None:
        for key, tiers in zip(PASSES, self._tiers, strict=True):
            tiers[0].setdefault(key(agency_id), set()).add(agency_id)
            tiers[1].setdefault(key(name), set()).add(agency_id)
        self.ids.append(agency_id)

    def lookup(self, text: str) -> tuple[str | None, set[str]]:
        """(the agency's id, or None) and, when the text names several, their ids."""
        for key, tiers in zip(PASSES, self._tiers, strict=True):
            k = key(text)
            for tier in tiers:
                found = tier.get(k)
                if found and len(found) == 1:
                    return next(iter(found)), set()
                if found:
                    return None, set(found)
        return None, set()
