"""Joint leads (``lead: [a, b]``) and the approver's delay, through the CLI on SQLite and
PostgreSQL: each joint lead makes the lead's moves, none approves, the first heads the
escalation chain, listings and the summary count the task for each; an overdue task reported
by its due day is counted against its approver."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import Runner, write_plan

T0 = "2024-04-01T08:00:00+07:00"

JOINT = """\
id: joint
title: "Kế hoạch có nhiệm vụ hai cơ quan chủ trì"
issuer: ubnd-tinh
coordinator: so-y-te
escalation: {stall_after: 7d, step_after: 3d}
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
  so-tai-chinh: {name: "Sở Tài chính"}
  so-noi-vu: {name: "Sở Nội vụ"}
  ttyt: {name: "Trung tâm Y tế"}
units:
  huyen:
    moc-chau: {name: "Trung tâm Y tế huyện Mộc Châu"}
    mai-son: {name: "Trung tâm Y tế huyện Mai Sơn"}
tasks:
  a:
    title: "Sở Tài chính và Sở Nội vụ chủ trì"
    lead: [so-tai-chinh, Sở Nội vụ]
    support: [ttyt]
    due: 2024-04-20
  b:
    title: "Sở Y tế (điều phối) cùng chủ trì: UBND tỉnh phê duyệt"
    lead: [so-tai-chinh, so-y-te]
    due: 2024-04-10
  c:
    title: "Từng huyện, hai cơ quan chủ trì"
    for_each: huyen
    lead: [so-noi-vu, so-tai-chinh]
    due: 2024-04-15
  d:
    title: "Một cơ quan chủ trì"
    lead: ttyt
    due: 2024-04-10
