"""Text helpers written once: Unicode normal form, accent folding, visible text, durations,
and what text from people and stored data may hold and how it is shown.

Every piece of text that enters the engine (files, options, notes) is NFC, so that one letter
is one code point whichever keyboard or converter produced it.

Control characters (Unicode category Cc: C0 such as ESC and BEL, DEL, C1) act on a terminal;
format characters (Cf: bidi overrides such as U+202E, zero-width spaces such as U+200B) are
invisible, so ``t1`` and ``t1`` + U+200B look the same. Definitions refuse both in every id,
name and title, notes refuse all but newline and tab, and every text view escapes whatever
unprintable text is already stored, so nothing read from data rewrites a terminal.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=3650)  # the engine's times must stay on the calendar


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_accents(text: str) -> str:
    """Vietnamese without its diacritics: "Đồng Tháp" → "Dong Thap" (case kept)."""
    nfd = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in nfd if not unicodedata.combining(c))


def visible(text: str) -> bool:
    """Has something to read: not only spaces or invisible format characters (U+200B ...)."""
    return any(not (c.isspace() or unicodedata.category(c) == "Cf") for c in text)


class DurationError(ValueError):
    """Why a duration was refused: ``form`` (not a number and a unit), ``zero`` or ``long``."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def parse_duration(value: object, units: str = "hdw") -> timedelta:
    """A positive whole number and one of ``units`` (any case, no space): "36h", "7d", "2w".

    Raises DurationError; the caller words the message for its own option or key.
    """
    if not isinstance(value, str):
        raise DurationError("form")
    match = re.fullmatch(f"([0-9]{{1,6}})([{units}])", value.strip().lower())
    if not match:
        raise DurationError("form")
    duration = timedelta(**{DURATION_UNITS[match[2]]: int(match[1])})
    if not duration:
        raise DurationError("zero")
    if duration > MAX_DURATION:
        raise DurationError("long")
    return duration


# Escaped on output: controls, format characters, lone surrogates (which cannot even be
# written as UTF-8) and the Unicode line and paragraph separators (a line break a terminal
# may honour where a one-line view does not expect one).
NOTE_ALLOWED = "\n\t"
_ESCAPED = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_REFUSED = frozenset(("Cc", "Cf"))
_CONTROLS = frozenset(("Cc",))
_NAMES = {0: "NUL", 7: "BEL", 8: "BACKSPACE", 9: "TAB", 10: "NEWLINE", 13: "CARRIAGE RETURN",
          27: "ESC", 127: "DEL", 0x9B: "CSI"}


def unsafe_char(text: str, allow: str = "", *, refused: frozenset = _REFUSED) -> str | None:
    """The first control or format character in ``text`` not in ``allow``, or None."""
    if text.isprintable():  # the usual case, answered in C
        return None
    for ch in text:
        if ch not in allow and unicodedata.category(ch) in refused:
            return ch
    return None


def control_char(text: str, allow: str = NOTE_ALLOWED) -> str | None:
    """The first control character (Cc) not in ``allow``: what a note may not hold. Format
    characters pass (a soft hyphen pasted from a document is harmless; it is escaped on
    output like any other)."""
    return unsafe_char(text, allow, refused=_CONTROLS)


def describe(ch: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: how an error names an invisible character."""
    name = _NAMES.get(ord(ch)) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str, keep: str = "") -> str:
    """``text`` safe for a terminal: each unprintable character but those in ``keep`` becomes
    a visible escape (ESC → ``\\x1b``, U+202E → ``\\u202e``); everything else is kept as is."""
    if text.isprintable():
        return text
    return "".join(ch if ch in keep or unicodedata.category(ch) not in _ESCAPED
                   else _escaped(ch) for ch in text)


def escape_lines(text: str) -> str:
    """A whole rendered view: its own line breaks stay, everything else is escaped."""
    return escape(text, keep="\n")


def json_safe(document: str) -> str:
    """A JSON document with every unprintable character written as a ``\\u`` escape: the same
    JSON value (a parser reads it back exactly), but safe to show on a terminal."""
    if document.isprintable() or all(ch == "\n" or ch.isprintable() for ch in document):
        return document
    out = []
    for ch in document:
        if ch != "\n" and unicodedata.category(ch) in _ESCAPED:
            code = ord(ch)
            if code >= 0x10000:  # JSON writes astral characters as a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
