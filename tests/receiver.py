"""A real HTTP server on 127.0.0.1 for delivery tests: answers, trickles, or stays silent.

``ok`` records each POST body and answers 200; ``slow`` answers one byte every 5 seconds;
``silent`` reads the request and never answers. Its threads wait on an event, so ``close``
ends them at once.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.bodies: list[dict] = []
        self.requests = 0
        self.arrived = threading.Condition()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.requests += 1
                    if receiver.mode == "ok":
                        receiver.bodies.append(json.loads(body))
                    receiver.arrived.notify_all()
                if receiver.mode == "silent":
                    receiver.closing.wait(120)
                    return
                answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                if receiver.mode == "ok":
                    self.wfile.write(answer)
                    return
                for i in range(len(answer)):  # slow: one byte every 5 s
                    self.wfile.write(answer[i:i + 1])
                    self.wfile.flush()
                    if receiver.closing.wait(5):
                        return

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """True once ``count`` requests have arrived (a condition, not a sleep)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: self.requests >= count, timeout)

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
