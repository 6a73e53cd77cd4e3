"""The grammar of deadline phrases: tokens -> a small syntax tree, no dates computed yet.

A recursive descent over the folded tokens of ``datewords`` (ordered choice, backtracking): a
phrase is a no-date phrase, a recurring one, or a window of points (a day, month, quarter, half
year or year), lists joined by "và"/",", ranges joined by "-"/"đến"/"đến hết". It checks only
the shape; whether "31/2" is a real day is for ``dates`` to say, precisely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflow.plan import datewords as w

__all__ = ["Clause", "Point", "SyntaxFailed", "parse_clauses"]


class SyntaxFailed(Exception):
    """The tokens fit no form (the weakest reason: nothing more specific is known)."""


@dataclass
class Point:
    """One date as written: numbers kept as digit strings so that "24" can be called ambiguous."""

    unit: str  # "day", "month", "quarter", "half", "year", "week"
    d: str | None = None
    m: str | None = None
    q: str | None = None  # quarter as written: "iii", "3"
    half: int | None = None  # 0 = first six months, 1 = last six
    y: str | None = None
    before: bool = False
    weekday: int | None = None


@dataclass
class Clause:
    """One deadline: ``kind`` is "points" (one or a list), "range", "open", "recurring" or
    "nodate"; ``window`` bounds a recurring clause; ``tail`` holds words kept as written."""

    kind: str
    points: list[Point] = field(default_factory=list)
    end: list[Point] = field(default_factory=list)  # range: the end's points
    every: str | None = None
    reason: str | None = None
    window: Clause | None = None
    tail: tuple[int, int] | None = None  # offsets in the cleaned text
    context: tuple[int, int] | None = None


def parse_clauses(tokens: list[str], spans: list[tuple[int, int]]) -> list[Clause]:
    """The clauses of a phrase; raises SyntaxFailed when no reading covers every token."""
    for attempt in _attempts(tokens):
        try:
            return [_clause([tokens[i] for i in part], [spans[i] for i in part])
                    for part in _split(tokens, attempt)]
        except SyntaxFailed:
            continue
    raise SyntaxFailed


def _attempts(tokens: list[str]):
    """Token positions to read. Brackets only group; a last bracketed group that reads as
    nothing is a remark ("trước ngày 15/6/2024 (số liệu chốt đến thời điểm 31/5/2024)")."""
    yield [i for i, t in enumerate(tokens) if t not in w.GROUPING]
    if tokens and tokens[-1] == ")" and "(" in tokens:
        cut = len(tokens) - 1 - tokens[::-1].index("(")
        if cut:
            yield [i for i, t in enumerate(tokens[:cut]) if t not in w.GROUPING]


def _split(tokens: list[str], positions: list[int]) -> list[list[int]]:
    parts: list[list[int]] = [[]]
    for i in positions:
        if tokens[i] == ";":
            parts.append([])
        else:
            parts[-1].append(i)
    return [part for part in parts if part]


def _clause(tokens: list[str], spans: list[tuple[int, int]]) -> Clause:
    try:
        return _Parser(tokens, spans).phrase()
    except SyntaxFailed:
        pass
    # Words about what is done, then the date: "gửi Sở Tài chính trước ngày 16/5/2024".
    for i in range(1, len(tokens)):
        if any(tuple(tokens[i:i + len(m)]) == m for m in w.MARKERS):
            try:
                clause = _Parser(tokens[i:], spans[i:]).phrase()
            except SyntaxFailed:
                continue
            if clause.kind != "nodate":
                clause.context = (spans[0][0], spans[i - 1][1])
                return clause
    raise SyntaxFailed


class _Parser:
    def __init__(self, tokens: list[str], spans: list[tuple[int, int]]) -> None:
        self.t, self.sp, self.i = tokens, spans, 0
        self.opened = False  # a "từ" (from) was read

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def words(self, *options: tuple[str, ...]) -> tuple[str, ...] | None:
        tok = self.peek()
        for ws in options:
            if ws[0] == tok and tuple(self.t[self.i:self.i + len(ws)]) == ws:
                self.i += len(ws)
                return ws
        return None

    def phrase_of(self, index: dict[str, list[tuple[str, ...]]]) -> tuple[str, ...] | None:
        """The longest word sequence of a lexicon (indexed by first word) found here."""
        return self.words(*index.get(self.peek() or "", ()))

    def word(self, *options: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok in options:
            self.i += 1
            return tok
        return None

    def num(self, lo: int = 1, hi: int = 99) -> str | None:
        tok = self.peek()
        if tok is not None and _digits(tok, lo, hi):
            self.i += 1
            return tok
        return None

    def done(self) -> bool:
        return self.i >= len(self.t)

    def rest(self, since: int | None = None) -> tuple[int, int] | None:
        """Offsets of the remaining words (from token ``since``), which are kept as written."""
        first = self.i if since is None else since
        self.i = len(self.t)
        return (self.sp[first][0], self.sp[-1][1]) if first < len(self.t) else None

    def attempt(self, method, *args):
        """Runs a rule; on failure puts the position back and returns None."""
        start = self.i
        try:
            return method(*args)
        except SyntaxFailed:
            self.i = start
            return None

    def leads(self) -> set[str]:
        """Skips framing words; remembers "trước" (before) and "từ" (from)."""
        seen: set[str] = set()
        while not self.done():
            if seen and self.peek() in (":", ","):
                self.i += 1
            elif self.word("truoc"):
                seen.add("truoc")
            elif self.word("tu"):
                seen.add("tu")
                self.opened = True
            elif ws := self.phrase_of(w.LEAD_INDEX):
                seen.add(" ".join(ws))
            else:
                break
        return seen

    def phrase(self) -> Clause:
        present = set(self.t)
        rules = [self.no_date] if present & w.NO_DATE_WORDS else []
        rules += [self.recurring] if present & w.PERIOD_WORDS else []
        for rule in [*rules, self.window]:
            clause = self.attempt(rule)
            if clause is not None and self.done():
                return clause
            self.i, self.opened = 0, False
        raise SyntaxFailed

    def no_date(self) -> Clause:
        self.leads()
        for ws, why in w.NO_DATE:
            if self.words(ws):
                return Clause("nodate", reason=why, tail=self.rest())
        if self.words(("dinh", "ky")) and self.done():
            return Clause("nodate", reason="periodic, no period named")
        raise SyntaxFailed

    def every(self) -> str:
        self.words(("dinh", "ky"))
        if self.word("hang", "moi") and (unit := self.word(*w.PERIODS)):
            return w.PERIODS[unit]
        raise SyntaxFailed

    def recurring(self) -> Clause:
        window = self.attempt(self.window_before_recurring)
        save = self.i
        self.leads()
        every = self.attempt(self.every)
        days: list[Point] = []
        if every is None:
            self.i = save
            days = self.day_specs()
            self.word(",")
            every = self.every()
        else:
            self.word(",", "-", ":")
            if not self.done():
                days = self.attempt(self.day_specs) or []
        if window is None and not self.done():
            self.word(",", "-", ":")
            window = self.window()
        return Clause("recurring", points=days, every=every, window=window)

    def window_before_recurring(self) -> Clause:  # "Giai đoạn 2026-2030, hằng năm"
        window, _ = self.window(), self.word(",", "-", ":")
        return window

    def day_specs(self) -> list[Point]:
        specs = [self.day_spec()]
        while self.word("va", ","):
            specs.append(self.day_spec())
        for spec in specs:  # "trước ngày 01/6 và 15/11": "trước" covers the whole list
            spec.before = specs[0].before
        return specs

    def day_spec(self) -> Point:
        before = self.leads() >= {"truoc"}
        if self.word("thu"):
            tok = self.peek()
            if tok in w.WEEKDAYS:
                self.i += 1
                return Point("week", weekday=w.WEEKDAYS[tok], before=before)
            raise SyntaxFailed
        if self.words(("chu", "nhat")):
            return Point("week", weekday=6, before=before)
        if self.word("thang"):
            return Point("month", m=self.need_num(1, 2), before=before)
        if self.word("quy", "qui"):
            return Point("quarter", q=self.quarter_numeral(), before=before)
        d = self.need_num(1, 2)
        if m := self.attempt(self.sep_num, "/"):
            return Point("day", d=d, m=m, before=before)
        if self.word("thang"):
            return Point("day", d=d, m=self.need_num(1, 2), before=before)
        return Point("day", d=d, before=before)

    def window(self) -> Clause:
        start = self.point_list()
        if self.done() or self.peek() in (",", ";"):
            return Clause("open" if self.opened else "points", points=start)
        if tail := self.words(*w.OPEN_TAILS):
            return Clause("open", points=start, tail=self.rest(self.i - len(tail)))
        if any(p.before for p in start):
            raise SyntaxFailed  # "trước 20/5/2024 - 30/5/2024": a range cannot start "before"
        if not (self.word("-", "toi") or self.words(("cho", "den"), ("den",))):
            raise SyntaxFailed
        end = self.point_list(bare=start[-1].unit)
        if tail := self.words(*w.OPEN_TAILS):  # "Giai đoạn 2026-2030 và những năm tiếp theo"
            return Clause("open", points=start, end=end, tail=self.rest(self.i - len(tail)))
        return Clause("range", points=start, end=end)

    def point_list(self, bare: str | None = None) -> list[Point]:
        points = [self.point(bare)]
        first = points[0]
        while self.peek() in ("va", ","):
            save = self.i
            self.i += 1
            nxt = self.attempt(self.point, points[-1].unit)
            if nxt is None:
                self.i = save
                break
            nxt.before = nxt.before or first.before
            points.append(nxt)
        return points

    def point(self, bare: str | None = None) -> Point:
        before = "truoc" in self.leads()
        for rule in (self.half, self.iso, self.quarter, self.month, self.day, self.year):
            p = self.attempt(rule)
            if p is not None:
                p.before = before
                return p
        if bare is not None:  # "Quý III và IV/2024", "Tháng 11 - 12/2025", "Năm 2025 - 2026"
            p = self.attempt(self.bare, bare)
            if p is not None:
                p.before = before
                return p
        raise SyntaxFailed

    def bare(self, unit: str) -> Point:
        if unit == "quarter":
            return Point("quarter", q=self.quarter_numeral(), y=self.year_part())
        if unit == "month":
            return Point("month", m=self.need_num(2), y=self.year_part())
        if unit == "year":
            return Point("year", y=self.need_num(4, 4))
        if unit == "day":
            return self.day()
        raise SyntaxFailed

    def half(self) -> Point:
        if not (self.words(("6", "thang"), ("06", "thang"), ("sau", "thang")) or self.word("nua")):
            raise SyntaxFailed
        which = self.word("dau", "cuoi")
        if which is None:
            raise SyntaxFailed
        self.word("nam")
        return Point("half", half=0 if which == "dau" else 1, y=self.num())

    def iso(self) -> Point:
        y = self.need_num(4, 4)
        sep = self.word(*w.SEPS)
        m = self.need_num(1, 2) if sep else None
        if m is None:
            raise SyntaxFailed
        if self.word(sep):
            return Point("day", d=self.need_num(1, 2), m=m, y=y)
        if sep == "-":
            return Point("month", m=m, y=y)  # 2024-06
        raise SyntaxFailed

    def quarter(self) -> Point:
        if not self.word("quy", "qui"):
            raise SyntaxFailed
        return Point("quarter", q=self.quarter_numeral(), y=self.year_part())

    def quarter_numeral(self) -> str:
        tok = self.peek()
        if tok is not None and (re.fullmatch(r"[ivx]+", tok) or _digits(tok, 1, 2)):
            self.i += 1
            return tok
        raise SyntaxFailed

    def month(self) -> Point:
        if self.word("thang"):
            return Point("month", m=self.need_num(1, 2), y=self.year_part())
        m = self.need_num(1, 2)  # 6/2024: four digits, since "6/24" is a day and month
        if self.word("/", "-", ".") and (y := self.num(4, 4)):
            return Point("month", m=m, y=y)
        raise SyntaxFailed

    def day(self) -> Point:
        self.word("ngay")
        d = self.need_num(1, 2)
        if m := self.attempt(self.sep_num, "/"):
            return Point("day", d=d, m=m, y=self.attempt(self.sep_num, "/", 1, 99))
        for sep in ("-", "."):  # "20-4-2024"; "20-25/5" is a range, so the year is required
            p = self.attempt(self.dmy, d, sep)
            if p is not None:
                return p
        if self.word("thang"):
            return Point("day", d=d, m=self.need_num(1, 2), y=self.year_part())
        return Point("day", d=d)

    def dmy(self, d: str, sep: str) -> Point:
        m = self.sep_num(sep)
        return Point("day", d=d, m=m, y=self.sep_num(sep, 1, 99))

    def sep_num(self, sep: str, lo: int = 1, hi: int = 2) -> str:
        if not self.word(sep):
            raise SyntaxFailed
        return self.need_num(lo, hi)

    def year(self) -> Point:
        if self.word("nam"):
            return Point("year", y=self.need_num(1, 99))
        return Point("year", y=self.need_num(4, 4))

    def year_part(self) -> str | None:
        """The year after a month or quarter: "/2024", "-2024", "năm 2024", ", năm 2024"."""
        save = self.i
        if self.word("/", "."):
            return self.need_num(1, 99)
        if self.word("-"):
            if y := self.num(4, 4):  # "-12" after a month is a range, not a year
                return y
        elif (self.word(",") and self.word("nam")) or self.word("nam"):
            if y := self.num(1, 99):
                return y
        elif y := self.num(4, 4):
            return y
        self.i = save
        return None

    def need_num(self, lo: int = 1, hi: int = 99) -> str:
        n = self.num(lo, hi)
        if n is None:
            raise SyntaxFailed
        return n


def _digits(tok: str, lo: int, hi: int) -> bool:
    return tok.isascii() and tok.isdigit() and lo <= len(tok) <= hi
