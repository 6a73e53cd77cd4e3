"""Deadline extensions (gia hạn) and upgrades on the record (issue 15 items 1 and 2), through
the CLI on SQLite and PostgreSQL. SMALL_PLAN: a (lead so-tai-chinh, due 20/4/2024), coordinator
so-y-te (a's approver), issuer ubnd-tinh; loaded 1/4/2024 08:00."""

from __future__ import annotations

import pytest

from tests.conftest import SMALL_PLAN, write_plan
from tests.test_follow_remind import REL_PLAN

KIEM_KE = "kiem-ke-tai-san/*"
DISTRICTS = 12


def day(d: int, hour: int = 9) -> str:
    """A moment in April 2024 (d may run past 30: May...), Hà Nội time."""
    month, d = (4, d) if d <= 30 else (5, d - 30)
    return f"2024-{month:02d}-{d:02d}T{hour:02d}:00:00+07:00"


def _state(run) -> tuple[list, list]:
    """Every task's state and dates, and the whole history: what a refusal must keep."""
    tasks = [(t["id"], t["state"], t["due"], t["original_due"])
             for t in run.ok("tasks", "*", "--json").json + run.ok("tasks", "*/*", "--json").json]
    return tasks, run.ok("history", "--json").json


def _show(run, task: str, **kw) -> dict:
    return run.ok("show", task, "--json", **kw).json


# --------------------------------------------------------------------------- extend


def test_extend_moves_the_due_and_keeps_the_original(small):
    r = small.ok("extend", "a", "--to", "31/5/2024", "--as", "so-y-te", "--note",
                 "Chờ số liệu của Kho bạc", now=day(10))
    assert r.out == "a: due 2024-04-20 → 2024-05-31 (extend by so-y-te)\n"
    t = _show(small, "a", now=day(10))
    assert (t["due"], t["original_due"], t["due_text"]) == ("2024-05-31", "2024-04-20",
                                                            "2024-04-20")
    listed = {x["id"]: x for x in small.ok("tasks", "--json", now=day(10)).json}
    assert (listed["a"]["due"], listed["a"]["original_due"]) == ("2024-05-31", "2024-04-20")
    assert (listed["c"]["due"], listed["c"]["original_due"]) == ("2024-09-30", "2024-09-30")
    event = small.ok("history", "a", "--json").json[-1]
    assert {k: event[k] for k in ("event", "task", "from", "to", "actor", "note", "old_due",
                                  "new_due", "in_time")} == {
        "event": "extend", "task": "a", "from": "assigned", "to": "assigned",
        "actor": "so-y-te", "note": "Chờ số liệu của Kho bạc", "old_due": "2024-04-20",
        "new_due": "2024-05-31", "in_time": True}
    assert "due:          2024-05-31  (extended; was 2024-04-20)" in small.ok(
        "show", "a", now=day(10)).out
    line = small.ok("history", "a").out.splitlines()[0]
    assert line.split()[4:] == ["extend", "due", "2024-04-20", "→", "2024-05-31", "by", "so-y-te"]
    small.ok("audit", "verify")


def test_the_issuer_may_extend_too_and_again(small):
    small.ok("extend", "a", "--to", "2024-05-10", "--as", "ubnd-tinh", "--note", "Lần 1",
             now=day(5))
    r = small.ok("extend", "a", "--to", "trước ngày 1/6/2024", "--as", "UBND tỉnh", "--note",
                 "Lần 2", "--json", now=day(6))
    assert (r.json["old_due"], r.json["new_due"], r.json["original_due"]) == (
        "2024-05-10", "2024-05-31", "2024-04-20")
    assert _show(small, "a")["original_due"] == "2024-04-20"  # the first due, not the last


