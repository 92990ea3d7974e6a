"""Central as fidelis-central.service runs it: gunicorn, several workers, one database.

Runs on SQLite, and on PostgreSQL too when ``FIDELIS_TEST_PG_URL`` is set (a schema of its own).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests

from conftest import BIN, DEMO_RULES, PG_ENV, free_port, sale_body
from nodes import EdgeNode

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    base = os.environ[PG_ENV]
    schema = f"gunicorn_{uuid.uuid4().hex[:12]}"
    yield f"{base}?search_path={schema}"
    with psycopg2.connect(base) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    connection.close()


def test_central_under_gunicorn_with_three_workers_serves_edges_and_says_ready(database_url, tmp_path):
    env = {**os.environ, "FIDELIS_DATABASE_URL": database_url, "FIDELIS_CENTRAL_KEY": str(tmp_path / "key.pem"),
           "FIDELIS_VERIFY_WORKERS": "1"}

    def central(*args: str) -> str:
        result = subprocess.run([str(BIN / "fidelis-central"), *args], env=env, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    central("init")
    central("store", "create", "--code", "S001", "--name", "Main street")
    (tmp_path / "rules.json").write_text(DEMO_RULES.read_text())
    central("rules", "publish", str(tmp_path / "rules.json"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(60)
    port = free_port()
    with open(tmp_path / "gunicorn.log", "ab") as log:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "3", "--threads", "4", "--bind", f"127.0.0.1:{port}",
             "central.wsgi:app"], env={**env, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")},
            stdout=subprocess.DEVNULL, stderr=log)
    edge = None
    try:
        assert notify.recv(4096).startswith(b"READY=1")  # Type=notify: gunicorn says it itself
        url = f"http://127.0.0.1:{port}"
        # The arbiter listens at once; each worker answers once it has imported the app, which
        # takes seconds on a loaded machine: wait on any failure, not only a refused connection.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/api/v1/health", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        assert len(_children(server.pid)) == 3
        edge = EdgeNode(tmp_path / "edge", url, central("enroll", "create", "--store", "S001"))
        customer = edge.post("/customers", {"first_name": "Ana", "last_name": "Pop"}).json()
        for _ in range(10):
            assert edge.post("/sales", sale_body(customer["id"])).status_code == 201
        status = edge.wait_synced()
        assert status["acked_seq"] == status["log_head"]["seq"]
        log = central("device", "log", "--id", status["device_id"]).splitlines()
        assert [json.loads(line)["seq"] for line in log] == list(range(1, status["log_head"]["seq"] + 1))
    finally:
        if edge is not None:
            edge.stop()
        server.terminate()
        server.wait(timeout=30)
        notify.close()
