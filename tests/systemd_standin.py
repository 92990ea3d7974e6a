"""A stand-in for ``systemctl start|stop|is-active fidelis-edge.service`` in a scratch root.

The container the tests run in has no systemd as process 1, so the install and upgrade
scripts are driven with ``SYSTEMCTL="python tests/systemd_standin.py"``. It does what systemd
does for a ``Type=notify`` unit, from the installed unit file itself: the ``Environment=``
and ``ExecStart=`` of ``ROOT/etc/systemd/system/fidelis-edge.service`` (paths moved under the
root), a ``NOTIFY_SOCKET`` to listen on, and ``start`` returning only on ``READY=1`` (0) or
on the process dying first (1). ``STANDIN_ROOT`` names the root, ``STANDIN_PORT`` the port
the till API listens on (loopback).
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ["STANDIN_ROOT"])
RUN = ROOT / "run"
PID_FILE = RUN / "fidelis-edge.pid"
START_TIMEOUT = 120


def _unit() -> tuple[dict[str, str], list[str]]:
    environment: dict[str, str] = {}
    command: list[str] = []
    text = (ROOT / "etc/systemd/system/fidelis-edge.service").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            environment.update(item.split("=", 1) for item in shlex.split(value))
        elif key == "ExecStart":
            command = shlex.split(value)
    command[0] = str(ROOT / command[0].lstrip("/"))
    environment["FIDELIS_DATA_DIR"] = str(ROOT / environment["FIDELIS_DATA_DIR"].lstrip("/"))
    environment.update(FIDELIS_HOST="127.0.0.1", FIDELIS_PORT=os.environ["STANDIN_PORT"])
    return environment, command


def _running() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start() -> int:
    if _running():
        return 0
    RUN.mkdir(parents=True, exist_ok=True)
    address = RUN / "notify.sock"
    address.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(address))
        notify.settimeout(0.5)
        environment, command = _unit()
        with open(RUN / "fidelis-edge.log", "ab") as log:
            process = subprocess.Popen(command, env={**os.environ, **environment, "NOTIFY_SOCKET": str(address)},
                                       stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if notify.recv(4096).startswith(b"READY=1"):
                    PID_FILE.write_text(str(process.pid))
                    return 0
            except socket.timeout:
                pass
            if process.poll() is not None:
                return 1
        process.kill()
        return 1


def stop() -> int:
    pid = _running()
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    action = sys.argv[1]
    if action in ("start", "restart") and action == "restart":
        stop()
    sys.exit({"start": start, "restart": start, "stop": stop,
              "is-active": lambda: 0 if _running() else 3}[action]())
