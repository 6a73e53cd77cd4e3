"""Read deadlines the way Vietnamese plans write them ("trước ngày 16/5/2024", "Quý III/2024").

``parse_deadline(text)`` gives a small frozen ``Deadline``: a due date, a start (for windows
such as "Quý IV/2025 - Quý II/2026"), a ``Recurrence`` ("trước ngày 20 hằng tháng"), or no date
with the reason and the words kept ("Thường xuyên", "Theo lộ trình ..."). ``explain`` says in
one English line what it was read as. ``parse_date(text, kind=...)`` is the older, narrower
reading: the due day, or the first day of the window the phrase names. The shapes are in
``dategrammar``; this module turns them into days and says precisely what is wrong with a
phrase that fits a shape but not the calendar.
"""

from __future__ import annotations

import calendar
import datetime
import unicodedata

from workflow.i18n import N_, _, language
from workflow.plan import dategrammar as g
from workflow.plan import datewords
from workflow.plan.datevalues import (
    MONTH_END,
    WEEKDAY_NAMES,
    DateParseError,
    Deadline,
    Duration,
    Recurrence,
    explain,
    month_len,
)
from workflow.plan.durations import parse_duration, read_duration

__all__ = ["DateParseError", "Deadline", "Duration", "Recurrence", "explain", "normalize_text",
           "parse_date", "parse_deadline", "parse_duration", "read_duration"]

_EXAMPLES = N_(
    'write e.g. 2024-04-20, 20/4/2024, "trước ngày 16/5/2024", "Quý III/2024", '
    '"Tháng 11 - 12/2025", "2026 - 2030" or "trước ngày 20 hằng tháng"'
)
_NO_DATE_HINT = N_(
    'or leave due out for a task with no date ("Thường xuyên", "Theo tiến độ ...", '
    '"Theo lộ trình ...", "Theo kế hoạch ...", "Khi có phát sinh", "Sau khi có ...")'
)
_NO_FORM = N_("not a deadline form this reads")  # the one reason that adds _NO_DATE_HINT
_ONE_DAY = datetime.timedelta(days=1)
_MAX_LEN = 300  # no real deadline cell is longer; also keeps the parser on short input
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_ROMAN = ("", "I", "II", "III", "IV")


class _Reason(Exception):
    """Why a phrase that fits a shape is still wrong ("31/2/2024 is not a real day")."""

    def __init__(self, text: str, *, whole: bool = False) -> None:
        super().__init__(text)
        self.text, self.whole = text, whole


