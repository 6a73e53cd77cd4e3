"""Read deadlines the way Vietnamese plans write them ("trước ngày 16/5/2024", "Quý III/2024").

``parse_date(text)`` gives the last day by which a task must be done; ``kind="start"`` gives the
first day of the window the phrase names. Ongoing wording ("thường xuyên", "hằng năm") gives
None. Anything else raises DateParseError, whose message says what was given and what is accepted.

Reading works on a folded copy of the text: lower case, without diacritics ("trước" -> "truoc"),
so "truoc ngay 16/5/2024" and NFD-decomposed input read the same as the properly written form.
"""

from __future__ import annotations

import calendar
import datetime
import re
import unicodedata

from workflow.text import DurationError, strip_accents
from workflow.text import parse_duration as _duration

__all__ = ["DateParseError", "normalize_text", "parse_date", "parse_duration"]

_EXAMPLES = (
    'write e.g. 2024-04-20, 20/4/2024, "trước ngày 16/5/2024", "Quý III/2024"'
    ' or "Chậm nhất năm 2025"'
)
_DURATION_HELP = "durations are a whole number with h, d or w, e.g. 7d, 36h, 2w"
_ONE_DAY = datetime.timedelta(days=1)
_MAX_LEN = 200  # no real deadline phrase is longer; also keeps every regex below on short input
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}

# Markdown emphasis and zero-width characters (pasted from Word) go; every dash becomes "-".
_TRANSLATE = str.maketrans({"*": None, "_": None, "\u200b": None, "\u200c": None, "\u200d": None,
                            "\ufeff": None, **dict.fromkeys("‐‑‒–—―−", "-")})  # fmt: skip

# Leading words that only frame the date ("hoàn thành", "chậm nhất là", "thời gian:"), stripped
# one by one. "truoc" (before) and "tu" (from) are remembered because they change the meaning.
_LEAD = re.compile(
    r"(thoi gian|thoi han|han chot|han|du kien|tien do|hoan thanh|thuc hien|xong|ket thuc|phai|"
    r"cham nhat|muon nhat|toi da|khong (?:qua|muon hon|cham hon|sau)|trong|vao|cho|den|toi|het|"
    r"cuoi|la|ke|tu|truoc)\b:? ?"
)
_W = r"(?:thuong xuyen|lien tuc|dinh ky|hang (?:ngay|tuan|thang|quy|nam))"
_ONGOING = re.compile(rf"{_W}(?:(?:,|;| va| -)? {_W})*")
_RANGE_SEP = re.compile(r" ?(?:\b(?:cho den|den|toi)\b|-) ?")

_Y = r"(?P<y>[0-9]+)"  # any length, so that "24" is refused as ambiguous, not as unknown
_YS = r"(?:,? nam |[/.-]| )"  # month or quarter to year: "6/2024", "6 năm 2024", "IV 2024"
_D = r"(?:ngay )?(?P<d>[0-9]{1,2})"
_M = r"(?P<m>[0-9]{1,2})"
# Tried in order, each against the whole remaining text. A missing year (or, for a bare day
# number, missing month and year) is only allowed at the start of a range, which borrows them.
_FORMS = [
    re.compile(p)
    for p in (
        r"(?P<y>[0-9]{4})(?P<s>[/.-])" + _M + r"(?P=s)(?P<d>[0-9]{1,2})",  # ISO: 4 digits first
        r"(?P<y>[0-9]{4})-" + _M,  # ISO month 2024-06
        _D + r"(?P<s>[/.-])" + _M + r"(?:(?P=s)" + _Y + ")?",  # 20/4/2024, 20-4-2024, 20.4
        _D + " thang " + _M + "(?:" + _YS + _Y + ")?",  # ngày 15 tháng 6 năm 2024
        _D,  # "từ ngày 20 đến 30/5/2024"
        "thang " + _M + "(?:" + _YS + _Y + ")?",  # tháng 6/2024, tháng 6 năm 2024
        _M + r"[/.-](?P<y>[0-9]{4})",  # 6/2024: four digits, since "6/24" is a day and month
        r"quy (?P<q>[ivx]+|[0-9]+)(?:" + _YS + _Y + ")?",  # Quý III/2024, quý 3 năm 2024
        r"(?:0?6 thang|sau thang|nua) (?P<h>dau|cuoi)(?: nam)?(?: " + _Y + ")?",  # 6 tháng đầu năm
        "(?:nam )?" + _Y,  # năm 2025, 2025
    )
]


class DateParseError(ValueError):
    """A deadline or duration could not be read.

    str(err) is one sentence: what was given, and the forms that are accepted.
    """


class _Reason(Exception):
    """Why one reading failed; specific=False is the weakest reason, "no form matched"."""

    def __init__(self, text: str, *, specific: bool = True, whole: bool = False) -> None:
        super().__init__(text)
        self.text, self.specific, self.whole = text, specific, whole


