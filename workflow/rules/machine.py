"""The task state machine: states, triggers and guards, done by `transitions`.

One Machine for the whole process, holding no models: a move builds a small ``Move`` for the
row being moved and fires the event on it (``machine.events[trigger].trigger(move)``). That
costs microseconds and nothing per task, where a Machine per task costs 15–85 KB each.

Guards are ``conditions``. A guard that fails writes why on the move (the first reason wins),
so a refused move can say which rule refused it and what would satisfy it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

from transitions import Machine, MachineError

from workflow.errors import MoveRefusedError
from workflow.i18n import _
from workflow.rules.kinds import OPEN_STATES, State, Trigger
from workflow.text import visible

STATES = tuple(State)
TRIGGERS = tuple(Trigger)
NOTE_REQUIRED = {Trigger.REPORT: "what was done", Trigger.RETURN: "why it is sent back",
                 Trigger.BLOCK: "the difficulty", Trigger.UNBLOCK: "how it was resolved"}


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
    co_leads: tuple[str, ...] = ()  # joint leads after the first: each may make lead's moves

    @property
    def leads(self) -> list[str]:
        return [self.lead, *self.co_leads]

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
    return _who(m, m.leads, _("its joint leads") if m.co_leads else "its lead")


def is_approver(event) -> bool:
    m: Move = event.model
    if m.actor == m.approver and m.actor in m.leads:
        # Only a plan loaded before joint leads were checked can store one of them as its
        # approver (the coordinator as the second lead): nobody approves their own work.
        return m.refuse(_("{actor} may not {trigger} {task}: it is one of the task's leads, and "
                          "nobody approves their own work; name another approver in the "
                          "definition and load it with --upgrade").format(
            actor=m.actor, trigger=m.trigger, task=m.task))
    return _who(m, [m.approver], "its approver")


def may_block(event) -> bool:
    m: Move = event.model
    return _who(m, [*m.leads, *m.support], "those who may block it (lead or support)")


def may_unblock(event) -> bool:
    m: Move = event.model
    return _who(m, [*m.leads, m.coordinator, m.issuer], "those who may unblock it")


def has_note(event) -> bool:
    m: Move = event.model
    if m.note and visible(m.note):
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
    # Plain strings for `transitions`: given Enum members it would name states by their
    # Python names (ASSIGNED), not by the values stored and shown.
    s = {state: state.value for state in State}
    t = {trigger: trigger.value for trigger in Trigger}
    transitions = [
        {"trigger": t[Trigger.START], "source": s[State.ASSIGNED], "dest": s[State.IN_PROGRESS],
         "conditions": [is_lead, dependencies_approved, window_open]},
        {"trigger": t[Trigger.REPORT], "source": s[State.IN_PROGRESS],
         "dest": s[State.REPORTED], "conditions": [is_lead, has_note]},
        {"trigger": t[Trigger.APPROVE], "source": s[State.REPORTED], "dest": s[State.APPROVED],
         "conditions": [is_approver]},
        {"trigger": t[Trigger.RETURN], "source": s[State.REPORTED],
         "dest": s[State.IN_PROGRESS], "conditions": [is_approver, has_note]},
        {"trigger": t[Trigger.BLOCK], "source": [s[x] for x in OPEN_STATES],
         "dest": s[State.BLOCKED], "conditions": [may_block, has_note]},
    ]
    for state in OPEN_STATES:
        transitions.append({"trigger": t[Trigger.UNBLOCK], "source": s[State.BLOCKED],
                            "dest": s[state],
                            "conditions": [may_unblock, has_note, _blocked_from(state)]})
    return Machine(model=None, states=list(s.values()), transitions=transitions, initial=None,
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
