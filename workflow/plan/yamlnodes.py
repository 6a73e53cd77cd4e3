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

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when present
MAX_DEPTH = 32  # the schema nests 5 deep; anything far deeper is a mistake or an attack
MAX_EXPANSION = 1_000_000  # characters aliases may add to what the file itself holds
NULLS = ("", "~", "null", "Null", "NULL")


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
    """``value`` is a list of (key node, value node) in document order."""

    __slots__ = ()


class Sequence(Node):
    __slots__ = ()


def compose(text: str, filename: str) -> Node:
    """The single document's root node; DefinitionError for bad YAML, with its line."""
    loader = _Loader(text)
    stack: list[tuple[Node, list]] = []  # open collections and, for mappings, a pending key
    anchors: dict[str, Node] = {}
    # What aliases would expand to, were they copied (characters of text, plus one a node): an
    # alias is shared here, but each reader that reads it reads it whole, so a big anchor
    # named many times (or an alias bomb) is refused before anyone reads it.
    sizes: dict[str, int] = {}  # anchor -> its node's expanded size
    open_sizes: list[list] = []  # for each open collection: [its size so far, its anchor]
    expanded, limit = 0, MAX_EXPANSION + len(text)
    root: Node | None = None
    documents = 0

    def fail(line: int | None, message: str) -> DefinitionError:
        return DefinitionError([Problem(filename, line, "", message)])

    def attach(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending = stack[-1]
        if isinstance(parent, Sequence):
            parent.value.append(node)
        elif not pending:
            pending.append(node)
        else:
            parent.value.append((pending.pop(), node))

    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise fail(line, "more than one YAML document; a plan is one document")
            elif isinstance(event, yaml.ScalarEvent):
                value = event.value
                if len(value) < 40:  # keys, ids and dates repeat across thousands of tasks
                    value = sys.intern(value)
                node = Scalar(value, line, not event.style)  # plain: no quotes, no block
                if event.anchor:
                    anchors[event.anchor] = node
                    sizes[event.anchor] = len(value) + 1
                if open_sizes:
                    open_sizes[-1][0] += len(value) + 1
                attach(node)
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise fail(line, f"nesting deeper than {MAX_DEPTH} levels; a plan needs "
                                     "at most 5")
                node = (Mapping if isinstance(event, yaml.MappingStartEvent) else Sequence)(
                    [], line)
                if event.anchor:
                    anchors[event.anchor] = node
                attach(node)
                stack.append((node, []))
                open_sizes.append([1, event.anchor])
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                size, anchor = open_sizes.pop()
                if anchor:
                    sizes[anchor] = size
                if open_sizes:
                    open_sizes[-1][0] += size
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise fail(line, f"alias *{event.anchor} has no anchor &{event.anchor}")
                size = sizes.get(event.anchor, 1)  # 1: an alias inside its own anchor
                expanded += size
                if expanded > limit:
                    raise fail(line, f"aliases expand to more than {limit:,} characters (at "
                                     f"*{event.anchor}); a plan needs no such repetition: "
                                     "write the values out")
                if open_sizes:
                    open_sizes[-1][0] += size
                attach(anchors[event.anchor])
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = err.problem or err.context or "unreadable YAML"
        raise fail(mark.line + 1 if mark else None, f"YAML syntax error: {what}") from None
    except yaml.YAMLError as err:
        raise fail(None, f"not YAML: {err}") from None
    finally:
        loader.dispose()
    if root is None:
        raise fail(1, "the file is empty; expected a plan")
    return root
