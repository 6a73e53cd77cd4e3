"""A real headless Chromium driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages ending in NUL on file descriptors 3 and 4), so a
test sees what the page asked the network for, what it logged, its DOM, a screenshot and a
printout: no websocket and no driver download needed."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def binary() -> str:
    """Debian's chromium; CI (CI=true) installs it, elsewhere its tests are skipped."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail("no chromium: CI must open the report in a real browser", pytrace=False)
    pytest.skip("no chromium (apt-get install chromium)")


@dataclass
class Visit:
    dom: str = ""
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, CSP reports
    values: dict = field(default_factory=dict)
    screenshot: bytes = b""
    pdf: bytes = b""


class Browser:
    def __init__(self, timeout: float = 60) -> None:
        self.timeout = timeout
        cmd_r, self._cmd = os.pipe()
        self._resp, resp_w = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="wf-chromium-")

        def fds() -> None:  # the child's ends on 3 and 4, as Chromium expects them
            high_r, high_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (cmd_r, resp_w))
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(resp_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._cmd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._next()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._resp], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._resp, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def visit(self, path: Path, *, width: int = 1400, height: int = 1000,
              script: str = "null", pdf: bool = False) -> Visit:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        s = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", s)
        self.send("Emulation.setDeviceMetricsOverride", s, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)
        self.events.clear()
        self.send("Page.navigate", s, url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        out = Visit()
        out.dom = self.send("Runtime.evaluate", s, expression=(
            "document.documentElement.outerHTML"), returnByValue=True)["result"]["value"]
        out.values = self.send("Runtime.evaluate", s, expression=script,
                               returnByValue=True)["result"].get("value") or {}
        out.screenshot = base64.b64decode(self.send(
            "Page.captureScreenshot", s, format="png", captureBeyondViewport=True)["data"])
        if pdf:
            out.pdf = base64.b64decode(self.send("Page.printToPDF", s, preferCSSPageSize=True,
                                                 printBackground=True)["data"])
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                out.requests.append(p["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "warning"):
                out.errors.append(" ".join(str(a.get("value")) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                out.errors.append(p["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.errors.append(p["entry"]["text"])
        self.send("Target.closeTarget", targetId=target)
        return out

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd)
        os.close(self._resp)
        shutil.rmtree(self.profile, ignore_errors=True)
