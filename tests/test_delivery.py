"""The escalation outbox: delivered to a real command, retried when it fails, never lost."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import SMALL_PLAN, write_plan

HOOK = """\
import pathlib, sys
out, flag = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
if flag.exists():
    print("gateway down", file=sys.stderr)
    sys.exit(3)
with out.open("a", encoding="utf-8") as f:
    f.write(sys.stdin.read() + "\\n")
"""


@pytest.fixture
def hooked(run, tmp_path):
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    out, flag = tmp_path / "delivered.jsonl", tmp_path / "down"
    notify = f'notify: {{command: "{sys.executable} {hook} {out} {flag}"}}\n'
    run.ok("load", write_plan(tmp_path, notify + SMALL_PLAN), now="2024-04-01T08:00:00+07:00")
    return run, out, flag


def delivered(out) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_a_block_is_delivered_with_vietnamese_intact(hooked):
    run, out, _flag = hooked
    run.ok("block", "a", "--as", "ttyt", "--note", "Thiếu biên bản",
           now="2024-04-02T08:00:00+07:00")
    [msg] = delivered(out)
    assert {k: msg[k] for k in ("plan", "task", "action", "level", "escalated_to", "reason",
                                "title")} == {
        "plan": "small", "task": "a", "action": "raised", "level": 1,
        "escalated_to": "so-tai-chinh", "reason": "blocked", "title": "Quyết toán"}
    assert msg["id"] >= 1


def test_a_failing_hook_loses_nothing_and_is_retried(hooked):
    run, out, flag = hooked
    flag.touch()
    run.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    actions = run.ok("escalate", "--json", now="2024-04-05T09:00:00+07:00").json
    assert [a["action"] for a in actions] == ["climbed"]  # the sweep went on
    assert delivered(out) == []
    assert [e["task"] for e in run.ok("escalations", "--json",
                                      now="2024-04-05T09:00:00+07:00").json] == ["a"]
    flag.unlink()
    run.ok("escalate", now="2024-04-05T09:00:00+07:00")  # too soon: backing off
    assert delivered(out) == []
    run.ok("escalate", now="2024-04-05T10:00:00+07:00")
    got = [(m["action"], m["level"]) for m in delivered(out)]
    assert got == [("raised", 1), ("climbed", 2)]
    run.ok("escalate", now="2024-04-05T11:00:00+07:00")
    assert len(delivered(out)) == 2  # delivered once


def test_plans_without_targets_queue_nothing(small, db_path):
    small.ok("block", "a", "--as", "ttyt", "--note", "khó")
    assert small.ok("escalations", "--json").json[0]["task"] == "a"


def test_webhook_must_be_http(run, tmp_path):
    r = run("validate", write_plan(tmp_path, "notify: {webhook: ftp://x}\n" + SMALL_PLAN))
    assert r.code == 3 and 'notify.webhook: "ftp://x" is not an http(s) URL' in r.error
