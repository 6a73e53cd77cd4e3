"""The task table of one plan as ``lifecycle.Tasks``: the rules' changes, written in place.

Used inside the caller's write transaction (a move, a sweep). Every change is an UPDATE of one
row by its key and the version it was read at, so a row changed behind the transaction's back
is refused (exit 6) instead of overwritten. The statements are built once per set of columns.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from workflow.clock import to_utc
from workflow.errors import ConflictError, NotFoundError
from workflow.i18n import N_, _
from workflow.rules.kinds import EventKind, move_word, state_word
from workflow.rules.lifecycle import Task
from workflow.store.models import DependencyRow, EventRow, TaskRow

TASK, DEP, EVENT = TaskRow.__table__, DependencyRow.__table__, EventRow.__table__

_BY_ID = select(TASK).where(TASK.c.plan_id == bindparam("plan_id"),
                            TASK.c.task_id == bindparam("task_id"))
_DEPENDENTS = select(TASK).where(
    TASK.c.plan_id == bindparam("plan_id"),
    TASK.c.task_id.in_(select(DEP.c.task_id).where(DEP.c.plan_id == bindparam("plan_id"),
                                                   DEP.c.depends_on == bindparam("task_id"))))
_CHILD_STATES = (select(TASK.c.state, func.count())
                 .where(TASK.c.plan_id == bindparam("plan_id"),
                        TASK.c.parent == bindparam("task_id"))
                 .group_by(TASK.c.state))
_FOLLOWERS = select(TASK).where(TASK.c.plan_id == bindparam("plan_id"),
                               TASK.c.due_after == bindparam("task_id"), TASK.c.due.is_(None))
_NOW = select(TASK.c.state).where(TASK.c.pk == bindparam("pk"))
_EXTENSIONS = (select(EVENT.c.task_id, EVENT.c.at, EVENT.c.data)
               .where(EVENT.c.plan_id == bindparam("plan_id"),
                      EVENT.c.event == EventKind.EXTEND).order_by(EVENT.c.seq))


def extensions(conn: Connection, plan_id: str,
               task_id: str | None = None) -> dict[str, list[tuple[datetime, date]]]:
    """Each extended task's extensions from the history, in order: (granted at, new due)."""
    query = _EXTENSIONS if task_id is None else _EXTENSIONS.where(EVENT.c.task_id == task_id)
    out: dict[str, list[tuple[datetime, date]]] = {}
    for t, at, data in conn.execute(query, {"plan_id": plan_id}):
        out.setdefault(t, []).append((to_utc(at), date.fromisoformat(json.loads(data)["new_due"])))
    return out


@cache
def _update(columns: frozenset[str]):
    return (update(TASK).where(TASK.c.pk == bindparam("pk_"),
                               TASK.c.version == bindparam("version_"))
            .values({c: bindparam(c) for c in sorted(columns)}))


class TaskTable:
    """``doing`` names the move in a refusal ("another start or move got there first")."""

    def __init__(self, conn: Connection, plan_id: str, doing: str = N_("change")) -> None:
        self.conn = conn
        self.plan_id = plan_id
        self.doing = doing

    def task(self, task_id: str) -> Task | None:
        row = self.conn.execute(_BY_ID, {"plan_id": self.plan_id,
                                         "task_id": task_id}).one_or_none()
        return None if row is None else Task(row._mapping)

    def dependents(self, task_id: str) -> list[Task]:
        return [Task(r._mapping) for r in self.conn.execute(
            _DEPENDENTS, {"plan_id": self.plan_id, "task_id": task_id})]

    def child_states(self, parent: str) -> dict[str, int]:
        return dict(self.conn.execute(_CHILD_STATES, {"plan_id": self.plan_id,
                                                      "task_id": parent}).all())

    def followers(self, task_id: str) -> list[Task]:
        return [Task(r._mapping) for r in self.conn.execute(
            _FOLLOWERS, {"plan_id": self.plan_id, "task_id": task_id})]

    def change(self, task: Task, changes: dict[str, Any]) -> None:
        done = self.conn.execute(_update(frozenset(changes)),
                                 {**changes, "pk_": task.pk, "version_": task.version})
        if done.rowcount != 1:
            now = self.conn.execute(_NOW, {"pk": task.pk}).scalar_one_or_none()
            if now is None:  # an upgrade of the plan removed the task
                raise NotFoundError(_("{task} was removed from plan {plan} while you moved it (the "
                                      "plan was upgraded); nothing was written. Check with: "
                                      "workflow tasks").format(task=task.task_id,
                                                               plan=self.plan_id))
            raise ConflictError(_(
                "{task} changed while you moved it: it was {state}, it is now {now} (another "
                "{doing} or move got there first); nothing was written. Check with: workflow "
                "show {task}").format(task=task.task_id, state=state_word(task.state),
                                      now=state_word(now),
                                      doing=move_word(self.doing) if self.doing != "change"
                                      else _(self.doing)))
        task.update(changes)