def normalize_text(text: str) -> str:
    """NFC, strip, and collapse every run of whitespace (NBSP included) to one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def parse_deadline(value: object) -> Deadline:
    """What a ``due`` value says; raises DateParseError naming the forms when it says nothing."""
    text = _as_text(value)
    try:
        return _read(text)
    except _Reason as reason:
        raise _error(text, reason) from None


def parse_date(value: object, *, kind: str = "due") -> datetime.date | None:
    """The deadline (kind="due") or window start (kind="start") a value names; None if the
    phrase names no single date (an ongoing duty, a recurring deadline)."""
    if kind not in ("due", "start"):
        raise ValueError(f'kind must be "due" or "start", not {kind!r}')
    if isinstance(value, datetime.datetime):
        return value.date()
    if value is None or isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:  # the common case in big generated plans: skip the grammar
            day = datetime.date.fromisoformat(value)
        except ValueError:
            pass  # e.g. 2024-02-30: the full reading below says why
        else:
            if 1900 <= day.year <= 2199:
                return day
    text = _as_text(value)
    try:
        return _first_or_due(text, kind)
    except _Reason as reason:
        raise _error(text, reason) from None


# --------------------------------------------------------------------------- reading


def _as_text(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads "due: 2025" as an int
    if not isinstance(value, str):
        raise DateParseError(_("cannot read {value} as a date: give text; {examples}").format(
            value=_shown(value), examples=_(_EXAMPLES)))
    return normalize_text(value)


def _error(text: str, reason: _Reason) -> DateParseError:
    if reason.whole:
        return DateParseError(f"{_shown(text)} {reason.text}")
    hint = (f"{_(_EXAMPLES)}; {_(_NO_DATE_HINT)}" if reason.text == _(_NO_FORM)
            else _(_EXAMPLES))
    return DateParseError(_("cannot read {value} as a date: {reason}; {hint}").format(
        value=_shown(text), reason=reason.text, hint=hint))


def _shown(value: object) -> str:
    text = f'"{normalize_text(value)}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 62 else text[:59] + "…" + text[-1]


class _Text:
    """A phrase read into clauses; ``words`` gives back the phrase's own words for a span."""

    def __init__(self, text: str) -> None:
        if len(text) > _MAX_LEN:
            raise _Reason(_("it is too long to be a date ({length} characters)").format(
                length=len(text)))
        self.text, self.cleaned = text, datewords.clean(text)
        tokens, spans = datewords.tokenize(self.cleaned)
        while tokens and tokens[-1] in (".", ",", ";", ":", "!", "?", "-"):
            tokens.pop()  # end punctuation; "..." stays: it is part of "Theo kế hoạch ..."
            spans.pop()
        while tokens and tokens[0] in ("-", "+", "•", ":", ".", ","):
            del tokens[0], spans[0]  # a list bullet
        if not any(t.isalnum() for t in tokens):
            raise _Reason(_("there is no date in it") if text else _("it is empty"))
        try:
            self.clauses = g.parse_clauses(tokens, spans)
        except g.SyntaxFailed:
            raise _Reason(_(_NO_FORM)) from None

    def words(self, span: tuple[int, int] | None) -> str:
        return self.cleaned[span[0]:span[1]] if span else ""


def _read(text: str) -> Deadline:
    return _deadline(_Text(text))


def _deadline(phrase: _Text) -> Deadline:
    text = phrase.text
    readings = [_clause_deadline(phrase, c) for c in phrase.clauses]
    if len(readings) == 1:
        return readings[0]
    if any(r.recurrence or r.no_date_reason for r in readings) or not any(r.due
                                                                           for r in readings):
        raise _Reason(_("it joins a date with a phrase that has none; give one deadline per "
                        "task"))
    due = max(r.due for r in readings if r.due)
    starts = [r.start for r in readings if r.start]
    basis = "; ".join(r.basis for r in readings)
    return Deadline(text, min(starts) if starts else None, due,
                    basis=f"the latest of {len(readings)} deadlines: {basis}")


def _first_or_due(text: str, kind: str) -> datetime.date | None:
    phrase = _Text(text)
    clauses = phrase.clauses
    if kind == "due" or len(clauses) > 1:
        d = _deadline(phrase)
        if d.due is None and d.start is not None:
            raise _Reason(_('"từ" (from) names a start but no deadline'))
        if d.recurrence and any(c.points for c in clauses):
            # A single date cannot hold it; an ongoing "Hằng năm" reads as no date, as before.
            raise _Reason(_("it is a recurring deadline ({recurrence}); give it as {repeat}")
                          .format(recurrence=explain(d), repeat=_as_repeat(d.recurrence)))
        return d.due
    c = clauses[0]
    if c.kind in ("recurring", "nodate"):
        return None
    if c.points[0].before:
        raise _Reason(_('"trước" (before) names a deadline, not a start'))
    spans = _spans(c.points + c.end)
    if c.kind == "range":
        _range(c, spans)
    return min(first for first, _ in spans)


def _as_repeat(r: Recurrence) -> str:
    if r.every == "weekly":
        rule = WEEKDAY_NAMES[r.weekday or 0].lower()
    elif r.every == "monthly":
        rule = str(r.day)
    else:
        rule = "[" + ", ".join(f"{min(d, month_len(2024, m))}/{m}" for d, m in r.days) + "]"
    every = "yearly" if r.every == "quarterly" else r.every
    return f"repeat: {{{every}: {rule}, from: ...}}"


