"""Shared fixtures: an initialised edge in a temp dir, its app, and a till-authenticated client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import settings

from edge import box as boxes
from edge import tills
from edge.app import create_app

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO_RULES = ROOT / "demo" / "rules.json"
PG_ENV = "FIDELIS_TEST_PG_URL"

# A property test judges results, not speed: one example stalled by a busy machine is no failure.
# (Under CI=true hypothesis already drops its deadline; a developer's `make test` should too.)
settings.register_profile("fidelis", deadline=None)
if settings.default.deadline is not None:
    settings.load_profile("fidelis")


def postgresql_summary(url: str | None) -> str:
    """The one line that says whether central's tests ran on PostgreSQL too (no password shown)."""
    if not url:
        return f"PostgreSQL: not tested ({PG_ENV} is not set; central's tests ran on SQLite only)"
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
    return f"PostgreSQL: central's tests also ran on {where} ({PG_ENV})"


def pytest_terminal_summary(terminalreporter) -> None:
    # `make test` on a machine without PostgreSQL passes on SQLite alone; say so, so a green
    # run is never mistaken for one that covered both backends.
    terminalreporter.write_line(postgresql_summary(os.environ.get(PG_ENV)))


@pytest.fixture
def edge_dir(tmp_path) -> Path:
    """A freshly initialised standalone edge (demo rules) in a temp data dir."""
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", json.loads(DEMO_RULES.read_text()))
    return data


@pytest.fixture
def app(edge_dir):
    return create_app(edge_dir, {"TESTING": True})


class TillClient:
    """A Flask test client that sends a till key and JSON by default."""

    def __init__(self, client, key: str) -> None:
        self.client = client
        self.key = key

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.key}", **(headers or {})}

    def get(self, path, headers=None, **kw):
        return self.client.get(path, headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(headers), **kw)


@pytest.fixture
def till(app) -> TillClient:
    _, key = tills.add(app.extensions["fidelis_edge"], "till-1")
    return TillClient(app.test_client(), key)


@pytest.fixture
def customer(till) -> dict:
    response = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop",
                                                    "email": "ana@example.com", "phone": "+40 721 000 111"})
    assert response.status_code == 201, response.json
    return response.json


def sale_body(customer_id=None, lines=None, payments=None):
    """A sale request; by default 2 × 12.50 paid in cash."""
    lines = lines if lines is not None else [{"sku": "A1", "qty": 2, "unit_price": 1250}]
    total = sum(l["qty"] * l["unit_price"] - l.get("discount", 0) for l in lines)
    body = {"lines": lines, "payments": payments if payments is not None else [{"method": "cash", "amount": total}]}
    if customer_id:
        body["customer_id"] = customer_id
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, data_dir=None, input=None, check=True) -> subprocess.CompletedProcess:
    """Run ``fidelis-edge`` as a user would, in a subprocess."""
    command = [str(BIN / "fidelis-edge"), *map(str, args)]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    result = subprocess.run(command, capture_output=True, text=True, input=input, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{command} failed: {result.stderr}")
    return result


class EdgeProcess:
    """``fidelis-edge serve`` as a real process on a loopback port."""

    def __init__(self, data_dir: Path, threads: int = 8) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.log = data_dir / "serve.log"
        with open(self.log, "ab") as log:  # a file, not a pipe: an undrained pipe blocks the server
            self.proc = subprocess.Popen(
                [str(BIN / "fidelis-edge"), "serve", "--no-sync", "--port", str(self.port),
                 "--threads", str(threads), "--data-dir", str(data_dir)],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
            if self.proc.poll() is not None:
                raise RuntimeError(f"edge exited: {self.log.read_text(errors='replace')[-2000:]}")
        raise RuntimeError("edge did not start in 20 s")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def edge_process(edge_dir):
    process = EdgeProcess(edge_dir)
    yield process
    process.stop()
