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
                node = Scalar(value, line, event.style is None)
                if event.anchor:
                    anchors[event.anchor] = node
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
            elif isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise fail(line, f"alias *{event.anchor} has no anchor &{event.anchor}")
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