def _clause_deadline(phrase: _Text, c: g.Clause) -> Deadline:
    text = phrase.text
    context = f" for “{phrase.words(c.context)}”" if c.context else ""
    if c.kind == "nodate":
        return Deadline(text, no_date_reason=c.reason)
    if c.kind == "recurring":
        return Deadline(text, recurrence=_recurrence(phrase, c))
    spans = _spans(c.points + c.end)
    if c.kind == "open":
        p = c.points[0]
        tail = f", open-ended: {phrase.words(c.tail)}" if c.tail else ", open-ended"
        return Deadline(text, start=spans[0][0], basis=f"from {_shown_point(p)}{tail}{context}")
    if c.kind == "range":
        start, due = _range(c, spans)
        basis = f"{_shown_point(c.points[0])} to {_shown_point(c.end[-1])}"
        return Deadline(text, start=start, due=due, basis=basis + context)
    due = max(_due(p, span) for p, span in zip(c.points, spans, strict=True))
    names = ", ".join(_shown_point(p) for p in c.points)
    p = c.points[-1]
    if p.before:
        basis = f"the day before {names}"
    elif len(c.points) > 1:
        basis = f"end of the later of {names}"
    else:
        basis = names if p.unit == "day" else f"end of {names}"
    return Deadline(text, due=due, basis=basis + context)


def _range(c: g.Clause, spans: list[tuple[datetime.date, datetime.date]]):
    n = len(c.points)
    start = min(first for first, _ in spans[:n])
    due = max(_due(p, s) for p, s in zip(c.end, spans[n:], strict=True))
    if due < start:
        raise _Reason(_("the range ends before it starts (a start without a year takes the "
                        "end's)"))
    return start, due


def _due(p: g.Point, span: tuple[datetime.date, datetime.date]) -> datetime.date:
    return span[0] - _ONE_DAY if p.before else span[1]


def _spans(points: list[g.Point]) -> list[tuple[datetime.date, datetime.date]]:
    """(first day, last day) of each point. A point without a year (or month) takes it from the
    point after it: "từ 20/5 đến 30/5/2024", "Quý III và IV/2024"."""
    out: list[tuple[datetime.date, datetime.date]] = []
    ref: datetime.date | None = None
    for p in reversed(points):
        out.append(_span(p, ref))
        ref = out[-1][0]
    return out[::-1]


def _span(p: g.Point, ref: datetime.date | None) -> tuple[datetime.date, datetime.date]:
    if p.unit == "day":
        if p.m is None:
            if ref is None:
                raise _Reason(_("no month or year"))
            day = _day(ref.year, ref.month, p.d)
        else:
            day = _day(_year(p.y, ref), _month(p.m), p.d)
        return day, day
    year = _year(p.y, ref)
    if p.unit == "quarter":
        q = _quarter(p.q)
        return datetime.date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
    if p.unit == "half":
        return datetime.date(year, 6 * p.half + 1, 1), _month_end(year, 6 * p.half + 6)
    if p.unit == "month":
        month = _month(p.m)
        return datetime.date(year, month, 1), _month_end(year, month)
    return datetime.date(year, 1, 1), datetime.date(year, 12, 31)


def _year(text: str | None, ref: datetime.date | None) -> int:
    if text is None:
        if ref is None:
            raise _Reason(_("no year"))
        return ref.year
    if len(text) == 2:
        raise _Reason(_('the two-digit year "{year}" is ambiguous').format(year=text))
    if len(text) != 4 or not 1900 <= int(text) <= 2199:
        raise _Reason(_('"{year}" is not a year between 1900 and 2199').format(year=text[:8]))
    return int(text)


def _month(text: str) -> int:
    if not 1 <= int(text) <= 12:
        raise _Reason(_("there is no month {month}").format(month=int(text)))
    return int(text)


def _quarter(text: str | None) -> int:
    q = _QUARTERS.get((text or "").removeprefix("0"))
    if q is None:
        raise _Reason(_("there is no quarter {quarter} (quarters are I–IV)").format(
            quarter=(text or "").upper()))
    return q


