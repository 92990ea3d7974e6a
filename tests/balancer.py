"""The fault proxy as a round-robin load balancer in front of several central processes.

Each request goes to the next process in turn, with the proxy's faults (``drop_request``,
``drop_response``, ``duplicate`` — the repeat lands on the next process — ``delay``, …) and
one more: ``both`` delivers the request to every process at the same moment and relays the
first one's answer, as a balancer that retries too eagerly would. Every status a process
answered is kept in ``statuses``, so a test can say no request ever got a 5xx.
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable

import requests

from faultproxy import FaultProxy

BALANCER_FAULTS = ("pass", "drop_request", "drop_response", "duplicate", "delay", "both")


class Balancer(FaultProxy):
    def __init__(self, targets: list[str], plan: Callable[[str, str], str] | None = None,
                 delay: float = 0.3) -> None:
        self.targets = [target.rstrip("/") for target in targets]
        self.statuses: list[tuple[str, str, int]] = []
        self._turn = itertools.count()
        self._fault = threading.local()
        super().__init__(self.targets[0], plan, delay=delay)
        self._server.handle_error = lambda request, address: None  # a lost reply is the point, not news

    @property
    def plan(self) -> Callable[[str, str], str]:
        return self._plan

    @plan.setter
    def plan(self, chosen: Callable[[str, str], str]) -> None:
        def remembered(method: str, path: str) -> str:
            fault = chosen(method, path)
            self._fault.name = fault  # the handler forwards in the thread that asked the plan
            return fault

        self._plan = remembered

    def _send(self, target: str, method: str, path: str, headers, body: bytes) -> requests.Response:
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        response = requests.request(method, target + path, data=body or None, headers=forwarded, timeout=30)
        with self._lock:
            self.statuses.append((target, path, response.status_code))
        return response

    def _forward(self, method: str, path: str, headers, body: bytes) -> requests.Response:
        if getattr(self._fault, "name", "pass") != "both":
            with self._lock:
                target = self.targets[next(self._turn) % len(self.targets)]
            return self._send(target, method, path, headers, body)
        answers: dict[str, requests.Response | Exception] = {}
        start = threading.Barrier(len(self.targets))

        def deliver(target: str) -> None:
            start.wait()
            try:
                answers[target] = self._send(target, method, path, headers, body)
            except requests.RequestException as exc:
                answers[target] = exc

        threads = [threading.Thread(target=deliver, args=(target,)) for target in self.targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        first = answers[self.targets[0]]
        if isinstance(first, Exception):
            raise first
        return first

    def server_errors(self) -> list[tuple[str, str, int]]:
        """Every answer with a 5xx status, as (process, path, status)."""
        with self._lock:
            return [seen for seen in self.statuses if seen[2] >= 500]