REFUSED = [  # (args, exit, first error line): a refused extension writes nothing
    (["--to", "2024-04-19", "--as", "so-y-te", "--note", "x"], 4,
     "Error: 2024-04-19 is before a's due day 2024-04-20; an extension gives a later day"),
    (["--to", "20/4/2024", "--as", "so-y-te", "--note", "x"], 4,
     "Error: a is already due 2024-04-20; an extension gives a later day"),
    (["--to", "2024-05-31", "--as", "so-tai-chinh", "--note", "x"], 4,
     "Error: so-tai-chinh may not extend a: only the coordinator (so-y-te) or the issuer "
     "(ubnd-tinh) may"),
    (["--to", "2024-05-31", "--as", "ttyt", "--note", "x"], 4,
     "Error: ttyt may not extend a: only the coordinator (so-y-te) or the issuer "
     "(ubnd-tinh) may"),
    (["--to", "2024-05-31", "--as", "so-y-te"], 4,
     "Error: extending a needs a note: the reason (--note)"),
    (["--to", "2024-05-31", "--as", "so-y-te", "--note", "   "], 4,
     "Error: extending a needs a note: the reason (--note)"),
    (["--to", "2024-05-31", "--as", "so-y-te", "--note", "x\x1b[2J"], 4,
     "Error: the note contains the control character U+001B (ESC); a note is text, with "
     "newlines and tabs but no other control characters: remove it"),
    (["--to", "2024-05-31", "--note", "x"], 2,
     "Error: say who extends: --as AGENCY (or WORKFLOW_ACTOR)"),
    (["--to", "31/2/2024", "--as", "so-y-te", "--note", "x"], 2,
     'Error: --to 31/2/2024: name one day, e.g. 2024-09-30, 30/9/2024 or "trước ngày '
     '1/10/2024"'),
    (["--to", "Thường xuyên", "--as", "so-y-te", "--note", "x"], 2,
     'Error: --to Thường xuyên: name one day, e.g. 2024-09-30, 30/9/2024 or "trước ngày '
     '1/10/2024"'),
    (["--as", "so-y-te", "--note", "x"], 2, None),  # --to missing
    (["--to", "2024-05-31", "--as", "so-khong-co", "--note", "x"], 5, None),
]


@pytest.mark.parametrize(("args", "code", "error"), REFUSED)
def test_a_refused_extension_writes_nothing(small, args, code, error):
    before = _state(small)
    r = small("extend", "a", *args, now=day(10))
    assert r.code == code, r.err
    assert r.error.startswith("Error: ")
    if error is not None:
        assert r.error == error
    assert r.out == ""
    assert _state(small) == before


