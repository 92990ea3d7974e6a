"""``fidelis-edge serve`` under systemd's eyes: readiness, watchdog, one server per data dir.

systemd is stood in for by what it gives a ``Type=notify`` service: a datagram socket named
in ``NOTIFY_SOCKET`` and ``WATCHDOG_USEC``. The test reads what the server sends on it.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN, EdgeProcess, free_port, run_cli
from edge import migrations
from edge.db import database


class NotifySocket:
    """The receiving end of sd_notify(3)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except socket.timeout:
            return None

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(deadline - time.monotonic())
            if message and message.startswith(prefix):
                return message
        raise AssertionError(f"no {prefix!r} from the server in {timeout} s")

    def drain(self, seconds: float) -> list[str]:
        deadline, seen = time.monotonic() + seconds, []
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message:
                seen.append(message)
        return seen

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    receiver = NotifySocket(tmp_path / "notify.sock")
    yield receiver
    receiver.close()


def _serve(data_dir: Path, port: int, notify: NotifySocket, watchdog_usec: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    log = open(data_dir / "serve.log", "ab")
    return subprocess.Popen([str(BIN / "fidelis-edge"), "serve", "--no-sync", "--port", str(port),
                             "--data-dir", str(data_dir)], env=env, stdout=subprocess.DEVNULL, stderr=log)


def test_ready_comes_after_migrations_and_the_check_then_the_watchdog_is_fed_while_writes_can_happen(
        edge_dir, notify):
    with sqlite3.connect(edge_dir / "edge.db") as db:
        db.execute(f"PRAGMA user_version = {len(migrations.MIGRATIONS) - 1}")  # one migration to run
    db.close()
    port = free_port()
    process = _serve(edge_dir, port, notify, watchdog_usec=1_000_000)
    try:
        ready = notify.wait_for("READY=1")
        assert "STATUS=serving the till API" in ready
        # At READY the schema is current, the pre-upgrade copy exists and the port answers.
        with sqlite3.connect(edge_dir / "edge.db") as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)
        db.close()
        assert list((edge_dir / "backups").glob("*-pre-upgrade.db"))
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json() == {"status": "ok"}
        notify.wait_for("WATCHDOG=1")
        notify.wait_for("WATCHDOG=1")

        # Another process holds the database's write lock: no sale could commit, so the
        # watchdog goes hungry (systemd would restart the service) until the lock is let go.
        holder = sqlite3.connect(edge_dir / "edge.db", isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")
        try:
            notify.drain(3)  # a probe already past the lock may still report
            assert "WATCHDOG=1" not in notify.drain(4)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        notify.wait_for("WATCHDOG=1", timeout=30)

        process.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1")
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_corrupt_database_is_ready_read_only_and_says_so(edge_dir, notify):
    database.close()  # the fixture's connection: its close folds the WAL into the file
    with sqlite3.connect(edge_dir / "edge.db") as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sale'").fetchone()[0]
    db.close()
    with open(edge_dir / "edge.db", "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 8)  # the (empty) sale table's page header: no longer a b-tree page
    process = _serve(edge_dir, free_port(), notify)
    try:
        assert "STATUS=READ-ONLY: database corrupt (quick_check" in notify.wait_for("READY=1")
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_a_second_server_on_the_same_data_dir_is_refused(edge_dir):
    first = EdgeProcess(edge_dir)
    try:
        second = run_cli("serve", "--no-sync", "--port", str(free_port()), data_dir=edge_dir, check=False)
        assert second.returncode == 1 and "fidelis-edge serve is running on" in second.stderr
        assert requests.get(f"{first.url}/health", timeout=5).ok
    finally:
        first.stop()
