"""YAML text → a light tree of nodes with line numbers, built from libyaml's event stream.

PyYAML's own composer keeps two Mark objects per node (a 100,000-task plan: 560 MB); these
nodes keep a value and a line (about a tenth of that). Nothing is constructed: scalars stay
text, so ``no``/``off`` are never booleans and a duplicate key is the reader's to report.
The tree is built without recursion, nesting is capped, and an alias is a shared reference to
its anchor's node (an alias bomb cannot expand: readers only go as deep as the schema).
"""

from __future__ import annotations

import sys

import yaml

from workflow.errors import DefinitionError, Problem
from workflow.i18n import _

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when present
MAX_DEPTH = 32  # the schema nests 5 deep; anything far deeper is a mistake or an attack
MAX_EXPANSION = 1_000_000  # characters aliases may add to what the file itself holds
NULLS = ("", "~", "null", "Null", "NULL")


class NestingError(DefinitionError):
    """Nesting deeper than MAX_DEPTH: our refusal, whatever limit the YAML library has."""


class _Loader(_Base):  # type: ignore[misc, valid-type]
    def resolve(self, kind, value, implicit):  # tags are never used: skip resolving them
        return ""


class Node:
    __slots__ = ("line", "value")

    def __init__(self, value, line: int) -> None:
        self.value = value
        self.line = line  # 1-based


class Scalar(Node):
    __slots__ = ("plain",)

    def __init__(self, value: str, line: int, plain: bool) -> None:
        super().__init__(value, line)
        self.plain = plain

    @property
    def is_null(self) -> bool:
        return self.plain and self.value in NULLS


class Mapping(Node):
    """``value`` is a flat list, key node then value node, in document order (no pair
    tuples: a plan of 100,000 tasks has 600,000 pairs)."""

    __slots__ = ()


class Sequence(Node):
    __slots__ = ()


class _Composer:
    """Builds the tree from the event stream, without recursion, measuring what aliases would
    expand to (characters of text, plus one a node) were they copied: an alias is shared
    here, but each reader that reads it reads it whole, so a big anchor named many times (or
    an alias bomb) is refused before anyone reads it."""

    def __init__(self, chars: int, filename: str) -> None:
        self.filename = filename
        self.stack: list[Node] = []  # the open collections
        self.line = 0  # the last line number: nodes on one line share the int
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[str, int] = {}  # anchor -> its node's expanded size
        self.open_sizes: list[list] = []  # per open collection: [its size so far, its anchor]
        self.expanded, self.limit = 0, MAX_EXPANSION + chars
        self.root: Node | None = None
        self.documents = 0

    def fail(self, line: int | None, message: str) -> DefinitionError:
        return DefinitionError([Problem(self.filename, line, "", message)])

    def attach(self, node: Node) -> None:
        if not self.stack:
            self.root = node
            return
        self.stack[-1].value.append(node)  # a mapping's keys and values alternate

    def grow(self, size: int) -> None:
        if self.open_sizes:
            self.open_sizes[-1][0] += size

    def event(self, event, line: int | None) -> None:
        if line == self.line:
            line = self.line
        else:
            self.line = line
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail(line, _("more than one YAML document; a plan is one document"))
        elif isinstance(event, yaml.ScalarEvent):
            value = event.value
            if len(value) < 40:  # keys, ids and dates repeat across thousands of tasks
                value = sys.intern(value)
            node = Scalar(value, line, not event.style)  # plain: no quotes, no block
            if event.anchor:
                self.anchors[event.anchor] = node
                self.sizes[event.anchor] = len(value) + 1
            self.grow(len(value) + 1)
            self.attach(node)
        elif isinstance(event, yaml.CollectionStartEvent):
            self.start(event, line)
        elif isinstance(event, yaml.CollectionEndEvent):
            self.stack.pop()
            size, anchor = self.open_sizes.pop()
            if anchor:
                self.sizes[anchor] = size
            self.grow(size)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event, line)

    def start(self, event, line: int | None) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise NestingError([Problem(self.filename, line, "", _(
                "nesting deeper than {depth} levels; a plan needs at most 5").format(
                depth=MAX_DEPTH))])
        node = (Mapping if isinstance(event, yaml.MappingStartEvent) else Sequence)([], line)
        if event.anchor:
            self.anchors[event.anchor] = node
        self.attach(node)
        self.stack.append(node)
        self.open_sizes.append([1, event.anchor])

    def alias(self, event, line: int | None) -> None:
        if event.anchor not in self.anchors:
            raise self.fail(line, _("alias *{anchor} has no anchor &{anchor}").format(
                anchor=event.anchor))
        size = self.sizes.get(event.anchor, 1)  # 1: an alias inside its own anchor
        self.expanded += size
        if self.expanded > self.limit:
            raise self.fail(line, _("aliases expand to more than {limit} characters (at "
                                    "*{anchor}); a plan needs no such repetition: write the "
                                    "values out").format(limit=f"{self.limit:,}",
                                                         anchor=event.anchor))
        self.grow(size)
        self.attach(self.anchors[event.anchor])


def compose(text: str | bytes, filename: str, *, chars: int | None = None,
            probe: bool = True) -> Node:
    """The single document's root node; DefinitionError for bad YAML, with its line.

    ``text`` may be the UTF-8 bytes of the text (``chars`` characters long): libyaml reads
    bytes as they are, where it would make its own UTF-8 copy of a str.

    Nesting deeper than MAX_DEPTH is refused in our words whatever the library does: libyaml's
    scanner reads a flow collection (``[[[[...``) to its end before we see its first event,
    and refuses on its own beyond its own limit. When the library fails, the text up to where
    it failed is read again (``probe``): if that is nested deeper than ours, ours is the error.
    """
    loader = _Loader(text)
    composer = _Composer(len(text) if chars is None else chars, filename)
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            composer.event(event, event.start_mark.line + 1 if event.start_mark else None)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        if probe and mark is not None and mark.index:
            whole = text.decode() if isinstance(text, bytes) else text
            _refuse_if_too_deep(whole[: mark.index], filename)
        what = err.problem or err.context or _("unreadable YAML")
        raise composer.fail(mark.line + 1 if mark else None,
                            _("YAML syntax error: {error}").format(error=what)) from None
    except yaml.YAMLError as err:
        raise composer.fail(None, _("not YAML: {error}").format(error=err)) from None
    finally:
        loader.dispose()
    if composer.root is None:
        raise composer.fail(1, _("the file is empty; expected a plan"))
    return composer.root


def _refuse_if_too_deep(prefix: str, filename: str) -> None:
    """Raises our NestingError if ``prefix`` (the text before a library error) nests deeper
    than MAX_DEPTH; any other problem in it is left to the library's error."""
    try:
        compose(prefix, filename, probe=False)
    except NestingError:
        raise
    except DefinitionError:
        pass
