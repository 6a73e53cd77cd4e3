"""End to end through `watch`: one digest per recipient per sweep, to a real local HTTP server
and a real command, on a channel the plan names and the host's config file defines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tests.conftest import ROOT, SMALL_PLAN, write_plan
from tests.receiver import Receiver
from tests.test_delivery import delivered, quiet_env  # noqa: F401 (a fixture)

HOOK = """\
import pathlib, sys
with pathlib.Path(sys.argv[1]).open("a", encoding="utf-8") as f:
    f.write(sys.stdin.read() + "\\n")
"""


def summary(message: dict) -> tuple:
    return message["recipient"], [(i["task"], i["action"], i["level"])
                                  for i in message["items"]]


def test_watch_sends_each_recipient_one_digest_and_blocks_at_once(run, db_path, tmp_path,
                                                                   quiet_env):  # noqa: F811
    script, out, config = tmp_path / "hook.py", tmp_path / "out.jsonl", tmp_path / "notify.toml"
    script.write_text(HOOK)
    server = Receiver()
    config.write_text(f'[channels.zalo-so-y-te]\ncommand = "{sys.executable} {script} {out}"\n'
                      f'webhook = "{server.url}"\n')
    config.chmod(0o600)
    run.ok("load", write_plan(tmp_path, "notify: zalo-so-y-te\n" + SMALL_PLAN),
           now="2024-04-01T08:00:00+07:00")
    run.ok("block", "c", "--as", "so-noi-vu", "--note", "Chưa bố trí kinh phí",
           now="2024-04-02T08:00:00+07:00")
    env = {**os.environ, "WORKFLOW_DB": str(db_path), "WORKFLOW_NOW": "2024-04-22T09:00:00",
           "WORKFLOW_NOTIFY_CONFIG": str(config)}
    log = tmp_path / "watch.log"
    with log.open("w") as sink:
        watch = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "watch", "--every",
                                  "1h"], env=env, stdout=sink, stderr=sink)
    try:
        assert server.wait_for(2), log.read_text()
        # A block made now goes at the next delivery pass, not at the next sweep (in 1 h).
        run.ok("block", "b", "--as", "so-y-te", "--note", "Chờ quyết toán",
               now="2024-04-22T09:00:00+07:00")
        assert server.wait_for(3), log.read_text()
        watch.send_signal(signal.SIGTERM)
        assert watch.wait(timeout=30) == 0
    finally:
        if watch.poll() is None:
            watch.kill()
        server.close()
    assert [summary(m) for m in server.bodies] == [
        ("so-y-te", [("c", "raised", 1), ("a", "raised", 1)]),
        ("ubnd-tinh", [("c", "climbed", 2), ("a", "climbed", 2)]),
        ("so-tai-chinh", [("b", "raised", 1)]),
    ]
    assert delivered(out) == server.bodies  # the same messages to both of the channel's ends
    first = server.bodies[0]
    assert (first["plan_title"], first["recipient_name"], first["count"]) == (
        "Kế hoạch thử", "Sở Y tế", 2)
    assert first["at"] == "2024-04-22T09:00:00+07:00"
    assert first["text"].splitlines()[:6] == [
        "[Kế hoạch thử] Gửi Sở Y tế: 2 nhiệm vụ cần xử lý (tính đến 09:00 ngày 22/04/2024).",
        "",
        "1. Việc của Sở Y tế (mã c)",
        "   Lý do: vướng mắc. Báo lên cấp 1, lúc 08:00 ngày 02/04/2024.",
        "   Đơn vị phải xử lý: Sở Y tế; chủ trì: Sở Y tế.",
        '   Nội dung vướng mắc (Sở Nội vụ nêu): "Chưa bố trí kinh phí"',
    ]
    item = first["items"][1]
    assert {k: item[k] for k in ("title", "reason", "due", "lead_name", "escalated_to_name",
                                 "at", "note")} == {
        "title": "Quyết toán", "reason": "overdue", "due": "2024-04-20",
        "lead_name": "Sở Tài chính", "escalated_to_name": "Sở Y tế",
        "at": "2024-04-22T09:00:00+07:00", "note": None}
    assert json.loads(json.dumps(first, ensure_ascii=False)) == first