def test_an_approved_task_is_not_extended(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Xong", now=day(3))
    small.ok("approve", "a", "--as", "so-y-te", now=day(4))
    before = _state(small)
    r = small("extend", "a", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x",
              now=day(5))
    assert (r.code, r.error) == (4, "Error: a is approved; an approved task's deadline is "
                                    "not extended")
    assert _state(small) == before


def test_a_task_without_a_due_date_is_not_extended(small):
    r = small("extend", "d", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x")
    assert (r.code, r.error) == (4, "Error: d has no due date to extend")


def test_an_extension_is_not_dated_before_the_tasks_history(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(5))
    before = _state(small)
    r = small("extend", "a", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x",
              now=day(4))
    assert r.code == 4 and "history never runs backwards" in r.error
    assert _state(small) == before


# --------------------------------------------------------------------------- on time


def _finish(run, report_day: int) -> dict:
    run.ok("start", "a", "--as", "so-tai-chinh", now=day(report_day - 1))
    run.ok("report", "a", "--as", "so-tai-chinh", "--note", "Xong", now=day(report_day))
    run.ok("approve", "a", "--as", "so-y-te", now=day(report_day + 1))
    return run.ok("summary", "--json", now=day(report_day + 1)).json["total"]


def test_an_extension_in_time_makes_a_later_report_on_time(small):
    small.ok("extend", "a", "--to", "2024-04-30", "--as", "so-y-te", "--note", "x",
             now=day(20, 23))  # the last hour of the due day it replaces
    total = _finish(small, 25)
    assert (total["on_time"], total["done_late"]) == (1, 0)
    assert _show(small, "a")["on_time"] is True


def test_a_late_extension_does_not_make_the_task_on_time(small):
    r = small.ok("extend", "a", "--to", "2024-04-30", "--as", "so-y-te", "--note", "x",
                 now=day(21, 0))  # the first moment after the due day
    assert r.out.splitlines()[1] == ("  granted after the due day it replaced had ended: it "
                                     "does not count for on time")
    assert small.ok("history", "a", "--json").json[-1]["in_time"] is False
    assert not _show(small, "a", now=day(22))["overdue"]  # overdue only after the new day
    total = _finish(small, 25)
    assert (total["on_time"], total["done_late"]) == (0, 1)
    assert _show(small, "a")["on_time"] is False
    # the as-of views say the same, at the approval and before the extension
    at = small.ok("summary", "--at", day(26), "--json", now=day(27)).json["total"]
    assert (at["on_time"], at["done_late"]) == (0, 1)
    then = small.ok("show", "a", "--at", "2024-04-20", "--json", now=day(27)).json
    assert (then["due"], then["original_due"]) == ("2024-04-20", "2024-04-20")


def test_after_a_late_extension_later_ones_do_not_count_either(small):
    small.ok("extend", "a", "--to", "2024-04-22", "--as", "so-y-te", "--note", "x",
             now=day(21))
    small.ok("extend", "a", "--to", "2024-04-30", "--as", "so-y-te", "--note", "y",
             now=day(22))  # in time for 22/4, but the task was already late on 20/4
    assert small.ok("history", "a", "--json").json[-1]["in_time"] is False
    total = _finish(small, 25)
    assert total["done_late"] == 1


def test_a_report_by_the_original_due_stays_on_time_after_a_late_extension(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Xong", now=day(19))
    small.ok("extend", "a", "--to", "2024-04-30", "--as", "so-y-te", "--note", "x",
             now=day(22))
    small.ok("approve", "a", "--as", "so-y-te", now=day(23))
    assert _show(small, "a")["on_time"] is True


def test_an_extension_ends_an_overdue_escalation(small):
    small.ok("start", "a", "--as", "so-tai-chinh", now=day(2))
    small.ok("report", "a", "--as", "so-tai-chinh", "--note", "Xong", now=day(3))
    small.ok("return", "a", "--as", "so-y-te", "--note", "Thiếu", now=day(4))
    swept = small.ok("escalate", "--json", now=day(21)).json
    assert ("a", "raised", "overdue") in {(x["task"], x["action"], x["reason"]) for x in swept}
    r = small.ok("extend", "a", "--to", "2024-05-31", "--as", "ubnd-tinh", "--note", "x",
                 "--json", now=day(22))
    assert [(x["action"], x["reason"]) for x in r.json["escalations"]] == [
        ("resolved", "overdue")]
    assert [x for x in small.ok("escalations", "--json", now=day(22)).json
            if x["task"] == "a"] == []
    assert small.ok("tasks", "--overdue", "--json", now=day(22)).json == []
    assert "overdue" not in {x["reason"] for x in small.ok("escalate", "--json", now=day(22)).json
                             if x["task"] == "a"}
    june = "2024-06-01T00:00:00+07:00"  # the first moment after the new due day
    assert "a" in [t["id"] for t in small.ok("tasks", "--overdue", "--json", now=june).json]
    small.ok("audit", "verify")


# --------------------------------------------------------------------------- patterns


def test_a_pattern_extends_every_instance_in_one_transaction(son_la):
    rows = son_la.ok("extend", KIEM_KE, "--to", "2024-05-31", "--as", "so-y-te", "--note",
                     "Gia hạn kiểm kê", "--json").json
    assert len(rows) == DISTRICTS
    assert {(x["event"], x["old_due"], x["new_due"]) for x in rows} == {
        ("extend", "2024-05-05", "2024-05-31")}
    seqs = [x["seq"] for x in rows]
    assert seqs == list(range(seqs[0], seqs[0] + DISTRICTS))
    assert {t["due"] for t in son_la.ok("tasks", KIEM_KE, "--json").json} == {"2024-05-31"}
    text = son_la.ok("extend", "II.4/moc-chau", "--to", "2024-06-15", "--as", "so-y-te",
                     "--note", "Thêm").out
    assert text == "kiem-ke-tai-san/moc-chau: due 2024-05-31 → 2024-06-15 (extend by so-y-te)\n"
    son_la.ok("audit", "verify")


def test_one_refusal_extends_none_and_a_dry_run_writes_nothing(son_la):
    son_la.ok("extend", "kiem-ke-tai-san/moc-chau", "--to", "2024-06-30", "--as", "so-y-te",
              "--note", "x")
    before = _state(son_la)
    r = son_la("extend", KIEM_KE, "--to", "2024-05-31", "--as", "so-y-te", "--note", "y")
    assert (r.code, r.error) == (4, f"Error: 1 of {DISTRICTS} tasks cannot extend; nothing "
                                    "was extended")
    assert "  kiem-ke-tai-san/moc-chau (assigned): 2024-05-31 is before" in r.err
    assert _state(son_la) == before
    dry = son_la("extend", KIEM_KE, "--to", "2024-05-31", "--as", "so-y-te", "--note", "y",
                 "--dry-run")
    assert dry.code == 4 and dry.out.splitlines()[-1] == (
        f"dry run: {DISTRICTS - 1} of {DISTRICTS} tasks would extend, 1 refused; nothing was "
        "written")
    assert _state(son_la) == before


def test_a_group_is_extended_through_its_instances(son_la):
    r = son_la("extend", "kiem-ke-tai-san", "--to", "2024-05-31", "--as", "so-y-te", "--note",
               "x")
    assert (r.code, r.error) == (4, "Error: kiem-ke-tai-san has instances: extend them, e.g. "
                                    "workflow extend 'kiem-ke-tai-san/*' (every instance in "
                                    "one go)")
    r = son_la("extend", "khong-co/*", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x")
    assert r.code == 5


@pytest.mark.sqlite_only  # WORKFLOW_PERSON names the person on SQLite only
def test_a_member_extends_only_for_their_own_agency(small):
    small.ok("members", "add", "nguyen", "so-y-te", env={"WORKFLOW_PERSON": "nguyen"})
    r = small("extend", "a", "--to", "2024-05-31", "--as", "ubnd-tinh", "--note", "x",
              env={"WORKFLOW_PERSON": "nguyen"})
    assert r.code == 4 and r.error.startswith("Error: nguyen may not act for ubnd-tinh")
    small.ok("extend", "a", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x",
             env={"WORKFLOW_PERSON": "nguyen"})


# --------------------------------------------------------------------------- upgrades


def _v2(tmp_path, due: str = "2024-04-30", name: str = "v2.yaml"):
    text = (SMALL_PLAN.replace("due: 2024-04-20", f"due: {due}")
            .replace('title: "Điều chuyển tài sản"', 'title: "Điều chuyển tài sản công"'))
    return write_plan(tmp_path, text, name)


def test_an_upgrade_records_who_why_and_each_change(small, tmp_path):
    r = small.ok("load", _v2(tmp_path), "--upgrade", "--as", "Sở Y tế", "--note",
                 "Quyết định 12/QĐ-UBND", now=day(5))
    assert r.out.splitlines()[1:] == [
        "  a: due 2024-04-20 → 2024-04-30", "  a: original_due 2024-04-20 → 2024-04-30",
        "  a: due_text 2024-04-20 → 2024-04-30",
        "  b: title Điều chuyển tài sản → Điều chuyển tài sản công"]
    event = small.ok("history", "--event", "upgrade", "--json").json[0]
    assert (event["actor"], event["note"], event["task"]) == ("so-y-te",
                                                              "Quyết định 12/QĐ-UBND", None)
    assert event["changes"][0] == {"task": "a", "field": "due", "old": "2024-04-20",
                                   "new": "2024-04-30"}
    mine = small.ok("history", "a", "--json").json
    assert [e["event"] for e in mine] == ["upgrade"]
    assert [c["field"] for c in mine[0]["changes"]] == ["due", "original_due", "due_text"]
    assert small.ok("history", "c", "--json").json == []  # an upgrade that left c alone
    text = small.ok("history", "b").out
    assert "upgrade              by " in text and "for so-y-te" in text
    assert "        b: title Điều chuyển tài sản → Điều chuyển tài sản công" in text
    small.ok("audit", "verify")


def test_an_upgrade_without_as_and_note_is_still_recorded(small, tmp_path):
    small.ok("load", _v2(tmp_path), "--upgrade", now=day(5))
    event = small.ok("history", "a", "--json").json[0]
    assert event["actor"] is None and event["note"].startswith("upgraded from")


def test_an_upgrade_naming_an_unknown_agency_writes_nothing(small, tmp_path):
    before = _state(small)
    r = small("load", _v2(tmp_path), "--upgrade", "--as", "so-khong-co", now=day(5))
    assert r.code == 5
    assert _state(small) == before


@pytest.mark.parametrize(("definition", "due", "original"), [
    ("2024-05-15", "2024-05-31", "2024-05-15"),  # earlier than the extension: it stands
    ("2024-06-30", "2024-06-30", "2024-06-30"),  # later: the definition gives more time
])
def test_an_upgrade_never_takes_back_an_extension(small, tmp_path, definition, due, original):
    small.ok("extend", "a", "--to", "2024-05-31", "--as", "so-y-te", "--note", "x",
             now=day(5))
    small.ok("load", _v2(tmp_path, definition), "--upgrade", now=day(6))
    t = _show(small, "a", now=day(6))
    assert (t["due"], t["original_due"]) == (due, original)
    # and as of the moments between, the views agree with what was live then
    assert _show(small, "a", now=day(6)) | {"last_moves": None} == small.ok(
        "show", "a", "--at", day(6), "--json", now=day(6)).json | {"last_moves": None}
    assert _show(small, "a", now=day(6))["due"] == due
    assert small.ok("show", "a", "--at", day(5, 10), "--json", now=day(6)).json["due"] == (
        "2024-05-31")


def test_an_extension_moves_the_reminder_to_the_new_day(run, tmp_path):
    """The plan's remind_before (kept in its definition, not a column of the plan's row)
    applies to the new due: the reminder moves with it instead of being dropped."""
    run.ok("load", write_plan(tmp_path, REL_PLAN), now="2025-01-02T09:00:00+07:00")
    before = run.ok("show", "quyet-toan-2023", "--json").json["remind_at"]
    assert before == "2025-01-16T00:00:00+07:00"  # 3 working days before Monday 20/1
    run.ok("extend", "quyet-toan-2023", "--to", "2025-03-20", "--note", "Công văn",
           "--as", "so-y-te", now="2025-01-10T09:00:00+07:00")
    after = run.ok("show", "quyet-toan-2023", "--json").json["remind_at"]
    assert after == "2025-03-18T00:00:00+07:00"  # as before Thursday 20/3 (it was None)