"""


def at(day: int, hms: str = "09:00:00") -> str:
    return f"2024-04-{day:02d}T{hms}+07:00"


@pytest.fixture
def joint(run, tmp_path) -> Runner:
    run.ok("load", write_plan(tmp_path, JOINT), now=T0)
    return run


def move(run, trigger, task, actor, note=None, now=None):
    args = [trigger, task, "--as", actor, "--json"] + (["--note", note] if note else [])
    return run(*args, now=now or at(2))


def ids(run, *args, now=None) -> list[str]:
    return [t["id"] for t in run.ok("tasks", *args, "--json", now=now or at(2)).json]


# --------------------------------------------------------------------------- moves


@pytest.mark.parametrize(("starter", "reporter", "blocker", "unblocker"), [
    ("so-tai-chinh", "so-noi-vu", "so-noi-vu", "so-tai-chinh"),
    ("so-noi-vu", "so-tai-chinh", "so-tai-chinh", "so-noi-vu"),
])
def test_each_joint_lead_makes_the_leads_moves(joint, starter, reporter, blocker, unblocker):
    for trigger, actor, note in (("start", starter, None), ("block", blocker, "Thiếu số liệu"),
                                 ("unblock", unblocker, "Đã có"),
                                 ("report", reporter, "Đã xong")):
        r = move(joint, trigger, "a", actor, note)
        assert r.code == 0, r.err
    assert joint.ok("approve", "a", "--as", "so-y-te", now=at(3)).code == 0
    moves = [(e["event"], e["actor"]) for e in joint.ok("history", "a", "--json").json
             if not e["event"].startswith("escalation")]
    assert moves == [("start", starter), ("block", blocker), ("unblock", unblocker),
                     ("report", reporter), ("approve", "so-y-te")]


def test_an_agency_that_is_not_a_lead_is_refused(joint):
    before = len(joint.ok("history", "--json").json)
    r = move(joint, "start", "a", "ttyt")
    assert (r.code, r.error) == (4, "Error: ttyt may not start a; its joint leads are "
                                    "so-tai-chinh or so-noi-vu")
    r = move(joint, "start", "d", "so-tai-chinh")  # one lead: the message as before
    assert (r.code, r.error) == (4, "Error: so-tai-chinh may not start d; its lead is ttyt")
    assert len(joint.ok("history", "--json").json) == before
    assert joint.ok("show", "a", "--json").json["state"] == "assigned"


def test_no_joint_lead_approves(joint):
    for task, lead in (("a", "so-noi-vu"), ("b", "so-y-te")):
        assert move(joint, "start", task, lead).code == 0
        assert move(joint, "report", task, lead, "Đã xong").code == 0
    r = move(joint, "approve", "a", "so-noi-vu")
    assert (r.code, r.error) == (4, "Error: so-noi-vu may not approve a; its approver is "
                                    "so-y-te")
    # b's second lead is the coordinator: the issuer approves it, not its own lead
    r = move(joint, "approve", "b", "so-y-te")
    assert (r.code, r.error) == (4, "Error: so-y-te may not approve b; its approver is "
                                    "ubnd-tinh")
    r = move(joint, "return", "b", "so-tai-chinh", "Sửa lại")
    assert r.code == 4
    assert move(joint, "approve", "b", "ubnd-tinh").code == 0
    assert move(joint, "approve", "a", "so-y-te").code == 0


def test_instances_of_a_fanned_out_task_keep_the_joint_leads(joint):
    assert move(joint, "start", "c/moc-chau", "so-tai-chinh").code == 0
    assert move(joint, "start", "c/mai-son", "so-noi-vu").code == 0
    t = joint.ok("show", "c/mai-son", "--json").json
    assert (t["lead"], t["co_leads"], t["support"]) == (["so-noi-vu", "so-tai-chinh"],
                                                        ["so-tai-chinh"], ["mai-son"])


# --------------------------------------------------------------------------- definitions

BAD = [
    ("approver among the joint leads",
     JOINT.replace("    lead: [so-tai-chinh, so-y-te]\n",
                   "    lead: [so-tai-chinh, so-noi-vu]\n    approver: so-noi-vu\n"),
     'tasks.b.approver: "so-noi-vu" is one of the joint leads, and no lead may approve its '
     "own work"),
    ("coordinator and issuer both lead", JOINT.replace("lead: [so-tai-chinh, so-y-te]",
                                                       "lead: [ubnd-tinh, so-y-te]"),
     'tasks.b: nobody may approve this task: its leads include both coordinator "so-y-te" '
     'and issuer "ubnd-tinh"; name an approver'),
    ("each with others", JOINT.replace("lead: [so-noi-vu, so-tai-chinh]",
                                       "lead: [each, so-tai-chinh]"),
     'tasks.c.lead: "each" leads alone'),
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("case", "text", "words"), BAD, ids=[b[0] for b in BAD])
def test_definitions_refuse_a_joint_lead_as_approver(run, tmp_path, case, text, words):
    r = run("validate", write_plan(tmp_path, text))
    assert r.code == 3
    assert words in r.err, r.err


# --------------------------------------------------------------------------- listings


def test_tasks_lead_and_agency_list_it_for_each_joint_lead(joint):
    assert ids(joint, "--lead", "so-tai-chinh") == ["a", "b", "c/moc-chau", "c/mai-son"]
    assert ids(joint, "--lead", "Sở Nội vụ") == ["a", "c/moc-chau", "c/mai-son"]
    assert ids(joint, "--lead", "so-y-te") == ["b"]
    assert ids(joint, "--lead", "ttyt") == ["d"]
    assert ids(joint, "--agency", "so-noi-vu") == ["a", "c/moc-chau", "c/mai-son"]
    assert ids(joint, "--agency", "ttyt") == ["a", "d"]


def test_show_and_json_carry_every_lead(joint):
    t = joint.ok("show", "a", "--json").json
    assert (t["lead"], t["co_leads"], t["lead_name"], t["co_lead_names"]) == (
        ["so-tai-chinh", "so-noi-vu"], ["so-noi-vu"], ["Sở Tài chính", "Sở Nội vụ"],
        ["Sở Nội vụ"])
    single = joint.ok("show", "d", "--json").json
    assert (single["lead"], single["co_leads"]) == ("ttyt", [])
    text = joint.ok("show", "a").out
    assert "  lead:         so-tai-chinh (Sở Tài chính), so-noi-vu (Sở Nội vụ)" in text


def test_summary_counts_the_task_for_each_lead_and_once_in_total(joint):
    assert move(joint, "start", "a", "so-noi-vu").code == 0
    s = joint.ok("summary", "--json", now=at(12)).json
    rows = {a["agency"]: a for a in s["agencies"]}
    assert sorted(rows) == ["so-noi-vu", "so-tai-chinh", "so-y-te", "ttyt"]
    assert {k: (r["tasks"], r["overdue"], r["not_yet_due"]) for k, r in rows.items()} == {
        "so-tai-chinh": (4, 1, 3), "so-noi-vu": (3, 0, 3), "so-y-te": (1, 1, 0),
        "ttyt": (1, 1, 0)}
    assert (s["total"]["tasks"], s["total"]["overdue"], s["total"]["not_yet_due"]) == (5, 2, 3)
    text = joint.ok("summary", now=at(12)).out.splitlines()
    assert f"{'so-noi-vu':<16}" + "".join(f"{n:>8}" for n in (3, 0, 0, 0, 0, 3, 0, 0)) in text


# --------------------------------------------------------------------------- escalation


def test_the_first_lead_heads_the_escalation_chain(joint):
    # Blocked by the second lead: a lead's block goes above the (first) lead at once.
    r = move(joint, "block", "a", "so-noi-vu", "Thiếu kinh phí").json
    assert [(e["level"], e["escalated_to"]) for e in r["escalations"]] == [(1, "so-y-te")]
    assert move(joint, "unblock", "a", "so-noi-vu", "Đã có kinh phí", now=at(3)).code == 0
    # Blocked by a supporting agency: the first lead must see to it.
    r = move(joint, "block", "a", "ttyt", "Chưa có biên bản", now=at(4)).json
    assert [(e["level"], e["escalated_to"]) for e in r["escalations"]] == [(1, "so-tai-chinh")]
    assert move(joint, "unblock", "a", "so-tai-chinh", "Đã có", now=at(5)).code == 0
    # b (its second lead the coordinator) never started: stalled from 8/4, raised above the
    # first lead, not above the coordinator; then overdue, a level up, the issuer.
    for day, expected in ((9, (1, "so-y-te", "stalled")), (11, (2, "ubnd-tinh", "overdue"))):
        joint.ok("escalate", now=at(day))
        t = joint.ok("show", "b", "--json", now=at(day)).json
        assert (t["escalation_level"], t["escalated_to"], t["escalation_reason"]) == expected


def test_the_delivered_message_names_every_lead(joint, tmp_path, monkeypatch):
    for key in ("WORKFLOW_NOTIFY_WEBHOOK", "WORKFLOW_NOTIFY_CONFIG"):
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / "messages.jsonl"
    hook = tmp_path / "hook.py"
    hook.write_text("import pathlib, sys\nwith pathlib.Path(sys.argv[1]).open('a') as f:\n"
                    "    f.write(sys.stdin.read().replace('\\n', ' ') + '\\n')\n")
    move(joint, "block", "a", "ttyt", "Chưa có biên bản")
    joint.ok("escalate", now=at(2, "09:05:00"),
             env={"WORKFLOW_NOTIFY_COMMAND": f"{sys.executable} {hook} {out}"})
    [message] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    [item] = message["items"]
    assert (message["recipient"], item["lead"], item["co_leads"], item["lead_name"]) == (
        "so-tai-chinh", "so-tai-chinh", ["so-noi-vu"], "Sở Tài chính, Sở Nội vụ")
    assert "chủ trì: Sở Tài chính, Sở Nội vụ." in message["text"]


# --------------------------------------------------------------------------- approver's delay


def test_a_report_made_by_the_due_day_is_the_approvers_delay(joint):
    # a (due 20/4): reported 19/4, still awaiting so-y-te on 25/4: the approver's delay.
    # b (due 10/4): reported 12/4, late: still its leads' delay though the issuer must act.
    # d (due 10/4): never reported: its lead's.
    assert move(joint, "start", "a", "so-tai-chinh").code == 0
    assert move(joint, "start", "b", "so-tai-chinh").code == 0
    assert move(joint, "report", "b", "so-y-te", "Đã xong", now=at(12)).code == 0
    assert move(joint, "report", "a", "so-noi-vu", "Đã xong", now=at(19)).code == 0
    s = joint.ok("summary", "--json", now=at(25)).json
    rows = {a["agency"]: a for a in s["agencies"]}
    assert {k: (r["overdue"], r["awaiting_approval"]) for k, r in rows.items()} == {
        "so-tai-chinh": (3, 2), "so-noi-vu": (2, 1), "so-y-te": (1, 1), "ttyt": (1, 0)}
    assert (s["total"]["overdue"], s["total"]["awaiting_approval"]) == (4, 2)
    assert s["approvers"] == [{"agency": "so-y-te", "approvals_overdue": 1}]
    text = joint.ok("summary", now=at(25)).out
    assert text.endswith("approvals overdue (reported by the due day, awaiting approval):\n"
                         "  so-y-te              1\n    Sở Y tế\n")
    # Before its due day ends, a is nobody's delay.
    assert joint.ok("summary", "--json", now=at(20, "23:00:00")).json["approvers"] == []

    late = joint.ok("tasks", "--overdue", "--json", now=at(25)).json
    assert {t["id"]: t["must_act"] for t in late} == {
        "a": "so-y-te", "b": "ubnd-tinh", "c/moc-chau": "so-noi-vu",
        "c/mai-son": "so-noi-vu", "d": "ttyt"}
    text = joint.ok("tasks", "--overdue", now=at(25)).out
    assert "    OVERDUE, awaiting approval by so-y-te" in text.splitlines()
    assert "(OVERDUE, awaiting approval by so-y-te)" in joint.ok("show", "a", now=at(25)).out


def test_approvers_delay_as_of_a_past_day(joint):
    assert move(joint, "start", "a", "so-tai-chinh").code == 0
    assert move(joint, "report", "a", "so-noi-vu", "Đã xong", now=at(19)).code == 0
    assert move(joint, "approve", "a", "so-y-te", now=at(26)).code == 0
    past = joint.ok("summary", "--at", "2024-04-25", "--json", now=at(27)).json
    assert past["approvers"] == [{"agency": "so-y-te", "approvals_overdue": 1}]
    assert joint.ok("summary", "--json", now=at(27)).json["approvers"] == []
    row = {a["agency"]: a for a in joint.ok("summary", "--json", now=at(27)).json["agencies"]}
    assert (row["so-noi-vu"]["on_time"], row["so-noi-vu"]["overdue"]) == (1, 2)


# --------------------------------------------------------------------------- upgrades


def test_an_upgrade_that_changes_the_leads_updates_moves_listings_and_the_past(joint,
                                                                               tmp_path):
    v2 = JOINT.replace("    lead: [so-tai-chinh, Sở Nội vụ]\n    support: [ttyt]\n",
                       "    lead: [so-tai-chinh, ttyt]\n    support: [so-noi-vu]\n")
    joint.ok("load", write_plan(tmp_path, v2, "v2.yaml"), "--upgrade", now=at(3))
    assert ids(joint, "--lead", "ttyt", now=at(4)) == ["a", "d"]
    assert ids(joint, "--lead", "so-noi-vu", now=at(4)) == ["c/moc-chau", "c/mai-son"]
    r = move(joint, "start", "a", "so-noi-vu", now=at(4))
    assert (r.code, r.error) == (4, "Error: so-noi-vu may not start a; its joint leads are "
                                    "so-tai-chinh or ttyt")
    assert move(joint, "start", "a", "ttyt", now=at(4)).code == 0
    before = joint.ok("tasks", "--lead", "so-noi-vu", "--at", "2024-04-02", "--json",
                      now=at(4)).json
    assert [t["id"] for t in before] == ["a", "c/moc-chau", "c/mai-son"]
    assert before[0]["lead"] == ["so-tai-chinh", "so-noi-vu"]
