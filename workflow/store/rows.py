"""Task rows as JSON and back: how an upgrade records what it changed, so history can
replay it and rewind it (``workflow.views.asof``), and show it (``field_changes``). Times
travel as UTC text, dates as ISO."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime
from sqlalchemy.engine import Row

from workflow import clock
from workflow.store.audit import utc_text
from workflow.store.models import TaskRow

TASK = TaskRow.__table__


def _column_types() -> dict[str, type]:
    """Which task columns hold times and which dates (UTCDateTime wraps a DateTime)."""
    out: dict[str, type] = {}
    for col in TASK.columns:
        kind = getattr(col.type, "impl_instance", col.type)
        if isinstance(kind, DateTime):
            out[col.name] = datetime
        elif isinstance(kind, Date):
            out[col.name] = date
    return out


_TYPES = _column_types()


def plain(row: Row | Mapping[str, Any]) -> dict[str, Any]:
    """A task row as JSON-safe values (times as UTC text, dates as ISO)."""
    values = row._mapping if isinstance(row, Row) else row
    out = {}
    for key, value in values.items():
        if key == "plan_id":
            continue
        if isinstance(value, datetime):
            value = utc_text(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def decode(key: str, value: Any) -> Any:
    if value is None:
        return None
    kind = _TYPES.get(key)
    if kind is datetime:
        return clock.to_utc(datetime.fromisoformat(value))
    if kind is date:
        return date.fromisoformat(value)
    return value


def decoded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: decode(k, v) for k, v in values.items()}


def row_changes(before: Mapping[str, Row], after: Mapping[str, Row]) -> dict[str, Any]:
    """What an upgrade did to the task rows (by task id), so history can replay and rewind it:
    ``added`` and ``removed`` rows in full, ``changed`` columns as [before, after]."""
    out: dict[str, Any] = {"added": {}, "removed": {}, "changed": {}, "deadline_words": True}
    for task_id, row in after.items():
        new = plain(row)
        if task_id not in before:
            out["added"][task_id] = new
            continue
        old = plain(before[task_id])
        diff = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
        if diff:
            out["changed"][task_id] = diff
    for task_id, row in before.items():
        if task_id not in after:
            out["removed"][task_id] = plain(row)
    return out


def current(rows: dict[str, Any]) -> dict[str, Any]:
    """An upgrade's recorded ``rows`` as if recorded today. Those recorded before revision 0004
    (no ``deadline_words`` mark) know no ``original_due`` or ``due_text``: the revision set
    ``original_due`` to the due (there were no extensions), so a due they changed moved it
    too; the words were first written by a later upgrade, so they had none."""
    if rows.get("deadline_words"):
        return rows
    full = {k: {t: {"due_text": None, **v, "original_due": v.get("due")}
                for t, v in rows[k].items()} for k in ("added", "removed")}
    changed = {t: {**d, "original_due": d["due"]} if "due" in d else d
               for t, d in rows["changed"].items()}
    return {**full, "changed": changed, "deadline_words": True}


# The columns a definition sets (the rest follow from moves and clocks), as an upgrade's
# ``changes`` lists them; JSON columns are shown as their values.
FIELDS = ("title", "ref", "note", "lead", "co_leads", "support", "approver", "depends_on",
          "due", "original_due", "due_text", "start", "due_after", "due_within", "clock",
          "kind", "parent", "unit", "rule")
_JSON_FIELDS = ("co_leads", "support", "depends_on", "clock", "rule")


def _shown(field: str, value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if field in _JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each definition field an upgrade changed, task by task in the document's order:
    ``{"task", "field", "old", "new"}``. ``before``/``after``: task id -> row."""
    out = []
    for task_id, row in sorted(after.items(), key=lambda kv: (kv[1].position, kv[1].pk)):
        old_row = before.get(task_id)
        if old_row is None:
            continue
        old, new = plain(old_row), plain(row)
        out += [{"task": task_id, "field": f, "old": _shown(f, decode(f, old.get(f))),
                 "new": _shown(f, decode(f, new.get(f)))}
                for f in FIELDS if old.get(f) != new.get(f)]
    return out


def recorded_changes(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An upgrade event's ``changes``; for one recorded before they were kept, the same read
    from its row changes."""
    if "changes" in data and isinstance(data["changes"], list):
        return data["changes"]
    rows = data.get("rows")
    if not rows:
        return []
    return [{"task": t, "field": f, "old": _shown(f, pair[0]), "new": _shown(f, pair[1])}
            for t, diff in current(rows)["changed"].items() for f, pair in diff.items()
            if f in FIELDS]
