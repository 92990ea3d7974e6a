"""A multi-node harness: one central and N edges as real processes on loopback.

Everything goes through the real interfaces: the two CLIs for set-up, HTTP for the rest.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import requests

from conftest import BIN, free_port


def _run(command: list[str], input: str | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, input=input, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {result.stderr}")
    return result.stdout.strip()


def _log_file(path: Path):
    """Processes log to a file: an undrained pipe would block them once it fills."""
    return open(path, "ab")


def _wait_healthy(url: str, proc: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")
    raise RuntimeError(f"{what} did not start in 20 s")


class CentralNode:
    """``fidelis-central`` with its own database, key and API token."""

    def __init__(self, workdir: Path, database_url: str | None = None) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.database = database_url or f"sqlite:///{workdir / 'central.db'}"
        self.env = {**os.environ, "FIDELIS_DATABASE_URL": self.database,
                    "FIDELIS_CENTRAL_KEY": str(workdir / "central_key.pem")}
        self.cli("init")
        self.token = self.cli("token", "create", "--name", "tests")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.start()

    def cli(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run([str(BIN / "fidelis-central"), *args], capture_output=True, text=True,
                                input=input, timeout=60, env=self.env)
        if result.returncode != 0:
            raise AssertionError(f"fidelis-central {' '.join(args)} failed: {result.stderr}")
        return result.stdout.strip()

    def start(self) -> None:
        self.log = self.workdir / "central.log"
        with _log_file(self.log) as log:
            self.proc = subprocess.Popen(
                [str(BIN / "fidelis-central"), "serve", "--port", str(self.port)],
                stdout=subprocess.DEVNULL, stderr=log, env=self.env,
            )
        _wait_healthy(f"{self.url}/api/v1/health", self.proc, "central", self.log)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def api(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {self.token}"},
                            timeout=10)

    def store(self, code: str, name: str) -> None:
        self.cli("store", "create", "--code", code, "--name", name)

    def enrolment_token(self, code: str) -> str:
        return self.cli("enroll", "create", "--store", code)

    def publish(self, rules: dict) -> int:
        path = self.workdir / f"rules-{time.monotonic_ns()}.json"
        path.write_text(json.dumps(rules))
        return int(self.cli("rules", "publish", str(path)))


class EdgeNode:
    """A provisioned ``fidelis-edge serve`` with its own data dir and till key."""

    def __init__(self, workdir: Path, central_url: str, token: str, sync_interval: float = 0.3,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = workdir
        self.env = {**os.environ, **(env or {})}
        self.edge = str(BIN / "fidelis-edge")
        _run([self.edge, "provision", "--central", central_url, "--token", token, "--data-dir", str(workdir)])
        self.key = _run([self.edge, "till", "add", "--name", "till-1", "--data-dir", str(workdir)])
        self.sync_interval = sync_interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/v1"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self, sync: bool = True) -> None:
        command = [self.edge, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                   "--sync-interval", str(self.sync_interval), "--sync-max-backoff", "1"]
        if not sync:
            command.append("--no-sync")
        self.log = self.data_dir / "serve.log"
        with _log_file(self.log) as log:
            self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=self.env)
        _wait_healthy(f"{self.url}/health", self.proc, "edge", self.log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers={"Authorization": f"Bearer {self.key}"},
                             timeout=10)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.key}"}, timeout=10)

    def sync(self) -> subprocess.CompletedProcess:
        return subprocess.run([self.edge, "sync", "--json", "--data-dir", str(self.data_dir)],
                              capture_output=True, text=True, timeout=60)

    def export(self) -> list[str]:
        return _run([self.edge, "log", "export", "--data-dir", str(self.data_dir)]).splitlines()

    def status(self) -> dict:
        return json.loads(_run([self.edge, "status", "--json", "--data-dir", str(self.data_dir)]))

    def wait_synced(self, timeout: float = 20) -> dict:
        """Until central has acknowledged every local entry (the loop in serve does the work)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["pending_entries"] == 0 and status["online"]:
                return status
            time.sleep(0.1)
        raise AssertionError(f"edge did not sync in {timeout} s: {self.status()}")


class ShiftedClock:
    """A process clock moved by libfaketime (``faketime`` package), changeable while it runs.

    ``env`` goes to the process; ``shift("+1d")`` moves its wall clock from then on. The
    monotonic clock is left alone so timeouts inside the process keep working.
    """

    def __init__(self, workdir: Path) -> None:
        found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
        if not found:
            raise AssertionError("libfaketime is missing: run 'make system-deps' (Debian package faketime)")
        self.file = workdir / "faketime"
        self.shift("+0")
        self.env = {"LD_PRELOAD": str(found[0]), "FAKETIME_TIMESTAMP_FILE": str(self.file),
                    "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    def shift(self, offset: str) -> None:
        """Move the clock to real time plus ``offset`` (libfaketime syntax: ``+25h``, ``+4d``)."""
        self.file.write_text(offset + "\n")
