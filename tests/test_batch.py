"""Batch moves (issue 15 item 3): a move's TASK may be a pattern with '*'; every match moves in
one transaction, or none does and each refusal is listed. Through the CLI, on SQLite and
PostgreSQL."""

from __future__ import annotations

from tests.conftest import write_plan

KIEM_KE = "kiem-ke-tai-san/*"
DISTRICTS = 12  # the Sơn La plan fans kiem-ke-tai-san out over 12 district centres
LATER = "2024-04-03T09:00:00+07:00"

NUMBERED = """\
id: numbered
title: "Kế hoạch đánh số"
issuer: ubnd-tinh
coordinator: so-y-te
agencies:
  ubnd-tinh: {name: "UBND tỉnh"}
  so-y-te: {name: "Sở Y tế"}
tasks:
  a: {ref: "2.1", title: "Việc 2.1", lead: so-y-te, due: 2024-06-30}
  b: {ref: "2.2.", title: "Việc 2.2", lead: so-y-te, due: 2024-06-30}
  c: {ref: "3.1", title: "Việc 3.1", lead: so-y-te, due: 2024-06-30}
  d: {ref: "2", title: "Mục 2", lead: so-y-te, due: 2024-06-30}
"""


def _state(run) -> tuple[list, list]:
    """Every task's state and version, and the whole history: what a refused batch must keep."""
    tasks = [(t["id"], t["state"]) for t in run.ok("tasks", "*/*", "--json").json]
    return tasks, run.ok("history", "--json").json


def test_a_pattern_moves_every_instance_in_one_go(son_la):
    r = son_la.ok("start", KIEM_KE, "--as", "so-y-te", "--json")
    rows = r.json
    assert len(rows) == DISTRICTS
    assert {(x["from"], x["to"], x["event"]) for x in rows} == {("assigned", "in_progress",
                                                                 "start")}
    assert all(x["task"].startswith("kiem-ke-tai-san/") for x in rows)
    seqs = [x["seq"] for x in rows]
    assert seqs == list(range(seqs[0], seqs[0] + DISTRICTS))  # one chain, in order
    listed = son_la.ok("tasks", KIEM_KE, "--json").json
    assert {t["state"] for t in listed} == {"in_progress"}
    assert son_la.ok("show", "kiem-ke-tai-san", "--json").json["state"] == "in_progress"
    son_la.ok("audit", "verify")
    text = son_la.ok("report", KIEM_KE, "--as", "so-y-te", "--note", "Đã kiểm kê", now=LATER)
    assert text.out.splitlines()[-1] == f"{DISTRICTS} tasks moved in one transaction"


def test_a_group_is_not_moved_itself_its_instances_are(son_la):
    rows = son_la.ok("start", "kiem-ke-tai-san*", "--as", "so-y-te", "--json").json
    assert "kiem-ke-tai-san" not in {x["task"] for x in rows}
    assert len(rows) == DISTRICTS


def test_one_refusal_moves_none_and_lists_it(son_la):
    son_la.ok("start", "kiem-ke-tai-san/moc-chau", "--as", "so-y-te")
    before = _state(son_la)
    r = son_la("start", KIEM_KE, "--as", "so-y-te", now=LATER)
    assert r.code == 4
    assert r.error == f"Error: 1 of {DISTRICTS} tasks cannot start; nothing was moved"
    refusals = [ln for ln in r.err.splitlines()[1:] if not ln.startswith("{")]
    assert len(refusals) == 1 and refusals[0].startswith("  kiem-ke-tai-san/moc-chau ")
    assert r.out == ""
    assert _state(son_la) == before


def test_every_refusal_is_listed(son_la):
    # so-tai-chinh only supports kiem-ke-tai-san: not one instance may be started by it.
    r = son_la("start", KIEM_KE, "--as", "so-tai-chinh")
    assert r.code == 4
    assert r.error == f"Error: {DISTRICTS} of {DISTRICTS} tasks cannot start; nothing was moved"
    listed = [ln for ln in r.err.splitlines()[1:] if ln.startswith("  kiem-ke-tai-san/")]
    assert len(listed) == DISTRICTS


def test_a_dry_run_lists_and_writes_nothing(son_la):
    before = _state(son_la)
    r = son_la.ok("start", KIEM_KE, "--as", "so-y-te", "--dry-run", "--json")
    assert len(r.json) == DISTRICTS
    assert all(x["dry_run"] and x["seq"] is None and x["to"] == "in_progress" for x in r.json)
    text = son_la.ok("start", KIEM_KE, "--as", "so-y-te", "--dry-run").out.splitlines()
    assert text[0].startswith("would move kiem-ke-tai-san/")
    assert text[-1] == (f"dry run: {DISTRICTS} of {DISTRICTS} tasks would start, 0 refused; "
                        "nothing was written")
    assert _state(son_la) == before


def test_a_dry_run_shows_what_would_be_refused(son_la):
    son_la.ok("start", "kiem-ke-tai-san/moc-chau", "--as", "so-y-te")
    before = _state(son_la)
    r = son_la("start", KIEM_KE, "--as", "so-y-te", "--dry-run", "--json", now=LATER)
    assert r.code == 4
    assert r.error == (f"Error: 1 of {DISTRICTS} tasks cannot start; nothing was moved "
                       "(a dry run)")
    refused = [x for x in r.json if x.get("refused")]
    assert [x["task"] for x in refused] == ["kiem-ke-tai-san/moc-chau"]
    assert len(r.json) == DISTRICTS
    assert _state(son_la) == before


def test_a_pattern_matching_nothing_is_not_found(son_la):
    before = _state(son_la)
    r = son_la("start", "khong-co-viec-nao/*", "--as", "so-y-te")
    assert r.code == 5
    assert r.error.startswith("Error: no task of plan son-la-2024-ttyt matches "
                              "'khong-co-viec-nao/*'")
    assert _state(son_la) == before


def test_a_pattern_matches_the_documents_numbering(run, tmp_path):
    run.ok("load", write_plan(tmp_path, NUMBERED), now="2024-04-01T08:00:00+07:00")
    rows = run.ok("start", "2.*", "--as", "so-y-te", "--json").json
    assert [x["task"] for x in rows] == ["a", "b"]  # not 3.1, not the section 2 itself
    states = {t["id"]: t["state"] for t in run.ok("tasks", "--json").json}
    assert states == {"a": "in_progress", "b": "in_progress", "c": "assigned", "d": "assigned"}


def test_numbering_and_unit_name_instances(son_la):
    rows = son_la.ok("start", "II.4/m*", "--as", "so-y-te", "--json").json
    assert sorted(x["task"] for x in rows) == ["kiem-ke-tai-san/mai-son",
                                              "kiem-ke-tai-san/moc-chau",
                                              "kiem-ke-tai-san/muong-la"]
