"""An HTTP proxy between an edge and central that loses, repeats, delays and cuts traffic.

Faults are chosen per request by a ``plan`` function (so a test can script them or draw them
from a seeded random generator):

- ``pass``: forward and relay the answer;
- ``drop_request``: close the connection without forwarding (central never saw it);
- ``drop_response``: forward, let central commit, then close without relaying the answer;
- ``duplicate``: forward the request twice and relay the second answer;
- ``delay``: wait ``delay`` seconds, then forward;
- ``kill_before``: kill central before forwarding (it dies before commit);
- ``kill_after``: forward, then kill central before relaying (committed, reply lost).
"""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import requests

FAULTS = ("pass", "drop_request", "drop_response", "duplicate", "delay", "kill_before", "kill_after")


class FaultProxy:
    def __init__(self, target: str, plan: Callable[[str, str], str] | None = None,
                 on_kill: Callable[[], None] | None = None, delay: float = 0.3) -> None:
        self.target = target.rstrip("/")
        self.plan = plan or (lambda method, path: "pass")
        self.on_kill = on_kill
        self.delay = delay
        self.log: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy.plan(self.command, self.path)
                with proxy._lock:
                    proxy.log.append((self.command, self.path, fault))
                if fault == "drop_request":
                    self.close_connection = True
                    return
                if fault == "kill_before" and proxy.on_kill:
                    proxy.on_kill()
                if fault == "delay":
                    time.sleep(proxy.delay)
                try:
                    response = proxy._forward(self.command, self.path, self.headers, body)
                    if fault == "duplicate":
                        response = proxy._forward(self.command, self.path, self.headers, body)
                except requests.RequestException:
                    self.close_connection = True
                    return
                if fault == "kill_after" and proxy.on_kill:
                    proxy.on_kill()
                    self.close_connection = True
                    return
                if fault == "drop_response":
                    self.close_connection = True
                    return
                self.send_response(response.status_code)
                for name in ("Content-Type",):
                    if name in response.headers:
                        self.send_header(name, response.headers[name])
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _forward(self, method: str, path: str, headers, body: bytes) -> requests.Response:
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        return requests.request(method, self.target + path, data=body or None, headers=forwarded, timeout=30)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def random_plan(seed: int, weights: dict[str, float]) -> Callable[[str, str], str]:
    """A seeded plan drawing a fault per request with the given weights."""
    rng = random.Random(seed)
    names, values = zip(*weights.items())
    lock = threading.Lock()

    def plan(method: str, path: str) -> str:
        with lock:
            return rng.choices(names, values)[0]

    return plan
