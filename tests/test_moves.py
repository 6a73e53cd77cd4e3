"""Every row of SPEC.md's move table, allowed and refused. A refused move writes nothing."""

from __future__ import annotations

import pytest

NOW = "2024-04-02T09:00:00+07:00"

# SMALL_PLAN: a and b led by so-tai-chinh (approver so-y-te, the coordinator), b depends on a;
# c led by so-y-te (the coordinator, so the issuer ubnd-tinh approves); d led by ttyt with
# approver so-noi-vu and start 2024-05-01.


def events(run) -> int:
    return len(run.ok("history", "--json").json)


def state(run, task: str) -> str:
    return run.ok("show", task, "--json").json["state"]


def move(run, trigger, task, actor, note=None, now=NOW):
    args = [trigger, task, "--as", actor, "--json"]
    if note is not None:
        args += ["--note", note]
    return run(*args, now=now)


def drive(run, task: str, to: str, lead="so-tai-chinh", approver="so-y-te"):
    """Moves a task from assigned to ``to`` by the allowed path."""
    path = {"in_progress": [("start", lead, None)],
            "reported": [("start", lead, None), ("report", lead, "xong")],
            "approved": [("start", lead, None), ("report", lead, "xong"),
                         ("approve", approver, None)]}
    for trigger, actor, note in path.get(to, []):
        assert move(run, trigger, task, actor, note).code == 0


ALLOWED = [
    # (trigger, task, from, actor, note, to)
    ("start", "a", "assigned", "so-tai-chinh", None, "in_progress"),
    ("report", "a", "in_progress", "so-tai-chinh", "Đã gửi Sở Tài chính", "reported"),
    ("approve", "a", "reported", "so-y-te", None, "approved"),
    ("return", "a", "reported", "so-y-te", "Thiếu số liệu", "in_progress"),
    ("block", "a", "assigned", "so-tai-chinh", "Khó khăn", "blocked"),
    ("block", "a", "in_progress", "ttyt", "Vướng mắc", "blocked"),
    ("block", "a", "reported", "so-tai-chinh", "Khó khăn", "blocked"),
    ("approve", "c", "reported", "ubnd-tinh", None, "approved"),
]


@pytest.mark.parametrize(("trigger", "task", "src", "actor", "note", "dest"), ALLOWED)
def test_allowed_moves(small, trigger, task, src, actor, note, dest):
    lead = "so-y-te" if task == "c" else "so-tai-chinh"
    drive(small, task, src, lead=lead)
    r = move(small, trigger, task, actor, note)
    assert r.code == 0, r.err
    assert (r.json["from"], r.json["to"], r.json["actor"]) == (src, dest, actor)
    assert state(small, task) == dest
    last = small.ok("history", task, "--json").json[-1 if trigger != "block" else -2]
    assert (last["event"], last["from"], last["to"], last["actor"]) == (trigger, src, dest, actor)
    assert last["note"] == note


@pytest.mark.parametrize("src", ["assigned", "in_progress", "reported"])
@pytest.mark.parametrize("who", ["so-tai-chinh", "so-y-te", "ubnd-tinh"])
def test_unblock_returns_to_the_state_it_was_blocked_from(small, src, who):
    drive(small, "a", src)
    assert move(small, "block", "a", "ttyt", "Thiếu biên bản").code == 0
    r = move(small, "unblock", "a", who, "Đã bổ sung")
    assert r.code == 0, r.err
    assert (r.json["from"], r.json["to"]) == ("blocked", src)


REFUSED = [
    # (setup state of a, trigger, actor, note, exact error)
    ("assigned", "start", "so-y-te", None,
     "so-y-te may not start a; its lead is so-tai-chinh"),
    ("in_progress", "start", "so-tai-chinh", None,
     "a cannot start: it is in_progress; from in_progress it may report, block"),
    ("in_progress", "report", "so-tai-chinh", None,
     'report a needs a note (what was done): add --note "..."'),
    ("in_progress", "report", "so-tai-chinh", "   ",
     'report a needs a note (what was done): add --note "..."'),
    ("in_progress", "report", "ttyt", "xong", "ttyt may not report a; its lead is so-tai-chinh"),
    ("assigned", "report", "so-tai-chinh", "xong",
     "a cannot report: it is assigned; from assigned it may start, block"),
    ("reported", "approve", "so-tai-chinh", None,
     "so-tai-chinh may not approve a; its approver is so-y-te"),
    ("reported", "approve", "ubnd-tinh", None,
     "ubnd-tinh may not approve a; its approver is so-y-te"),
    ("in_progress", "approve", "so-y-te", None,
     "a cannot approve: it is in_progress; from in_progress it may report, block"),
    ("reported", "return", "so-y-te", None,
     'return a needs a note (why it is sent back): add --note "..."'),
    ("reported", "return", "so-tai-chinh", "sai",
     "so-tai-chinh may not return a; its approver is so-y-te"),
    ("in_progress", "block", "so-y-te", "khó",
     "so-y-te may not block a; those who may block it (lead or support) are so-tai-chinh or ttyt"),
    ("in_progress", "block", "ttyt", "",
     'block a needs a note (the difficulty): add --note "..."'),
    ("approved", "block", "so-tai-chinh", "khó", "a cannot block: it is approved (it is final)"),
    ("approved", "return", "so-y-te", "sai", "a cannot return: it is approved (it is final)"),
    ("in_progress", "unblock", "so-tai-chinh", "ok",
     "a cannot unblock: it is in_progress; from in_progress it may report, block"),
]


