"""``fidelis-edge serve`` as a system service: one server per data directory, readiness, watchdog.

- The serving process holds an exclusive lock on ``<data-dir>/serve.lock``: a second server on
  the same database is refused (one writer), and ``restore`` knows not to swap the file under
  a running one.
- Under systemd (``Type=notify``) the process says ``READY=1`` only once migrations and the
  integrity check are done and the till API's socket listens, and ``STOPPING=1`` on its way out.
- With ``WatchdogSec=`` set, a thread sends ``WATCHDOG=1`` only after proving the two paths a
  sale needs: a request answered over HTTP, and the database write lock taken (``BEGIN
  IMMEDIATE``, then rolled back, so nothing is written). A server stuck on either stops
  feeding the watchdog and systemd restarts it.

The notification protocol is a datagram on the ``AF_UNIX`` socket named in ``NOTIFY_SOCKET``
(see sd_notify(3)); it is a few lines, so no library is needed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
from pathlib import Path
from typing import IO, Any, Callable

import requests
from peewee import SqliteDatabase

from sync import web

from . import db as edge_db
from . import storage
from .serving import Listener

log = logging.getLogger("fidelis.edge.service")
LOCK_FILE = "serve.lock"


class AlreadyServing(Exception):
    """Another ``fidelis-edge serve`` holds this data directory."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Take the data directory's serve lock; keep the returned file open for as long as it is held."""
    handle = open(data_dir / LOCK_FILE, "a+", encoding="ascii")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyServing(f"fidelis-edge serve is running on {data_dir} (stop it first: "
                             "systemctl stop fidelis-edge)") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def notify(message: str) -> bool:
    """Send ``message`` (``READY=1``, ``WATCHDOG=1``, ``STATUS=…``) to systemd; False when not under it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket name
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", address, exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of ``WatchdogSec`` when systemd asks this process to be watched, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.05, int(usec) / 2_000_000)
    except ValueError:
        return None


def probe_database(database: SqliteDatabase, timeout: float) -> None:
    """Prove a sale could be written now: take the process's write lock and SQLite's, write nothing."""
    if not edge_db._write_lock.acquire(timeout=timeout):
        raise TimeoutError("the database write lock has been held too long")
    try:
        database.connect(reuse_if_open=True)
        if storage.corrupt_reason() is None:  # read-only by design: the read below is the proof
            database.execute_sql("BEGIN IMMEDIATE")
            database.execute_sql("ROLLBACK")
        database.execute_sql("SELECT COUNT(*) FROM setting").fetchone()
    finally:
        edge_db._write_lock.release()


def probe_http(url: str, timeout: float) -> None:
    """Prove the till API answers: ``GET /api/v1/health`` returns a JSON body."""
    response = requests.get(url, timeout=timeout, verify=False)
    response.json()
    if response.status_code >= 500 and response.status_code != 503:
        raise RuntimeError(f"health answered {response.status_code}")


class Watchdog(threading.Thread):
    """Feeds systemd's watchdog while the database and HTTP probes pass."""

    def __init__(self, interval: float, probes: list[Callable[[], Any]]) -> None:
        super().__init__(name="fidelis-watchdog", daemon=True)
        self.interval = interval
        self.probes = probes
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                for probe in self.probes:
                    probe()
            except Exception as exc:  # noqa: BLE001  (any failure means: do not feed)
                log.warning("watchdog probe failed, not feeding the watchdog: %s", exc)
                continue
            notify("WATCHDOG=1")

    def stop(self) -> None:
        self.stopping.set()


def _loopback(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def run_server(app, listener: Listener, threads: int, data_dir: Path, bound: Callable[[], None] = lambda: None) -> None:
    """Serve ``app`` until SIGTERM; tell systemd when ready, feed its watchdog while healthy.
    ``bound`` runs once the address is ours (``serving.ListenError`` before, when it cannot be)."""
    from .serving import bind

    server = bind(app, listener, threads, data_dir)
    bound()
    problem = storage.corrupt_reason()
    notify("READY=1\nSTATUS=" + (f"READ-ONLY: database corrupt ({problem})" if problem else "serving the till API"))
    watchdog = None
    interval = watchdog_interval()
    if interval is not None:
        scheme = "https" if listener.https else "http"
        url = f"{scheme}://{_loopback(listener.host)}:{server.port}/api/v1/health"
        watchdog = Watchdog(interval, [lambda: probe_http(url, interval),
                                       lambda: probe_database(edge_db.database, interval)])
        watchdog.start()
    web.settle_heap()
    try:
        server.run()
    finally:
        notify("STOPPING=1")
        if watchdog is not None:
            watchdog.stop()
        server.close()
