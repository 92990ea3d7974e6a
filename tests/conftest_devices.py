"""Test helpers for the device drivers: a TCP "printer", socat pty pairs, polling.

Imported by ``tests/test_devices_*.py``; real sockets and real ptys, no mocks.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

SOCAT = shutil.which("socat") or "/usr/bin/socat"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is truthy or ``timeout`` passes; return its last truth."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpPrinter:
    """A raw-TCP "printer" on 127.0.0.1: collects every connection's bytes and answers
    ESC/POS status queries (DLE EOT 1 / DLE EOT 4) with the configured bytes."""

    def __init__(self, port: int = 0, online: bytes | None = b"\x12", paper: bytes | None = b"\x12"):
        self.online, self.paper = online, paper
        self.jobs: list[bytes] = []
        self.done = threading.Event()
        self._server = socket.create_server(("127.0.0.1", port))
        self._server.settimeout(0.1)
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"escpos+tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            with conn:
                self._collect(conn)

    def _collect(self, conn: socket.socket) -> None:
        data = bytearray()
        conn.settimeout(2.0)
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if chunk.endswith(b"\x10\x04\x01") and self.online is not None:
                conn.sendall(self.online)
            elif chunk.endswith(b"\x10\x04\x04") and self.paper is not None:
                conn.sendall(self.paper)
        self.jobs.append(bytes(data))
        self.done.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._server.close()


class SocatPair:
    """Two linked ptys made by socat: ``a`` for the device under test, ``b`` for the test.

    ``stop()`` is pulling the cable out (socat exits and removes both links); ``start()``
    again is plugging it back in under the same names.
    """

    def __init__(self, directory: Path):
        self.a = str(directory / "a")
        self.b = str(directory / "b")
        self.process: subprocess.Popen | None = None

    def start(self) -> "SocatPair":
        self.process = subprocess.Popen(
            [SOCAT, f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: os.path.exists(self.a) and os.path.exists(self.b)):
            self.stop()
            raise RuntimeError("socat did not create its ptys")
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2)
        wait_for(lambda: not os.path.lexists(self.a), timeout=1.0)


class RawPty:
    """The test's end of a pty opened without pyserial.

    pyserial discards pending input when it opens a port, which would race with a device
    that writes the moment it reconnects; a plain file descriptor keeps those bytes.
    """

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def read_exactly(self, count: int, timeout: float = 2.0) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                break
            data += os.read(self.fd, count - len(data))
        return bytes(data)

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture
def tcp_printer():
    """A running :class:`TcpPrinter`; closed after the test."""
    printer = TcpPrinter()
    yield printer
    printer.close()


@pytest.fixture
def socat_pair(tmp_path):
    """A started :class:`SocatPair` in a temporary directory; socat is always stopped."""
    pair = SocatPair(tmp_path)
    pair.start()
    yield pair
    pair.stop()