def normalize_text(text: str) -> str:
    """NFC, strip, and collapse every run of whitespace (NBSP included) to one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def parse_date(value: object, *, kind: str = "due") -> datetime.date | None:
    """The deadline (kind="due") or window start (kind="start") a value names; None if ongoing."""
    if kind not in ("due", "start"):
        raise ValueError(f'kind must be "due" or "start", not {kind!r}')
    if isinstance(value, datetime.datetime):
        return value.date()
    if value is None or isinstance(value, datetime.date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads "due: 2025" as an int
    if not isinstance(value, str):
        raise DateParseError(f"cannot read {_shown(value)} as a date: give text; {_EXAMPLES}")
    if _ISO.fullmatch(value):  # the common case in big generated plans: skip the phrase forms
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            pass  # e.g. 2024-02-30: the full reading below says why
        else:
            if 1900 <= day.year <= 2199:  # else the full reading refuses the year, as for d/m/y
                return day
    given = normalize_text(value)
    try:
        if len(given) > _MAX_LEN:
            raise _Reason(f"it is too long to be a date ({len(given)} characters)")
        text = _clean(given)
        if not text:
            raise _Reason("there is no date in it" if given else "it is empty")
        return _read(text, kind)
    except _Reason as reason:
        if reason.whole:
            raise DateParseError(f"{_shown(given)} {reason.text}") from None
        raise DateParseError(
            f"cannot read {_shown(given)} as a date: {reason.text}; {_EXAMPLES}"
        ) from None


def parse_duration(value: object) -> datetime.timedelta:
    """A positive whole number of hours, days or weeks: "36h", "7d", "2w" (any case)."""
    try:
        return _duration(value)
    except DurationError as err:
        reason = {"zero": f"it must be more than zero; {_DURATION_HELP}",
                  "long": "it must be at most ten years (3650d): the engine's times must stay "
                          "on the calendar"}.get(err.why, _DURATION_HELP)
    raise DateParseError(f"cannot read {_shown(value)} as a duration: {reason}")


def _shown(value: object) -> str:
    text = f'"{normalize_text(value)}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 62 else text[:59] + "…" + text[-1]


def _clean(text: str) -> str:
    """Fold case and diacritics, drop markdown, peel off brackets, quotes and end punctuation."""
    text = strip_accents(text.casefold())
    text = re.sub(r" ?/ ?", "/", " ".join(text.translate(_TRANSLATE).split()))
    previous = None
    while text != previous:
        previous = text
        text = text.strip(" \"'`“”‘’").rstrip(".;,:!?").lstrip("-+•:")
        if text.startswith("(") and text.endswith(")") and ")" not in text[1:-1]:
            text = text[1:-1]
    return text


def _lead(text: str) -> tuple[set[str], str]:
    words: set[str] = set()
    while match := _LEAD.match(text):
        words.add(match[1])
        text = text[match.end() :]
    return words, text


def _read(text: str, kind: str) -> datetime.date | None:
    words, rest = _lead(text)
    if _ONGOING.fullmatch(rest):
        return None
    try:
        first, last, before = _span(words, rest)
    except _Reason as reason:
        # Only a text that looks like no single date is tried as a range, so "31-2-2024" stays
        # "not a real day" instead of being read as "31" to "2-2024".
        if reason.specific or "truoc" in words:
            raise
        errors = [reason]
        for sep in _RANGE_SEP.finditer(rest):
            try:
                return _range(rest[: sep.start()], rest[sep.end() :], kind)
            except _Reason as err:
                errors.append(err)
        raise next((e for e in errors if e.specific), reason) from None
    if before:
        if kind == "start":
            raise _Reason('"trước" (before) names a deadline, not a start')
        return first - _ONE_DAY
    if "tu" in words and kind == "due":
        raise _Reason('"từ" (from) names a start but no deadline')
    return first if kind == "start" else last


def _range(left: str, right: str, kind: str) -> datetime.date:
    end_first, end_last, end_before = _span(*_lead(right))
    start, _, start_before = _span(*_lead(left), ref=end_first)
    end = end_first - _ONE_DAY if end_before else end_last
    if start_before:
        raise _Reason('a range cannot start with "trước" (before)')
    if end < start:
        raise _Reason("the range ends before it starts (a start without a year takes the end's)")
    return start if kind == "start" else end


def _span(
    words: set[str], text: str, ref: datetime.date | None = None
) -> tuple[datetime.date, datetime.date, bool]:
    """(first day, last day, whether "trước" came before it) of one date phrase."""
    match = next((m for form in _FORMS if (m := form.fullmatch(text))), None)
    if match is None:
        raise _Reason("not a deadline form this reads", specific=False)
    g = match.groupdict()
    if "y" not in g:  # a bare day number
        if ref is None:
            raise _Reason("no month or year")
        first = last = _day(ref.year, ref.month, g["d"])
    elif "q" in g:
        year, quarter = _year(g["y"], ref), _QUARTERS.get(g["q"].removeprefix("0"))
        if quarter is None:
            raise _Reason(f"there is no quarter {g['q'].upper()} (quarters are I–IV)")
        first, last = datetime.date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    elif "h" in g:
        year, half = _year(g["y"], ref), 0 if g["h"] == "dau" else 6
        first, last = datetime.date(year, half + 1, 1), _month_end(year, half + 6)
    elif "m" in g:
        year, month = _year(g["y"], ref), int(g["m"])
        if not 1 <= month <= 12:
            raise _Reason(f"there is no month {month}")
        if "d" in g:
            first = last = _day(year, month, g["d"])
        else:
            first, last = datetime.date(year, month, 1), _month_end(year, month)
    else:
        year = _year(g["y"], ref)
        first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    return first, last, "truoc" in words


def _year(text: str | None, ref: datetime.date | None) -> int:
    if text is None:
        if ref is None:
            raise _Reason("no year")
        return ref.year
    if len(text) == 2:
        raise _Reason(f'the two-digit year "{text}" is ambiguous')
    if len(text) != 4 or not 1900 <= int(text) <= 2199:
        raise _Reason(f'"{text[:8]}" is not a year between 1900 and 2199')
    return int(text)


def _day(year: int, month: int, day_text: str) -> datetime.date:
    days = calendar.monthrange(year, month)[1]
    if not 1 <= int(day_text) <= days:
        raise _Reason(
            f"is not a real day ({calendar.month_name[month]} {year} has {days} days)", whole=True
        )
    return datetime.date(year, month, int(day_text))


def _month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])
