"""The task state machine: states, triggers and guards, done by `transitions`.

One Machine for the whole process, holding no models: a move builds a small ``Move`` for the
row being moved and fires the event on it (``machine.events[trigger].trigger(move)``). That
costs microseconds and nothing per task, where a Machine per task costs 15–85 KB each.

Guards are ``conditions``. A guard that fails writes why on the move (the first reason wins),
so a refused move can say which rule refused it and what would satisfy it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from transitions import Machine, MachineError

from workflow.errors import MoveRefusedError

STATES = ["assigned", "in_progress", "reported", "approved", "blocked"]
TRIGGERS = ["start", "report", "approve", "return", "block", "unblock"]
FINAL = "approved"
NOTE_REQUIRED = {"report": "what was done", "return": "why it is sent back",
                 "block": "the difficulty", "unblock": "how it was resolved"}


def _visible(text: str) -> bool:
    """Has something to read: not only spaces or invisible format characters (U+200B ...)."""
    return any(not (c.isspace() or unicodedata.category(c) == "Cf") for c in text)


@dataclass
class Move:
    """What a guard needs to judge one move. ``state`` is what `transitions` reads and sets."""

    task: str
    state: str
    trigger: str
    actor: str
    lead: str
    support: tuple[str, ...]
    approver: str
    coordinator: str
    issuer: str
    note: str | None
    blocked_from: str | None = None
    open_dependencies: list[tuple[str, str]] = field(default_factory=list)
    start: date | None = None
    today: date | None = None
    refusal: str | None = None

    def refuse(self, reason: str) -> bool:
        if self.refusal is None:
            self.refusal = reason
        return False


def _who(move: Move, allowed: list[str], role: str) -> bool:
    if move.actor in allowed:
        return True
    names = " or ".join(dict.fromkeys(allowed))
    return move.refuse(f"{move.actor} may not {move.trigger} {move.task}; {role} "
                       f"{'is' if len(set(allowed)) == 1 else 'are'} {names}")


def is_lead(event) -> bool:
    m: Move = event.model
    return _who(m, [m.lead], "its lead")


def is_approver(event) -> bool:
    m: Move = event.model
    return _who(m, [m.approver], "its approver")


def may_block(event) -> bool:
    m: Move = event.model
    return _who(m, [m.lead, *m.support], "those who may block it (lead or support)")


def may_unblock(event) -> bool:
    m: Move = event.model
    return _who(m, [m.lead, m.coordinator, m.issuer], "those who may unblock it")


def has_note(event) -> bool:
    m: Move = event.model
    if m.note and _visible(m.note):
        return True
    return m.refuse(f"{m.trigger} {m.task} needs a note ({NOTE_REQUIRED[m.trigger]}): "
                    f'add --note "..."')


def dependencies_approved(event) -> bool:
    m: Move = event.model
    if not m.open_dependencies:
        return True
    shown = ", ".join(f"{dep} is {state}" for dep, state in m.open_dependencies[:5])
    more = len(m.open_dependencies) - 5
    tail = f" and {more} more" if more > 0 else ""
    each = "each must" if len(m.open_dependencies) > 1 else "must"
    return m.refuse(f"{m.task} cannot start: {shown}{tail} ({each} be approved first)")


def window_open(event) -> bool:
    m: Move = event.model
    if m.start is None or m.today is None or m.today >= m.start:
        return True
    return m.refuse(f"{m.task} cannot start before {m.start.isoformat()} "
                    f"(its start date); today is {m.today.isoformat()}")


def _blocked_from(state: str):
    def check(event) -> bool:
        return event.model.blocked_from == state  # picks the branch; refuses nothing itself
    check.__name__ = f"blocked_from_{state}"
    return check


@cache
def machine() -> Machine:
    transitions = [
        {"trigger": "start", "source": "assigned", "dest": "in_progress",
         "conditions": [is_lead, dependencies_approved, window_open]},
        {"trigger": "report", "source": "in_progress", "dest": "reported",
         "conditions": [is_lead, has_note]},
        {"trigger": "approve", "source": "reported", "dest": "approved",
         "conditions": [is_approver]},
        {"trigger": "return", "source": "reported", "dest": "in_progress",
         "conditions": [is_approver, has_note]},
        {"trigger": "block", "source": ["assigned", "in_progress", "reported"],
         "dest": "blocked", "conditions": [may_block, has_note]},
    ]
    for state in ("assigned", "in_progress", "reported"):
        transitions.append({"trigger": "unblock", "source": "blocked", "dest": state,
                            "conditions": [may_unblock, has_note, _blocked_from(state)]})
    return Machine(model=None, states=STATES, transitions=transitions, initial=None,
                   auto_transitions=False, send_event=True, model_override=False)


def allowed_triggers(state: str) -> list[str]:
    return [t for t in machine().get_triggers(state) if t in TRIGGERS]


def fire(move: Move) -> str:
    """Runs the move through the machine; returns the new state or raises MoveRefusedError."""
    m = machine()
    if move.trigger not in m.events:
        raise MoveRefusedError(f"unknown move {move.trigger!r}; moves are {', '.join(TRIGGERS)}")
    source = move.state
    try:
        ok = m.events[move.trigger].trigger(move)
    except MachineError:
        ok = False
        options = allowed_triggers(source)
        hint = f"; from {source} it may {', '.join(options)}" if options else " (it is final)"
        move.refusal = f"{move.task} cannot {move.trigger}: it is {source}{hint}"
    if not ok:
        raise MoveRefusedError(move.refusal or f"{move.task} cannot {move.trigger} now")
    return move.state
