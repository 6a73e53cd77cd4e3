"""Agency names as people type them: one agency, many spellings.

"Sở Y tế", "SỞ Y TẾ", "so y te", "SYT"; "UBND tỉnh", "Uỷ ban nhân dân tỉnh" (the tone mark on
the other vowel: both are in use); "Sở KH&CN" = "Sở Khoa học và Công nghệ"; "Sở Tài chánh" (the
southern spelling) = "Sở Tài chính"; "ubnd ha tien" = "UBND thành phố Hà Tiên" when no other
agency has those words. A reference is matched in passes, each only if the ones before found
nothing; a pass that finds several agencies stops there, and the reference is ambiguous:

1. as written (NFC, case and spacing ignored): ids first, then names, then aliases;
2. spelled one way (:func:`spelled`): abbreviations spelled out, one place for the tone mark,
   i for y after a consonant (kỹ/kĩ), the usual spelling for a southern one;
3. the same without diacritics (:func:`bare`);
4. as a distinctive part: the words, in their order, of one agency's id, name or alias,
   first with diacritics, then without.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from workflow.errors import NotFoundError, UsageError
from workflow.i18n import _
from workflow.text import strip_accents

LEAD_EACH = "each"  # `lead: each`: each unit leads its own instance; a group's stored lead

# Abbreviations in agencies' names, by their letters without case or "đ" (so "HĐND" = "HDND")
# and without the "&", ".", "," or "-" inside them ("KH&CN", "LĐ-TB&XH", "VH,TT&DL").
ABBREVIATIONS = {
    "ubnd": "ủy ban nhân dân", "hdnd": "hội đồng nhân dân", "bhxh": "bảo hiểm xã hội",
    "mttq": "mặt trận tổ quốc", "ubmttq": "ủy ban mặt trận tổ quốc",
    "kbnn": "kho bạc nhà nước", "nhnn": "ngân hàng nhà nước", "ttyt": "trung tâm y tế",
    "tyt": "trạm y tế", "ttksbt": "trung tâm kiểm soát bệnh tật",
    "cdc": "trung tâm kiểm soát bệnh tật", "bv": "bệnh viện", "bvdk": "bệnh viện đa khoa",
    "bvdkkv": "bệnh viện đa khoa khu vực", "vp": "văn phòng", "tp": "thành phố",
    "tx": "thị xã", "syt": "sở y tế", "stc": "sở tài chính", "snv": "sở nội vụ",
    "stp": "sở tư pháp", "skhdt": "sở kế hoạch và đầu tư", "skhcn": "sở khoa học và công nghệ",
    "khcn": "khoa học và công nghệ", "khdt": "kế hoạch và đầu tư",
    "tttt": "thông tin và truyền thông", "vhttdl": "văn hóa thể thao và du lịch",
    "ldtbxh": "lao động thương binh và xã hội", "nnptnt": "nông nghiệp và phát triển nông thôn",
    "nnmt": "nông nghiệp và môi trường", "tnmt": "tài nguyên và môi trường",
    "gddt": "giáo dục và đào tạo", "gtvt": "giao thông vận tải",
    "tchc": "tổ chức hành chính", "khtc": "kế hoạch tài chính", "khnv": "kế hoạch nghiệp vụ",
    "bgd": "ban giám đốc", "bql": "ban quản lý", "ca": "công an",
    "tand": "tòa án nhân dân", "vksnd": "viện kiểm sát nhân dân",
    "ldld": "liên đoàn lao động", "tncs": "thanh niên cộng sản", "hcm": "hồ chí minh",
    "tw": "trung ương", "vn": "việt nam",
}
# Abbreviations that are also words: "ca" is "cà", "cá" typed without marks ("CA MAU" is Cà
# Mau). The importer's key spells them out (documents write "CA tỉnh"); a lookup never does.
ALSO_WORDS = {"ca"}
# Another spelling of the same words (southern, older): only whole phrases that cannot mean
# anything else, so "Chánh Văn phòng" (a post) and "Phước" (a place) are left alone.
VARIANTS = {
    "tài chánh": "tài chính", "hành chánh": "hành chính", "chánh phủ": "chính phủ",
    "chánh quyền": "chính quyền", "chánh sách": "chính sách", "chánh trị": "chính trị",
    "bịnh viện": "bệnh viện", "bịnh tật": "bệnh tật", "nhơn dân": "nhân dân",
    "vệ sanh": "vệ sinh", "hộ sanh": "hộ sinh",
}

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (NFD marks)
# Old and new spellings put the tone on different vowels of oa, oe, uy: hòa/hoà, thủy/thuỷ.
_TONE_ON_FIRST = re.compile(f"([ou])([{_TONES}])([aey])")
# "kỹ"/"kĩ", "lý"/"lí", "quý"/"quí": y after a consonant is written i (in NFD, marks follow).
_Y_AFTER_CONSONANT = re.compile(r"(?<!\S)([bcdđghklmnprstvx]+|qu)y(?=[\u0300-\u036f]*(?!\S))")
_PUNCT = re.compile(r"[^\w\s-]")
_SPACE = re.compile(r"[\s_-]+")
_NOT_WORD = re.compile(r"[\W_]+")
_INSIDE = re.compile(r"[&.,/-]")
_AMPERSAND = re.compile(r"\s*&\s*")  # "TT & TT" is "TT&TT"


def exact(text: str) -> str:
    """NFC, case and spacing ignored: the words as written."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def expanded(text: str) -> str:
    """Abbreviations spelled out and tone marks placed one way (the importer's key uses it)."""
    words = [ABBREVIATIONS.get(w.replace("đ", "d"), w) for w in _PUNCT.sub(" ", exact(
        text).replace("tp.", "tp ")).split()]
    nfd = unicodedata.normalize("NFD", " ".join(words))
    return unicodedata.normalize("NFC", _TONE_ON_FIRST.sub(r"\1\3\2", nfd))


