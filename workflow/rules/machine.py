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
from workflow.i18n import N_, _, ngettext
from workflow.rules.kinds import OPEN_STATES, State, Trigger, move_word, state_word
from workflow.text import visible

STATES = tuple(State)
TRIGGERS = tuple(Trigger)
NOTE_REQUIRED = {Trigger.REPORT: N_("what was done"), Trigger.RETURN: N_("why it is sent back"),
                 Trigger.BLOCK: N_("the difficulty"), Trigger.UNBLOCK: N_("how it was resolved")}


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
    names = (" " + _("or") + " ").join(dict.fromkeys(allowed))
    return move.refuse(ngettext("{actor} may not {move} {task}; {role} is {names}",
                                "{actor} may not {move} {task}; {role} are {names}",
                                len(set(allowed))).format(
        actor=move.actor, move=move_word(move.trigger), task=move.task, role=_(role),
        names=names))


def is_lead(event) -> bool:
    m: Move = event.model
    return _who(m, m.leads, N_("its joint leads") if m.co_leads else N_("its lead"))


def is_approver(event) -> bool:
    m: Move = event.model
    if m.actor == m.approver and m.actor in m.leads:
        # Only a plan loaded before joint leads were checked can store one of them as its
        # approver (the coordinator as the second lead): nobody approves their own work.
        return m.refuse(_("{actor} may not {trigger} {task}: it is one of the task's leads, and "
                          "nobody approves their own work; name another approver in the "
                          "definition and load it with --upgrade").format(
            actor=m.actor, trigger=move_word(m.trigger), task=m.task))
    return _who(m, [m.approver], N_("its approver"))


def may_block(event) -> bool:
    m: Move = event.model
    return _who(m, [*m.leads, *m.support], N_("those who may block it (lead or support)"))


def may_unblock(event) -> bool:
    m: Move = event.model
    return _who(m, [*m.leads, m.coordinator, m.issuer], N_("those who may unblock it"))


def has_note(event) -> bool:
    m: Move = event.model
    if m.note and visible(m.note):
        return True
    return m.refuse(_('{move} {task} needs a note ({what}): add --note "..."').format(
        move=move_word(m.trigger), task=m.task, what=_(NOTE_REQUIRED[m.trigger])))


def dependencies_approved(event) -> bool:
    m: Move = event.model
    if not m.open_dependencies:
        return True
    shown = ", ".join(_("{task} is {state}").format(task=dep, state=state_word(state))
                      for dep, state in m.open_dependencies[:5])
    more = len(m.open_dependencies) - 5
    tail = " " + _("and {more} more").format(more=more) if more > 0 else ""
    return m.refuse(ngettext("{task} cannot start: {waiting} (must be approved first)",
                             "{task} cannot start: {waiting} (each must be approved first)",
                             len(m.open_dependencies)).format(task=m.task, waiting=shown + tail))


def window_open(event) -> bool:
    m: Move = event.model
    if m.start is None or m.today is None or m.today >= m.start:
        return True
    return m.refuse(_("{task} cannot start before {start} (its start date); today is {today}")
                    .format(task=m.task, start=m.start.isoformat(), today=m.today.isoformat()))


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
        raise MoveRefusedError(_("unknown move {move!r}; moves are {moves}").format(
            move=move.trigger, moves=", ".join(TRIGGERS)))
    source = move.state
    try:
        ok = m.events[move.trigger].trigger(move)
    except MachineError:
        ok = False
        options = allowed_triggers(source)
        said = {"task": move.task, "move": move_word(move.trigger), "state": state_word(source),
                "moves": ", ".join(map(move_word, options))}
        move.refusal = (_("{task} cannot {move}: it is {state}; from {state} it may {moves}")
                        if options else _("{task} cannot {move}: it is {state} (it is final)")
                        ).format(**said)
    if not ok:
        raise MoveRefusedError(move.refusal or _("{task} cannot {move} now").format(
            task=move.task, move=move_word(move.trigger)))
    return move.state
