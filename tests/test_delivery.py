"""The escalation outbox: every raise and climb is kept; only the delivering host's configuration
says where it goes; a failing channel loses nothing."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.conftest import SMALL_PLAN, workflow_process, write_plan
from tests.receiver import Receiver
from workflow.models import DeliveryRow, PlanRow
from workflow.store import Store

HOOK = """\
import json, pathlib, sys
out, flag = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
body = sys.stdin.read()
if flag.exists() and flag.read_text() in ("", json.loads(body)["recipient"]):
    print("gateway down", file=sys.stderr)
    sys.exit(3)
with out.open("a", encoding="utf-8") as f:
    f.write(body + "\\n")
"""
NOTIFY_ENV = ("WORKFLOW_NOTIFY_COMMAND", "WORKFLOW_NOTIFY_WEBHOOK", "WORKFLOW_NOTIFY_CONFIG",
              "WORKFLOW_DELIVERY_BUDGET")


@pytest.fixture
def quiet_env(monkeypatch):
    """No notify configuration in this process unless a command is given one."""
    for key in NOTIFY_ENV:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def hook(tmp_path, quiet_env) -> tuple[dict, Path, Path]:
    """(env naming a real command as the default channel, its output file, its 'down' flag)."""
    script = tmp_path / "hook.py"
    script.write_text(HOOK)
    out, flag = tmp_path / "delivered.jsonl", tmp_path / "down"
    return {"WORKFLOW_NOTIFY_COMMAND": f"{sys.executable} {script} {out} {flag}"}, out, flag


def delivered(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def items(messages: list[dict]) -> list[tuple]:
    return [(i["task"], i["action"], i["level"]) for m in messages for i in m["items"]]


def test_a_block_made_without_notify_env_is_delivered_by_a_sweep_that_has_it(small, hook):
    env, out, _flag = hook
    small.ok("block", "a", "--as", "ttyt", "--note", "Thiếu biên bản",
             now="2024-04-02T08:00:00+07:00")  # this shell has no channel configured
    assert delivered(out) == []  # a move never delivers
    small.ok("escalate", env=env, now="2024-04-02T08:05:00+07:00")
    [msg] = delivered(out)
    [item] = msg["items"]
    assert {k: item[k] for k in ("plan", "task", "action", "level", "escalated_to", "reason",
                                 "title", "note", "blocked_by")} == {
        "plan": "small", "task": "a", "action": "raised", "level": 1,
        "escalated_to": "so-tai-chinh", "reason": "blocked", "title": "Quyết toán",
        "note": "Thiếu biên bản", "blocked_by": "ttyt"}
    assert msg["recipient_name"] == "Sở Tài chính" and msg["ids"] == [item["id"]]
    small.ok("escalate", env=env, now="2024-04-02T09:00:00+07:00")
    assert len(delivered(out)) == 1  # delivered once


def test_a_failing_hook_loses_nothing_and_is_retried_in_order(small, hook):
    env, out, flag = hook
    flag.touch()
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    actions = small.ok("escalate", "--json", env=env, now="2024-04-05T09:00:00+07:00").json
    assert [a["action"] for a in actions] == ["climbed"]  # the sweep went on
    assert delivered(out) == []
    flag.unlink()
    small.ok("escalate", env=env, now="2024-04-05T09:00:30+07:00")  # too soon: backing off
    assert delivered(out) == []
    small.ok("escalate", env=env, now="2024-04-05T10:00:00+07:00")
    got = delivered(out)  # one message per recipient, the task's items in order
    assert [(m["recipient"], items([m])) for m in got] == [
        ("so-tai-chinh", [("a", "raised", 1)]), ("so-y-te", [("a", "climbed", 2)])]
    small.ok("escalate", env=env, now="2024-04-05T11:00:00+07:00")
    assert len(delivered(out)) == 2  # delivered once


def test_a_task_s_items_go_in_order_even_to_other_recipients(small, hook):
    env, out, flag = hook
    flag.write_text("so-tai-chinh")  # only this recipient's messages fail
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    small.ok("escalate", env=env, now="2024-04-05T09:00:00+07:00")  # climbs to so-y-te
    assert delivered(out) == []  # the climb waits for the raise that failed before it
    flag.unlink()
    small.ok("escalate", env=env, now="2024-04-05T10:00:00+07:00")
    assert items(delivered(out)) == [("a", "raised", 1), ("a", "climbed", 2)]


def test_rows_wait_for_a_channel_and_go_once_one_is_configured(small, hook):
    env, out, _flag = hook
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    small.ok("escalate", now="2024-04-03T08:00:00+07:00")  # no channel on this host yet
    small.ok("escalate", now="2024-04-04T08:00:00+07:00")
    assert delivered(out) == []
    small.ok("escalate", env=env, now="2024-04-04T08:05:00+07:00")
    assert items(delivered(out)) == [("a", "raised", 1)]


def test_a_plan_names_a_channel_from_the_host_config_file(run, tmp_path, hook):
    env, out, _flag = hook
    config = tmp_path / "notify.toml"
    command = env["WORKFLOW_NOTIFY_COMMAND"]
    config.write_text(f'[channels.zalo-so-y-te]\ncommand = """{command}"""\n')
    config.chmod(0o600)
    run.ok("load", write_plan(tmp_path, "notify: zalo-so-y-te\n" + SMALL_PLAN),
           now="2024-04-01T08:00:00+07:00")
    run.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    run.ok("escalate", env=env, now="2024-04-02T08:01:00+07:00")
    assert delivered(out) == []  # the default channel is not the one the plan names
    run.ok("escalate", env={"WORKFLOW_NOTIFY_CONFIG": str(config)},
           now="2024-04-02T08:02:00+07:00")
    assert items(delivered(out)) == [("a", "raised", 1)]


@pytest.mark.parametrize(("notify", "key"), [
    ('{command: "id > /tmp/pwned"}', "notify.command"),
    ("{webhook: http://127.0.0.1:9/x}", "notify.webhook"),
    ("{channel: default, command: id}", "notify.command"),
    ('"https://gateway.example/x"', "notify"),
    ('"id > /tmp/pwned"', "notify"),
])
def test_a_plan_cannot_say_what_runs_or_which_url_is_called(run, tmp_path, notify, key):
    r = run("validate", write_plan(tmp_path, f"notify: {notify}\n" + SMALL_PLAN))
    assert r.code == 3
    assert r.error.startswith(f"Error: {tmp_path / 'plan.yaml'}:1: {key}: ")
    assert "WORKFLOW_NOTIFY_CONFIG" in r.error


@pytest.mark.parametrize("notify", ["zalo-so-y-te", "{channel: zalo-so-y-te}"])
def test_a_plan_may_name_a_channel(run, tmp_path, notify):
    run.ok("validate", write_plan(tmp_path, f"notify: {notify}\n" + SMALL_PLAN))


def test_nothing_in_the_database_is_run_or_called(small, db_path, tmp_path, hook):
    """A hostile writer of the database: a plan row and an outbox row naming a command and a
    URL. Delivery sends to the host's own channel and nothing else."""
    env, out, _flag = hook
    pwned, trap = tmp_path / "pwned", Receiver()
    hostile = {"command": f"touch {pwned}", "webhook": trap.url}
    store = Store(str(db_path))
    try:
        with store.write() as conn:
            conn.execute(update(PlanRow.__table__).values(
                definition=json.dumps({"notify": hostile})))
            conn.execute(DeliveryRow.__table__.insert().values(
                plan_id="small", event_seq=1, task_id="a", attempts=0,
                payload=json.dumps({"task": "a", "escalated_to": "so-y-te", "notify": hostile,
                                    **hostile}), next_attempt_at=datetime(2024, 4, 1, tzinfo=UTC)))
        small.ok("escalate", env=env, now="2024-04-02T08:00:00+07:00")
    finally:
        trap.close()
        store.engine.dispose()
    assert not pwned.exists() and trap.requests == 0
    [msg] = delivered(out)  # went to the host's channel, as data
    assert msg["items"][0]["task"] == "a"


def test_a_config_file_others_may_write_is_refused(small, db_path, tmp_path, quiet_env):
    config = tmp_path / "notify.toml"
    config.write_text('[channels.default]\ncommand = "true"\n')
    config.chmod(0o666)
    r = workflow_process("watch", env={"WORKFLOW_NOTIFY_CONFIG": str(config),
                                       "WORKFLOW_DB": str(db_path)})
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == (f"Error: WORKFLOW_NOTIFY_CONFIG {config}: writable by "
                                         f"others; fix with: chmod go-w {config}")
    assert os.stat(config).st_mode & 0o777 == 0o666
