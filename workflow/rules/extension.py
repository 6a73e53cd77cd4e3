"""Deadline extensions (gia hạn): who may grant one, and what it does to "on time".

SPEC.md: the coordinator or the issuer, with a reason, to a later day, while the task is not
approved. An extension counts for "on time" only if it was granted before the due day it
replaces had ended; after any extension the task is overdue only from the end of the new due
day (``lifecycle.due_changes``), and a late one changes only how the finished task is rated
(``rated_due``, read by ``lifecycle.move_changes`` at approval).

Pure: no database, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from workflow import clock
from workflow.errors import MoveRefusedError
from workflow.i18n import _
from workflow.rules.kinds import Kind, State


def judge(*, task: str, state: str, kind: str, due: date | None, new_due: date, actor: str,
          coordinator: str, issuer: str, note: str | None) -> None:
    """Raises MoveRefusedError naming the rule an extension of ``task`` to ``new_due`` breaks."""
    if kind == Kind.GROUP:
        raise MoveRefusedError(_("{task} has instances: extend them, e.g. workflow extend "
                                 "'{task}/*' (every instance in one go)").format(task=task))
    if actor not in (coordinator, issuer):
        raise MoveRefusedError(_("{actor} may not extend {task}: only the coordinator "
                                 "({coordinator}) or the issuer ({issuer}) may").format(
            actor=actor, task=task, coordinator=coordinator, issuer=issuer))
    if state == State.APPROVED:
        raise MoveRefusedError(_("{task} is approved; an approved task's deadline is not "
                                 "extended").format(task=task))
    if due is None:
        raise MoveRefusedError(_("{task} has no due date to extend").format(task=task))
    if new_due == due:
        raise MoveRefusedError(_("{task} is already due {due}; an extension gives a later "
                                 "day").format(task=task, due=due.isoformat()))
    if new_due < due:
        raise MoveRefusedError(_("{new} is before {task}'s due day {due}; an extension gives a "
                                 "later day").format(new=new_due.isoformat(), task=task,
                                                     due=due.isoformat()))
    if not note:
        raise MoveRefusedError(_("extending {task} needs a note: the reason (--note)").format(
            task=task))


def rated_due(original_due: date | None, extensions: Iterable[tuple[datetime, date]],
              tz: str) -> date | None:
    """The due day the task is rated against when approved: its original due, moved by each
    extension (granted at, to) granted before the rated day had ended. Once one comes late,
    every later one does too: a late extension never makes a late task punctual."""
    rated = original_due
    for granted_at, to in extensions:
        if rated is not None and in_time(granted_at, rated, tz):
            rated = max(rated, to)
    return rated


def in_time(granted_at: datetime, replaced: date, tz: str) -> bool:
    """Was an extension granted before the end of the due day it replaces?"""
    return clock.to_utc(granted_at) < clock.end_of_day(replaced, tz)
