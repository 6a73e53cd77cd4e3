"""The names the engine speaks in, defined once: states, triggers, event kinds, reasons.

Each is a StrEnum: its members are the very strings stored in the database and printed in
JSON, so ``row.state == State.APPROVED`` holds for a row read back, and nothing else in the
package spells a state, a trigger or an event kind as a string literal.
"""

from __future__ import annotations

from enum import StrEnum

from workflow.i18n import N_, _


class State(StrEnum):
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    REPORTED = "reported"
    APPROVED = "approved"
    BLOCKED = "blocked"


class Trigger(StrEnum):
    """A move, named by its trigger; its history event has the same name."""

    START = "start"
    REPORT = "report"
    APPROVE = "approve"
    RETURN = "return"
    BLOCK = "block"
    UNBLOCK = "unblock"


class EventKind(StrEnum):
    """History events that are not moves."""

    LOAD = "load"
    UPGRADE = "upgrade"
    EXTEND = "extend"  # a deadline extended (gia hạn): data has the old and new due
    CREATED = "created"  # a recurring occurrence came into being
    ESCALATION_RAISED = "escalation_raised"
    ESCALATION_CLIMBED = "escalation_climbed"
    ESCALATION_RESOLVED = "escalation_resolved"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    DUE_FIXED = "due_fixed"  # a deadline following a task got its date (data: due, after)
    REMINDER = "reminder"  # nhắc việc: the agency that must act was reminded of the due day


class Reason(StrEnum):
    """Why a task is escalated, in order of precedence."""

    BLOCKED = "blocked"
    OVERDUE = "overdue"
    STALLED = "stalled"


class Step(StrEnum):
    """What an escalation sweep or move did to an escalation."""

    RAISED = "raised"
    CLIMBED = "climbed"
    RESOLVED = "resolved"
    REMINDED = "reminded"  # not an escalation: a reminder (nhắc việc) before the due day


class Kind(StrEnum):
    """A task row: a plain task, a group (fanned out or recurring: it rolls up), an instance."""

    TASK = "task"
    GROUP = "group"
    INSTANCE = "instance"


EVENT_KINDS: tuple[str, ...] = (*Trigger, *EventKind)
ESCALATION_EVENTS = (EventKind.ESCALATION_RAISED, EventKind.ESCALATION_CLIMBED,
                     EventKind.ESCALATION_RESOLVED)
OPEN_STATES = (State.ASSIGNED, State.IN_PROGRESS, State.REPORTED)  # may stall or be overdue
MOVE_EVENTS = frozenset(Trigger)  # `"start" in Trigger` is an error on Python 3.11: use this

# The words a message uses for a state or a move: the stored value in English, the glossary's
# word in Vietnamese (JSON keeps the value). Marked here, translated where a message is built.
STATE_WORDS = {State.ASSIGNED: N_("assigned"), State.IN_PROGRESS: N_("in_progress"),
               State.REPORTED: N_("reported"), State.APPROVED: N_("approved"),
               State.BLOCKED: N_("blocked")}
MOVE_WORDS = {Trigger.START: N_("start"), Trigger.REPORT: N_("report"),
              Trigger.APPROVE: N_("approve"), Trigger.RETURN: N_("return"),
              Trigger.BLOCK: N_("block"), Trigger.UNBLOCK: N_("unblock")}


def state_word(state: str) -> str:
    """A state as a message says it: ``in_progress`` in English, "đang thực hiện" in Vietnamese."""
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state


def move_word(trigger: str) -> str:
    """A move as a message says it: ``start`` in English, "bắt đầu thực hiện" in Vietnamese."""
    return _(MOVE_WORDS[trigger]) if trigger in MOVE_WORDS else trigger
