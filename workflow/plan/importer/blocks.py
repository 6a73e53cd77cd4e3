"""What every reader gives: paragraphs and tables of clean text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\ufeff]")


@dataclass(frozen=True)
class Para:
    """One paragraph; ``strong`` when it is a heading or wholly bold (a hint, not a rule)."""

    text: str
    strong: bool = False


@dataclass(frozen=True)
class Table:
    """Rows of cell texts; a cell merged over several rows repeats its text in each."""

    rows: tuple[tuple[str, ...], ...]


Block = Para | Table


def clean(text: str) -> str:
    """NFC, no control or zero-width characters, every run of whitespace one space."""
    return " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