def folded(text: str) -> str:
    """:func:`expanded` without diacritics."""
    return _strip_marks(expanded(text))


def _strip_marks(text: str) -> str:
    return _SPACE.sub(" ", strip_accents(text)).strip()


def _abbreviation(token: str) -> str | None:
    key = _INSIDE.sub("", token).casefold().replace("đ", "d")
    words = ABBREVIATIONS.get(key)
    return None if key in ALSO_WORDS else words


def _words(text: str) -> list[str]:
    """Lower-case words with abbreviations spelled out; punctuation separates words."""
    out: list[str] = []
    for chunk in _AMPERSAND.sub("&", unicodedata.normalize("NFC", text)).split():
        chunk = chunk.strip("()[]:;\"'“”")
        whole = _abbreviation(chunk)
        if whole is not None:
            out.extend(whole.split())
            continue
        for token in _NOT_WORD.split(chunk):
            if token:
                out.extend((_abbreviation(token) or token.casefold()).split())
    return out


def _phrases(table: dict[str, str]) -> tuple[re.Pattern[str], dict[str, str]]:
    pattern = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<!\S)(?:{pattern})(?!\S)"), table


def _one_way(text: str) -> str:
    nfd = unicodedata.normalize("NFD", text)
    nfd = _Y_AFTER_CONSONANT.sub(r"\1i", _TONE_ON_FIRST.sub(r"\1\3\2", nfd))
    return unicodedata.normalize("NFC", nfd)


_SPELLED_VARIANTS = _phrases({_one_way(k): _one_way(v) for k, v in VARIANTS.items()})
_BARE_VARIANTS = _phrases({_strip_marks(_one_way(k)): _strip_marks(_one_way(v))
                           for k, v in VARIANTS.items()})


def _replace(text: str, variants: tuple[re.Pattern[str], dict[str, str]]) -> str:
    pattern, table = variants
    return pattern.sub(lambda m: table[m[0]], text)