def _day(year: int, month: int, day_text: str | None) -> datetime.date:
    days = month_len(year, month)
    if not 1 <= int(day_text or 0) <= days:
        raise _Reason(_("is not a real day ({month_name} {year} has {days} days)").format(
            month_name=calendar.month_name[month] if language() == "en" else f"tháng {month}",
            year=year, days=days),
            whole=True)
    return datetime.date(year, month, int(day_text or 0))


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, month_len(year, month))


def _shown_point(p: g.Point) -> str:
    """The point in the plans' own notation, whatever spelling the phrase used."""
    y = f"/{p.y}" if p.y else ""
    if p.unit == "day":
        return f"{int(p.d or 0)}" + (f"/{int(p.m)}" if p.m else "") + y
    if p.unit == "quarter":
        return f"Quý {_ROMAN[_QUARTERS.get((p.q or '').removeprefix('0'), 0)]}{y}"
    if p.unit == "half":
        return f"6 tháng {'đầu' if p.half == 0 else 'cuối'} năm {p.y or ''}".strip()
    if p.unit == "month":
        return f"tháng {int(p.m or 0)}{y}"
    if p.unit == "week":
        return WEEKDAY_NAMES[p.weekday or 0]
    return f"năm {p.y}"


# --------------------------------------------------------------------------- recurrence


def _recurrence(phrase: _Text, c: g.Clause) -> Recurrence:
    first = until = None
    if c.window is not None:
        w = _clause_deadline(phrase, c.window)
        spans = _spans(c.window.points + c.window.end)
        first, until = w.start or spans[0][0], w.due
    kinds = {p.unit for p in c.points}
    every = c.every or "yearly"
    if every == "weekly":
        if kinds - {"week"} or len(c.points) > 1:
            raise _Reason(_('a weekly deadline names one weekday ("thứ Sáu hằng tuần")'))
        wd = c.points[0].weekday if c.points else 6
        wd = (wd - 1) % 7 if c.points and c.points[0].before else wd
        return Recurrence("weekly", weekday=wd, first=first, until=until)
    if every == "monthly":
        if kinds - {"day"} or len(c.points) > 1 or any(p.m for p in c.points):
            raise _Reason(_('a monthly deadline names one day of the month ("ngày 20 hằng '
                            'tháng")'))
        day = _day_of_month(c.points[0]) if c.points else MONTH_END
        return Recurrence("monthly", day=day, first=first, until=until)
    if every == "quarterly":
        if c.points:
            raise _Reason(_('a quarterly deadline is the end of each quarter ("định kỳ hằng '
                            'quý")'))
        days = tuple((MONTH_END, m) for m in (3, 6, 9, 12))
        return Recurrence("quarterly", days=days, first=first, until=until)
    days = tuple(sorted({_day_of_year(p) for p in c.points} or {(MONTH_END, 12)},
                        key=lambda dm: (dm[1], dm[0])))
    return Recurrence("yearly", days=days, first=first, until=until)


def _day_of_month(p: g.Point) -> int:
    d = int(p.d or 0)
    if not 1 <= d <= 31:
        raise _Reason(_("there is no day {day} in a month").format(day=d))
    return (d - 1 or MONTH_END) if p.before else d


def _day_of_year(p: g.Point) -> tuple[int, int]:
    if p.unit == "day":
        if p.m is None:
            raise _Reason(_('a yearly deadline names a day and month ("trước ngày 01/6 hằng '
                            'năm")'))
        month = _month(p.m)
        _day(2024, month, p.d)  # 2024 is a leap year: 29/2 is a day of some years
        d = int(p.d or 0)
    elif p.unit == "month":
        month, d = _month(p.m or "0"), MONTH_END
    elif p.unit == "quarter":
        month, d = 3 * _quarter(p.q), MONTH_END
    else:
        raise _Reason(_("a yearly deadline names days, months or quarters"))
    if p.before:
        if p.unit == "day" and d > 1:
            return d - 1, month
        return MONTH_END, (month - (3 if p.unit == "quarter" else 1) - 1) % 12 + 1
    return d, month


