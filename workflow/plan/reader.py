"""Reading a composed YAML tree: text, lists and mappings with every problem collected (file,
line, key), never stopping at the first. The schemas themselves are ``definitions`` and
``sections``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from workflow.errors import DefinitionError, NotFoundError, Problem
from workflow.i18n import _
from workflow.plan.dates import (
    DateParseError,
    Duration,
    normalize_text,
    parse_date,
    read_duration,
)
from workflow.plan.yamlnodes import Mapping, Node, Scalar, Sequence
from workflow.text import describe, escape, nfc, strip_accents, unsafe_char

MAX_FILE_BYTES = 64 * 1024 * 1024
_ID_RE = re.compile(r"^[^\W_A-Z](?:[^\W_A-Z]|-)*$")  # lowercase letters (any script), digits, '-'
RESERVED: dict[str, str] = {}  # keys kept for later versions: their refusal says why


class Reader:
    """Walks the composed node tree, collecting problems instead of stopping at the first."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def problem(self, node: Node | int | None, key: str, message: str) -> None:
        line = node if isinstance(node, int) or node is None else node.line
        self.problems.append(Problem(self.filename, line, key, message))

    def warn(self, node: Node | None, key: str, message: str) -> None:
        line = f":{node.line}" if node is not None else ""
        self.warnings.append(f"{self.filename}{line}: {key}: {message}")

    def mapping(self, node: Node, key: str, allowed: dict[str, str] | None,
                what: str) -> Iterator[tuple[str, Node, Node]]:
        """Yields (key, key node, value node); reports non-mappings, duplicates, unknown keys."""
        if not isinstance(node, Mapping):
            self.problem(node, key, _("expected {what}, found {found}").format(what=what,
                                                                            found=kind_of(node)))
            return
        seen: dict[str, int] = {}
        pairs = iter(node.value)
        for knode, vnode in zip(pairs, pairs, strict=True):
            if not isinstance(knode, Scalar):
                self.problem(knode, key, _("a key must be plain text"))
                continue
            name = nfc(knode.value.strip())
            path = f"{key}.{name}" if key else name
            if self.refused(knode, path, name):
                continue
            if name in seen:
                self.problem(knode, path, _("duplicate key (first at line {line})").format(
                    line=seen[name]))
                continue
            seen[name] = knode.line
            if allowed is not None and name not in allowed:
                if name in RESERVED:
                    self.problem(knode, path, _(RESERVED[name]))
                else:
                    self.problem(knode, path, _("unknown key; allowed keys are {keys}").format(
                        keys=", ".join(allowed)))
                continue
            yield name, knode, vnode

    def refused(self, node: Node, key: str, value: str, allow: str = "") -> bool:
        """Reports a control or format character (an ESC, a NUL that PostgreSQL cannot store,
        a zero-width space that makes two ids look alike); True when there is one."""
        bad = unsafe_char(value, allow)
        if bad is None:
            return False
        self.problem(node, escape(key), _("contains {char}; control and invisible format "
                                          "characters are not allowed here: remove it").format(
            char=describe(bad)))
        return True

    def text(self, node: Node | None, key: str, *, required: bool = False) -> str | None:
        if node is None or is_null(node):
            if required:
                self.problem(node, key, _("is required and must not be empty"))
            return None
        if not isinstance(node, Scalar):
            self.problem(node, key, _("expected text, found {found}").format(found=kind_of(node)))
            return None
        if self.refused(node, key, node.value, allow="\n\t"):  # both become spaces below
            return None
        value = normalize_text(node.value)
        if not value and required:
            self.problem(node, key, _("must not be empty"))
            return None
        return value or None

    def text_list(self, node: Node | None, key: str) -> list[tuple[str, Node]]:
        if node is None or is_null(node):
            return []
        if not isinstance(node, Sequence):
            self.problem(node, key, _("expected a list such as [a, b], found {found}").format(
                found=kind_of(node)))
            return []
        items = []
        for item in node.value:
            value = self.text(item, key)
            if value is not None:
                items.append((value, item))
        return items


def read_period(r: Reader, node: Node | None, key: str, *, never: bool = False
                ) -> Duration | None:
    """A duration (h, d, w, wd; "never" where ``never``), or None after reporting why not."""
    raw = r.text(node, key, required=True)
    if raw is None:
        return None
    try:
        return read_duration(raw, never=never)
    except DateParseError as err:
        r.problem(node, key, str(err))
        return None


def is_null(node: Node | None) -> bool:
    """YAML's null: an empty or ~/null plain scalar (quoted "null" is the text null)."""
    return isinstance(node, Scalar) and node.is_null


def kind_of(node: Node | None) -> str:
    if node is None or is_null(node):
        return _("nothing")
    if isinstance(node, Mapping):
        return _("a mapping")
    if isinstance(node, Sequence):
        return _("a list")
    return f'"{escape(node.value)}"'


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise DefinitionError([Problem(str(p), None, "", _("file larger than 64 MiB"))])
        raw = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(_("{path}: no such file").format(path=p)) from None
    except IsADirectoryError:
        raise NotFoundError(_("{path}: is a directory, expected a YAML file").format(
            path=p)) from None
    except OSError as err:
        raise NotFoundError(_("{path}: cannot read: {reason}").format(
            path=p, reason=err.strerror)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DefinitionError([Problem(str(p), line, "", _("not UTF-8 text"))]) from None
    return nfc(text)


def valid_id(r: Reader, node: Node | int | None, key: str, value: str, what: str) -> bool:
    if _ID_RE.match(value):
        return True
    suggested = _suggest_id(value)
    r.problem(node, key, (_("\"{value}\" is not a valid {what}: use lowercase letters, digits "
                            "and '-', e.g. \"{suggested}\"") if suggested else
                          _("\"{value}\" is not a valid {what}: use lowercase letters, digits "
                            "and '-'")).format(value=value, what=what, suggested=suggested))
    return False


def _suggest_id(raw: str) -> str:
    # NFKC first: compatibility forms (full-width letters) become plain ones.
    ascii_text = strip_accents(unicodedata.normalize("NFKC", raw)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug


def read_date(r: Reader, node: Node | None, key: str, kind: str) -> date | None:
    """One day (``kind`` is "due" or "start": the last or first day a phrase names)."""
    raw = r.text(node, key)
    if raw is None:
        return None
    try:
        return parse_date(raw, kind=kind)
    except DateParseError as err:
        r.problem(node, key, str(err))
        return None
