"""Text helpers written once: Unicode normal form, accent folding, visible text, durations.

Every piece of text that enters the engine (files, options, notes) is NFC, so that one letter
is one code point whichever keyboard or converter produced it.
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
