"""A task's time keys: ``due`` (a phrase, or ``{after: TASK, within: 15wd}``), ``start``, and
its own ``stall_after``/``step_after``/``remind_before``.

Every ``due`` phrase goes through the deadline grammar (``dates.parse_deadline``): a range sets
the window, "Từ 01/7/2025" a start without a due date, "Thường xuyên" no date (the words and the
reason are kept), and a recurring phrase ("trước ngày 20 hằng tháng") makes a recurring task,
the same ``Repeat`` that ``repeat:`` makes. Its occurrences begin at the phrase's own window, else
the task's ``start``, else the plan's ``period``; they end at the window's or the period's end,
else never (like ``repeat:`` without ``until``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from workflow.i18n import _
from workflow.plan.dates import DateParseError, Deadline, Duration, explain, parse_deadline
from workflow.plan.model import Repeat
from workflow.plan.reader import Reader, is_null, kind_of, read_date, read_period
from workflow.plan.yamlnodes import Mapping, Node, Scalar

RELATIVE_KEYS = {"after": "the task whose approval starts the clock",
                 "within": "how long after it is approved, e.g. 30d, 15wd, 15 ngày làm việc"}
CLOCK_KEYS = ("stall_after", "step_after", "remind_before")
_RELATIVE_FORM = "{after: TASK, within: 15wd}"


@dataclass
class Due:
    """What a task's time keys say; the fields of the same names on ``TaskDef``."""

    due: datetime.date | None = None
    start: datetime.date | None = None
    repeat: Repeat | None = None
    deadline: Deadline | None = None
    due_text: str | None = None
    no_date_reason: str | None = None
    due_after: str | None = None
    due_after_node: Node | None = None
    due_within: Duration | None = None


def read_phrase(node: Node | None) -> Deadline | DateParseError | None:
    """The ``due`` phrase read once (before the tasks, so recurring ones are known early)."""
    if not isinstance(node, Scalar) or node.is_null:
        return None
    text = node.value
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:  # the common case in big generated plans: what the grammar gives, without it
            day = datetime.date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if 1900 <= day.year <= 2199:
                return Deadline(text, due=day, basis=f"{day.day}/{day.month}/{day.year}")
    try:
        return parse_deadline(text)
    except DateParseError as err:
        return err


def read_due(r: Reader, f: dict[str, Node], key: str, phrase: Deadline | DateParseError | None,
             period: Deadline | None) -> Due:
    """Reads ``due`` and ``start`` of one task, reporting every problem with its line."""
    out = Due(start=read_date(r, f.get("start"), f"{key}.start", "start"))
    node = f.get("due")
    if node is None or is_null(node):
        return out
    if isinstance(node, Mapping):
        _relative(r, node, f"{key}.due", out)
    elif not isinstance(node, Scalar):
        r.problem(node, f"{key}.due", _("expected a deadline phrase or {form}, found {found}")
                  .format(form=_RELATIVE_FORM, found=kind_of(node)))
    elif isinstance(phrase, DateParseError):
        r.problem(node, f"{key}.due", str(phrase))
    elif phrase is not None:
        _from_phrase(r, f, key, phrase, period, out)
    if out.due and out.start and out.start > out.due:
        r.problem(f.get("start"), f"{key}.start",
                  _("starts {start}, after it is due ({due})").format(
                      start=out.start.isoformat(), due=out.due.isoformat()))
    return out


def _from_phrase(r: Reader, f: dict[str, Node], key: str, d: Deadline,
                 period: Deadline | None, out: Due) -> None:
    out.deadline, out.due_text, out.no_date_reason = d, d.text, d.no_date_reason
    phrase_start = d.recurrence.first if d.recurrence else d.start
    if out.start and phrase_start and out.start != phrase_start:
        r.problem(f.get("start"), f"{key}.start",
                  _('start {start} differs from the start the due phrase gives ({phrase_start}, '
                    '"{phrase}"); leave start out or make them agree').format(
                      start=out.start.isoformat(), phrase_start=phrase_start.isoformat(),
                      phrase=d.text))
    if d.recurrence is None:
        out.due, out.start = d.due, out.start or d.start
        return
    if "repeat" in f:
        r.problem(f["due"], f"{key}.due", _("the recurrence is given twice ({recurrence}); "
                                            "keep either the due phrase or repeat").format(
            recurrence=explain(d)))
        return
    rec = d.recurrence
    first = rec.first or out.start or (period.start if period else None)
    until = rec.until or (period.due if period else None)
    if first is None:
        r.problem(f["due"], f"{key}.due", _('"{phrase}" recurs but names no first day: add '
                                            'start: to the task, or period: to the plan (e.g. '
                                            'period: "2026 - 2030")').format(phrase=d.text))
        return
    if until is not None and until < first:
        r.problem(f["due"], f"{key}.due", _("its occurrences would end ({until}) before they "
                                            "begin ({first})").format(
            until=until.isoformat(), first=first.isoformat()))
        return
    out.repeat = Repeat(rec.every, weekday=rec.weekday, day=rec.day, days=rec.days,
                        first=first, until=until)


def _relative(r: Reader, node: Mapping, key: str, out: Due) -> None:
    f = {k: (kn, v) for k, kn, v in r.mapping(node, key, RELATIVE_KEYS,
                                                            _RELATIVE_FORM)}
    if "after" not in f:
        where = f["within"][0] if "within" in f else node
        r.problem(where, f"{key}.within" if "within" in f else key,
                  _("within needs after: the task whose approval starts the clock, e.g. {form}")
                  .format(form=_RELATIVE_FORM))
    else:
        out.due_after = r.text(f["after"][1], f"{key}.after", required=True)
        out.due_after_node = f["after"][1]
    if "within" not in f:
        if "after" in f:
            r.problem(node, f"{key}.within", _("is required: how long after the task is "
                                               "approved, e.g. {form}").format(
                form=_RELATIVE_FORM))
        return
    within = read_period(r, f["within"][1], f"{key}.within")
    if within is not None and within.unit == "h":
        r.problem(f["within"][1], f"{key}.within", _("a deadline is a day: give days, weeks "
                                                     "or working days (30d, 2w, 15wd)"))
        within = None
    out.due_within = within


def check_after(r: Reader, key: str, task_id: str, due: Due, known: dict[str, int],
                recurring: set[str]) -> None:
    """``due.after`` names another, non-recurring task of the plan (cycles come later)."""
    name, node = due.due_after, due.due_after_node
    if name is None:
        return
    if name == task_id:
        r.problem(node, f"{key}.due.after",
                  _("a task's deadline cannot follow its own approval"))
    elif name not in known:
        others = ", ".join(t for t in known if t != task_id)
        r.problem(node, f"{key}.due.after",
                  _('unknown task "{task}"; known: {known}').format(task=name, known=others))
    elif name in recurring:
        r.problem(node, f"{key}.due.after", _('"{task}" recurs: a deadline cannot follow every '
                                              "occurrence of a recurring task").format(task=name))
    else:
        return
    due.due_after = None


def read_clocks(r: Reader, f: dict[str, Node], key: str) -> dict[str, Duration | None]:
    """The task's own ``stall_after`` (or ``never``), ``step_after`` and ``remind_before``."""
    return {name: read_period(r, f[name], f"{key}.{name}", never=name == "stall_after")
            if name in f else None for name in CLOCK_KEYS}
