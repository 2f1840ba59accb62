"""A webhook receiver for the tests: an HTTP server on 127.0.0.1 (threads) that records what it
receives, answers the statuses it is told to, and checks every signature."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.webhooks import signing


class Receiver:
    """An HTTP server on 127.0.0.1 that records what it receives and answers `statuses` in turn
    (then 200), each after the next of `delays` seconds (then at once)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                time.sleep(receiver.delays.pop(0) if receiver.delays else 0)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if status < 300 else b"receiver broke")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, secret: str) -> list[dict[str, Any]]:
        """The events received, each checked against its signature."""
        found = []
        for one in self.received:
            assert signing.verify(secret, one["headers"][signing.HEADER], one["body"]), one
            found.append(json.loads(one["body"]))
        return found

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