@pytest.mark.parametrize(("src", "trigger", "actor", "note", "message"), REFUSED)
def test_refused_moves_say_why_and_write_nothing(small, src, trigger, actor, note, message):
    drive(small, "a", src)
    before = events(small)
    r = move(small, trigger, "a", actor, note)
    assert (r.code, r.error) == (4, f"Error: {message}")
    assert r.out == ""
    assert events(small) == before
    assert state(small, "a") == src


@pytest.mark.parametrize("actor", ["ttyt", "so-noi-vu"])
def test_unblock_refused_for_others(small, actor):
    assert move(small, "block", "a", "so-tai-chinh", "khó").code == 0
    r = move(small, "unblock", "a", actor, "ok")
    assert r.code == 4
    assert "may not unblock a; those who may unblock it are so-tai-chinh or so-y-te or " \
           "ubnd-tinh" in r.error
    assert move(small, "unblock", "a", "so-tai-chinh", "   ").code == 4


def test_start_waits_for_every_dependency(small):
    before = events(small)
    r = move(small, "start", "b", "so-tai-chinh")
    assert (r.code, r.error) == (4, "Error: b cannot start: a is assigned (must be approved "
                                    "first)")
    assert events(small) == before
    drive(small, "a", "reported")
    r = move(small, "start", "b", "so-tai-chinh")
    assert r.error == "Error: b cannot start: a is reported (must be approved first)"
    assert move(small, "approve", "a", "so-y-te").code == 0
    assert move(small, "start", "b", "so-tai-chinh").code == 0


def test_start_window(small):
    r = move(small, "start", "d", "ttyt")
    assert (r.code, r.error) == (4, "Error: d cannot start before 2024-05-01 (its start date); "
                                    "today is 2024-04-02")
    assert move(small, "start", "d", "ttyt", now="2024-05-01T07:00:00+07:00").code == 0


def test_outside_approver_approves(small):
    assert move(small, "start", "d", "ttyt", now="2024-05-02T08:00:00+07:00").code == 0
    assert move(small, "report", "d", "ttyt", "xong", now="2024-05-02T09:00:00+07:00").code == 0
    r = move(small, "approve", "d", "so-y-te", now="2024-05-02T10:00:00+07:00")
    assert r.error == "Error: so-y-te may not approve d; its approver is so-noi-vu"
    assert move(small, "approve", "d", "so-noi-vu", now="2024-05-02T10:00:00+07:00").code == 0


def test_agency_by_name_alias_any_case_and_unicode_form(small):
    import unicodedata
    r = move(small, "start", "c", unicodedata.normalize("NFD", "sở y tế"))
    assert r.code == 0 and r.json["actor"] == "so-y-te"
    r = move(small, "block", "c", "SYT", "khó")
    assert r.code == 0 and r.json["actor"] == "so-y-te"


def test_unknown_task_agency_plan_exit_5(small):
    r = move(small, "start", "zz", "so-y-te")
    assert (r.code, r.error) == (5, "Error: no task 'zz' in plan small; list them with "
                                    "workflow tasks")
    r = move(small, "start", "aa", "so-y-te")
    assert "did you mean a?" in r.error or r.code == 5
    r = move(small, "start", "a", "bo-y-te")
    assert r.code == 5 and r.error.startswith("Error: no agency 'bo-y-te' in plan small")
    r = small("start", "a", "--as", "so-tai-chinh", "--plan", "nope")
    assert (r.code, r.error) == (5, "Error: no plan 'nope'; loaded plans: small")


def test_missing_actor_is_a_usage_error(small):
    r = small("start", "a")
    assert (r.code, r.error) == (2, "Error: say who starts: --as AGENCY (or WORKFLOW_ACTOR)")
    r = small("start", "a", env={"WORKFLOW_ACTOR": "so-tai-chinh"})
    assert r.code == 0


def test_approval_records_on_time_and_late(small):
    drive(small, "a", "in_progress")
    assert move(small, "report", "a", "so-tai-chinh", "xong",
                now="2024-04-20T23:59:00+07:00").code == 0
    assert move(small, "approve", "a", "so-y-te", now="2024-04-25T09:00:00+07:00").code == 0
    assert small.ok("show", "a", "--json").json["on_time"] is True
    assert move(small, "start", "c", "so-y-te").code == 0
    assert move(small, "report", "c", "so-y-te", "xong",
                now="2024-10-01T00:00:00+07:00").code == 0
    assert move(small, "approve", "c", "ubnd-tinh", now="2024-10-02T00:00:00+07:00").code == 0
    assert small.ok("show", "c", "--json").json["on_time"] is False


@pytest.mark.parametrize("note", ["\u200b", " \u00a0\u3000", "\ufeff\t"])
def test_invisible_notes_are_no_notes(small, note):
    drive(small, "a", "in_progress")
    r = move(small, "report", "a", "so-tai-chinh", note)
    assert r.code == 4 and "needs a note" in r.error