def spelled(text: str) -> str:
    """One spelling for one name: ``"Sở KH&CN"`` → ``"sở khoa học và công nghệ"``,
    ``"UBND TP. Hà Tiên"`` → ``"uỷ ban nhân dân thành phố hà tiên"``, ``"Tài Chánh"`` →
    ``"tài chính"``. Two names with the same spelling are one name."""
    return _replace(_one_way(" ".join(_words(text))), _SPELLED_VARIANTS)


def bare(text: str) -> str:
    """:func:`spelled` without diacritics ("đ" → "d"): ``"so tai chinh"``."""
    return _unmarked(spelled(text))


def _unmarked(spelled_text: str) -> str:
    plain = _one_way(_strip_marks(spelled_text))  # i for y again: typed without marks
    return _replace(plain, _BARE_VARIANTS)


def _keys(text: str) -> tuple[str, str, str]:
    """The text's key in each pass: as written, spelled one way, without diacritics."""
    one_way = spelled(text)
    return exact(text), one_way, _unmarked(one_way)


def numbering(ref: str) -> tuple[str, ...]:
    """The ways a document writes one number of its own: "2.1", "2.1." and "2.1)"."""
    base = ref.strip().rstrip(".)").strip()
    return (base, f"{base}.", f"{base})") if base else ()


PASSES: tuple[Callable[[str], str], ...] = (exact, spelled, bare)  # what _keys computes
ID, NAME, ALIAS = range(3)  # what a written form of an agency is, in the order ties break


@dataclass(frozen=True)
class Collision:
    """Two or more agencies written the same way (once spelled one way)."""

    key: str  # the shared name, spelled one way
    entries: tuple[tuple[str, str], ...]  # (agency id, the text as written), declared order


class _Parts:
    """Finds the agencies having all of a reference's words, in order, in one written form."""

    def __init__(self) -> None:
        self.forms: list[tuple[str, tuple[str, ...]]] = []  # (agency id, words)
        self.by_word: dict[str, set[int]] = {}

    def add(self, agency_id: str, words: Iterable[str]) -> None:
        words = tuple(words)
        for w in set(words):
            self.by_word.setdefault(w, set()).add(len(self.forms))
        self.forms.append((agency_id, words))

    def find(self, words: list[str]) -> set[str]:
        if not words or any(w not in self.by_word for w in words):
            return set()
        hits = set.intersection(*(self.by_word[w] for w in set(words)))
        return {self.forms[i][0] for i in hits if _in_order(words, self.forms[i][1])}


def _in_order(words: list[str], within: tuple[str, ...]) -> bool:
    rest = iter(within)
    return all(w in rest for w in words)  # `in` on an iterator consumes it: a subsequence


