"""The words of deadline phrases, and the tokenizer that finds them.

Reading works on a folded copy of the text: lower case, without diacritics ("Quý" and "Quí" ->
"quy"/"qui", "hằng" and "hàng" -> "hang", "đến" -> "den"), every dash one "-"; folding keeps
each character in place, so a token's offsets are offsets in the text and the phrase's own
words can be shown back. The tokens are words, numbers and single other characters; spaces only
separate them, so "20 / 4 / 2024" and "20/4/2024" read the same.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean", "fold", "tokenize"]

# Markdown emphasis and zero-width characters (pasted from Word) go; every dash becomes "-".
STRIP = str.maketrans(dict.fromkeys("*_\u200b\u200c\u200d\ufeff"))
TOKEN = re.compile(r"[^\W\d_]+|[0-9]+|\.\.\.|\S")
SEPS = ("/", "-", ".")
GROUPING = frozenset("()[]\"'`“”‘’«»")

# Words that only frame a date ("hoàn thành", "chậm nhất là", "thời gian:"), as word tuples.
LEADS = [tuple(w.split()) for w in (
    "thoi gian", "thoi han", "han chot", "han", "du kien", "tien do", "hoan thanh", "hoan thien",
    "thuc hien", "xong", "ket thuc", "phai", "cham nhat", "muon nhat", "toi da", "khong qua",
    "khong muon hon", "khong cham hon", "khong sau", "trong cac ngay", "trong", "vao", "cho",
    "den", "toi", "het", "cuoi", "la", "ke", "giai doan", "ngay", "nhiem vu",
)]  # fmt: skip
# A clause may start with words about *what* is done when the date part starts with one of these.
MARKERS = [tuple(w.split()) for w in (
    "truoc", "tu", "hoan thanh", "hoan thien", "cham nhat", "muon nhat", "trong cac ngay",
    "den ngay", "vao ngay", "ke tu", "den het",
)]  # fmt: skip
# No-date phrases: (first words, reason); the rest of the phrase is kept as it was written.
NO_DATE = [(tuple(w.split()), why) for w, why in (
    ("nhiem vu thuong xuyen", "ongoing duty"), ("thuong xuyen", "ongoing duty"),
    ("lien tuc", "ongoing duty"), ("hang ngay", "daily, ongoing duty"),
    ("theo tien do", "follows the progress of other work"), ("theo lo trinh", "follows a roadmap"),
    ("theo ke hoach", "follows another plan"), ("theo yeu cau", "on request"),
    ("theo chi dao", "as directed"), ("theo quy dinh", "as the regulations set"),
    ("khi co", "when the need arises"), ("khi phat sinh", "when the need arises"),
    ("ngay sau khi", "after another event"), ("sau khi", "after another event"),
)]  # fmt: skip
PERIODS = {"tuan": "weekly", "thang": "monthly", "quy": "quarterly", "qui": "quarterly",
            "nam": "yearly"}
WEEKDAYS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5,
             "2": 0, "3": 1, "4": 2, "5": 3, "6": 4, "7": 5}
OPEN_TAILS = [tuple(w.split()) for w in ("den khi", "cho den khi", "tro di", "tro ve sau",
                                          "va nhung nam tiep theo", "va cac nam tiep theo")]



def _fold_table() -> dict[int, str]:
    """One folded character for each character (so token offsets are offsets in the text)."""
    table = {}
    for code in [*range(0x41, 0x250), *range(0x1E00, 0x1F00)]:
        c = chr(code)
        f = "".join(x for x in unicodedata.normalize("NFD", c.lower())
                    if not unicodedata.combining(x))
        if len(f) == 1 and f != c:
            table[code] = f
    table.update({ord("đ"): "d", ord("Đ"): "d", **{ord(c): "-" for c in "‐‑‒–—―−"}})
    return table


FOLD = _fold_table()


def fold(text: str) -> str:
    """Lower case, no diacritics, "đ" -> "d", one "-" for every dash; same length as text."""
    return text.translate(FOLD)


def clean(text: str) -> str:
    """Without markdown emphasis and zero-width characters (pasted from Word)."""
    return text.translate(STRIP)


def tokenize(cleaned: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The folded tokens of a cleaned text and their (start, end) offsets in it."""
    tokens, spans = [], []
    for m in TOKEN.finditer(fold(cleaned)):
        tokens.append(m.group())
        spans.append(m.span())
    return tokens, spans


def _index(phrases: list[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for ws in sorted(phrases, key=len, reverse=True):  # longest first: "trong cac ngay"
        index.setdefault(ws[0], []).append(ws)
    return index


LEAD_INDEX = _index(LEADS)
NO_DATE_WORDS = frozenset(ws[0] for ws, _ in NO_DATE) | {"dinh"}
PERIOD_WORDS = frozenset({"hang", "moi", "dinh"})  # "hằng/hàng năm", "mỗi tháng", "định kỳ"
