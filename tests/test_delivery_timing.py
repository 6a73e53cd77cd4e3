"""A slow, silent or stubborn receiver never holds a move, a sweep or watch's stop.

Real receivers: an HTTP server on 127.0.0.1 that trickles one byte every 5 s or never answers,
and a command that leaves a child holding its stdout. Durations are measured, not slept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.receiver import Receiver
from tests.test_delivery import delivered, quiet_env  # noqa: F401 (a fixture)


@pytest.fixture(params=["slow", "silent"])
def stuck(request):
    receiver = Receiver(request.param)
    yield receiver
    receiver.close()


def test_a_move_returns_at_once_whatever_the_webhook(small, stuck, quiet_env):  # noqa: F811
    env = {"WORKFLOW_NOTIFY_WEBHOOK": stuck.url}
    started = time.monotonic()
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", env=env)
    assert time.monotonic() - started < 2
    assert stuck.requests == 0  # the move did not even try


def test_a_sweep_returns_within_its_delivery_budget(small, stuck, quiet_env):  # noqa: F811
    env = {"WORKFLOW_NOTIFY_WEBHOOK": stuck.url, "WORKFLOW_DELIVERY_BUDGET": "1"}
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", now="2024-04-02T08:00:00+07:00")
    small.ok("block", "c", "--as", "so-noi-vu", "--note", "khó",
             now="2024-04-02T08:00:00+07:00")
    started = time.monotonic()
    small.ok("escalate", env=env, now="2024-04-02T08:01:00+07:00")
    assert time.monotonic() - started < 2.5  # 1 s budget, whatever the receiver does
    assert stuck.requests == 1  # the second recipient waits for the next sweep
    fast = Receiver()
    try:
        small.ok("escalate", env={"WORKFLOW_NOTIFY_WEBHOOK": fast.url},
                 now="2024-04-02T09:00:00+07:00")
        assert sorted(m["recipient"] for m in fast.bodies) == ["so-tai-chinh", "so-y-te"]
    finally:
        fast.close()


def test_watch_stops_within_seconds_of_sigterm_mid_delivery(small, db_path, tmp_path,
                                                            quiet_env):  # noqa: F811
    silent = Receiver("silent")
    small.ok("block", "a", "--as", "ttyt", "--note", "khó")
    env = {**os.environ, "WORKFLOW_DB": str(db_path), "WORKFLOW_NOW": "2024-04-02T10:00:00",
           "WORKFLOW_NOTIFY_WEBHOOK": silent.url, "WORKFLOW_DELIVERY_BUDGET": "600"}
    log = tmp_path / "watch.log"
    with log.open("w") as sink:
        watch = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "watch", "--every",
                                  "1h"], env=env, stdout=sink, stderr=sink)
    try:
        assert silent.wait_for(1), "watch never tried to deliver"
        watch.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = watch.wait(timeout=30)
        stopped_in = time.monotonic() - started
    finally:
        if watch.poll() is None:
            watch.kill()
        silent.close()
    assert code == 0, log.read_text()
    assert stopped_in < 3


CHILD_HOOK = """\
import pathlib, subprocess, sys
out, pid = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
with out.open("a", encoding="utf-8") as f:
    f.write(sys.stdin.read() + "\\n")
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # keeps stdout
pid.write_text(str(child.pid))
"""


def test_a_command_leaving_a_child_holding_stdout_is_delivered_once(small, tmp_path,
                                                                    quiet_env):  # noqa: F811
    script, out, pid = tmp_path / "hook.py", tmp_path / "out.jsonl", tmp_path / "child.pid"
    script.write_text(CHILD_HOOK)
    env = {"WORKFLOW_NOTIFY_COMMAND": f"{sys.executable} {script} {out} {pid}"}
    small.ok("block", "a", "--as", "ttyt", "--note", "khó", env=env,
             now="2024-04-02T08:00:00+07:00")
    try:
        started = time.monotonic()
        small.ok("escalate", env=env, now="2024-04-02T08:01:00+07:00")
        assert time.monotonic() - started < 3
        small.ok("escalate", env=env, now="2024-04-02T12:00:00+07:00")  # past any back-off
    finally:
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGKILL)
    assert [m["items"][0]["task"] for m in delivered(out)] == ["a"]
    assert json.loads(out.read_text().splitlines()[0])["count"] == 1