class AgencyIndex:
    """Finds an agency id from an id, a name or an alias, written as people write them.

    Built once from ``(id, name, aliases)`` rows; :meth:`lookup` answers from dictionaries.
    """

    def __init__(self, agencies: Iterable[tuple[str, str, Iterable[str]]]) -> None:
        self.names: dict[str, str] = {}  # agency id -> its name, in declared order
        self._written: list[tuple[str, int, str]] = []  # (agency id, ID|NAME|ALIAS, text)
        self._whole: list[dict[str, list[set[str]]]] = [{} for _ in PASSES]
        self._parts = (_Parts(), _Parts())  # with diacritics, without
        for agency_id, name, aliases in agencies:
            self.add(agency_id, name, aliases)

    @property
    def ids(self) -> list[str]:
        return list(self.names)

    def add(self, agency_id: str, name: str, aliases: Iterable[str] = ()) -> None:
        self.names.setdefault(agency_id, name)
        forms = [(ID, agency_id), (NAME, name), *((ALIAS, a) for a in aliases)]
        for kind, text in forms:
            self._written.append((agency_id, kind, text))
            keys = _keys(text)
            for key, table in zip(keys, self._whole, strict=True):
                table.setdefault(key, [set(), set(), set()])[kind].add(agency_id)
            for key, parts in zip(keys[1:], self._parts, strict=True):
                parts.add(agency_id, key.split())

    def lookup(self, text: str) -> tuple[str | None, set[str]]:
        """(the agency's id, or None) and, when the text names several, their ids."""
        keys = _keys(text)
        for key, table in zip(keys, self._whole, strict=True):
            for found in table.get(key, ()):
                if found:
                    return _one_or_several(found)
        for key, parts in zip(keys[1:], self._parts, strict=True):
            found = parts.find(key.split())
            if found:
                return _one_or_several(found)
        return None, set()

    def resolve(self, text: str, where: str) -> str:
        """The agency's id; an unknown or ambiguous ``text`` is an error naming the closest
        agencies or those it names (``where``: "plan son-la-2024")."""
        found, several = self.lookup(text)
        if found is not None:
            return found
        if several:
            raise UsageError(_("{text!r} names several agencies of {where}: {agencies}; use "
                               "the id").format(text=text, where=where,
                                                agencies=self.describe(sorted(several))))
        raise NotFoundError(_("no agency {text!r} in {where}; {hint}").format(
            text=text, where=where, hint=self.suggestion(text)))

    def describe(self, ids: Iterable[str]) -> str:
        """``so-tai-chinh (Sở Tài chính), so-y-te (Sở Y tế)``."""
        return ", ".join(f"{i} ({self.names[i]})" if self.names.get(i, i) != i else i
                         for i in ids)

    def closest(self, text: str, n: int = 3, cutoff: float = 0.7, margin: float = 0.1
                ) -> list[str]:
        """The agencies whose id, name or alias is most like ``text`` without diacritics: at
        most ``n``, none less like it than ``cutoff`` or by ``margin`` than the most alike
        (spelled out, "UBND ..." makes every UBND look alike)."""
        query = bare(text)
        score: dict[str, float] = {}
        matcher = difflib.SequenceMatcher(b=query, autojunk=False)
        for agency_id, _kind, written in self._written:
            matcher.set_seq1(bare(written))
            if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
                score[agency_id] = max(score.get(agency_id, 0.0), matcher.ratio())
        ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
        floor = max(cutoff, ranked[0][1] - margin) if ranked else cutoff
        return [agency_id for agency_id, s in ranked[:n] if s >= floor]

    def suggestion(self, text: str, known: int = 5) -> str:
        """``did you mean so-tai-chinh (Sở Tài chính)?``, or else a few of the agencies."""
        close = self.closest(text)
        if close:
            return _("did you mean {agencies}?").format(agencies=self.describe(close))
        shown = self.describe(self.ids[:known])
        if len(self.names) > known:
            return _("known: {agencies} and {more} more").format(
                agencies=shown, more=len(self.names) - known)
        return _("known: {agencies}").format(agencies=shown)

    def collisions(self) -> list[Collision]:
        """Names and aliases (and ids) that two agencies share once spelled one way: each
        would name either of them, so a plan that has one is wrong."""
        seen: dict[str, list[tuple[str, str]]] = {}
        for agency_id, _kind, written in self._written:
            key = spelled(written)
            seen.setdefault(key, []).append((agency_id, written))
        return [Collision(key, tuple(entries)) for key, entries in seen.items()
                if len({a for a, _w in entries}) > 1]


def _one_or_several(found: set[str]) -> tuple[str | None, set[str]]:
    if len(found) == 1:
        return next(iter(found)), set()
    return None, set(found)


_CACHE: dict[Hashable, AgencyIndex] = {}
_CACHE_SIZE = 64


def cached_index(key: Hashable, rows: Callable[[], Iterable[tuple[str, str, Iterable[str]]]]
                 ) -> AgencyIndex:
    """The index for ``key`` (a plan and its digest), built from ``rows()`` once per process."""
    index = _CACHE.get(key)
    if index is None:
        if len(_CACHE) >= _CACHE_SIZE:  # a long-running process that has served many plans
            _CACHE.clear()
        index = _CACHE[key] = AgencyIndex(rows())
    return index
