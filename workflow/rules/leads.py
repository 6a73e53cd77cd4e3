"""Who answers for a task: its leads, who must act on it now, whose delay an overdue task is.

Written once, for every caller: the state machine's guards (who may make the lead's moves),
escalation (who must act), the listings and the summary (whom an overdue task counts against).
A task here is anything with the task row's attributes (a database row, a replayed
``lifecycle.Task``), where ``co_leads`` is the row's JSON list.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from workflow.rules.kinds import State


def co_leads(task: Any) -> list[str]:
    """The joint leads after the first (``lead: [a, b]``: ``[b]``); none for most tasks."""
    raw = getattr(task, "co_leads", None) or "[]"  # a row from before revision 0005: none
    return json.loads(raw) if isinstance(raw, str) else list(raw)


def leads(task: Any) -> tuple[str, ...]:
    """Every lead of the task, the first (who heads its escalation chain) first. Each of them
    may make the lead's moves; none of them may approve the task."""
    return (task.lead, *co_leads(task))


def must_act(task: Any) -> str:
    """Who must act on an open task: its approver while it is reported, else its (first) lead."""
    return task.approver if task.state == State.REPORTED else task.lead


def approvers_delay(task: Any, now: datetime) -> bool:
    """Overdue now, though reported by the end of its due day and still awaiting approval: the
    delay is the approver's (who must act), not the lead's, and is counted against it."""
    return (task.state == State.REPORTED and task.reported_at is not None
            and task.overdue_at is not None and task.reported_at < task.overdue_at <= now)
