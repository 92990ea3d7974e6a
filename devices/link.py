"""A serial link that survives being unplugged.

Scanners, counters and pole displays hang off USB-serial adapters that get knocked out of
their sockets. :class:`SerialLink` owns one port: a background thread opens it, runs a
pyserial :class:`~serial.threaded.ReaderThread` on it when the device talks, notices when
it vanishes and opens it again after a growing, jittered delay (``sync.backoff``), so the
till never has to.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from typing import Any, Callable

import serial
import serial.threaded

from sync.backoff import Backoff

from .url import PeripheralURL

__all__ = ["LineProtocol", "SerialLink"]

log = logging.getLogger(__name__)

_LINE_END = re.compile(rb"[\r\n]")


class LineProtocol(serial.threaded.LineReader):
    """Lines ended by CR, LF or CRLF (devices disagree); empty lines are skipped.

    Each stripped, non-empty line goes to ``on_line``; ``on_lost`` hears why the port closed.
    """

    MAX_LINE = 4096  # bytes without a terminator: wrong baud rate or garbage, drop them
    ENCODING = "utf-8"

    def __init__(self, on_line: Callable[[str], None], on_lost: Callable[[BaseException | None], None]):
        super().__init__()
        self._on_line = on_line
        self._on_lost = on_lost

    def data_received(self, data: bytes) -> None:
        """Split buffered bytes at every CR or LF and hand over the complete lines."""
        self.buffer.extend(data)
        while (end := _LINE_END.search(self.buffer)) is not None:
            packet = bytes(self.buffer[: end.start()])
            del self.buffer[: end.end()]
            if packet:
                self.handle_packet(packet)
        if len(self.buffer) > self.MAX_LINE:
            log.warning("dropping %d bytes without a line end (check the baud rate)", len(self.buffer))
            del self.buffer[:]

    def handle_line(self, line: str) -> None:
        """Pass one line on; a failing callback must not kill the reader thread."""
        line = line.strip()
        if not line:
            return
        try:
            self._on_line(line)
        except Exception:
            log.exception("line handler failed for %r", line)

    def connection_lost(self, exc: BaseException | None) -> None:
        """Report the loss instead of raising it inside the reader thread."""
        self.transport = None
        self._on_lost(exc)


class _Reader(serial.threaded.ReaderThread):
    # pyserial's loop reads ``in_waiting`` outside its SerialException guard; on a vanished
    # tty that raises a bare OSError (EIO) and the thread would die without telling anyone.
    def run(self) -> None:
        try:
            super().run()
        except OSError as exc:
            self.alive = False
            if self.protocol is not None:
                self.protocol.connection_lost(exc)


class SerialLink:
    """One serial port, kept open by a background thread.

    ``on_line`` (optional) makes it a reading link: received lines are delivered from the
    reader thread. ``on_connect`` runs each time the port (re)opens, e.g. to re-initialise a
    display. ``connected`` and ``last_error`` report the state; nothing here raises to the
    caller once started.
    """

    def __init__(self, url: PeripheralURL, *, name: str, on_line: Callable[[str], None] | None = None,
                 on_connect: Callable[[], None] | None = None, retry_initial: float = 0.5,
                 retry_max: float = 10.0, port_options: dict[str, Any] | None = None):
        self.url = url
        self.name = name
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._on_line = on_line
        self._on_connect = on_connect
        self._port_options = port_options or {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._up = threading.Event()
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.backoff = Backoff(retry_initial, retry_max)  # the reconnect thread's; for diagnostics

    # --- public state ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the port is open and has not failed."""
        return self._up.is_set()

    @property
    def port(self) -> serial.SerialBase | None:
        """The open pyserial object, or None (for diagnostics and loop:// tests)."""
        return self._port

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the port is open; return False on timeout."""
        return self._up.wait(timeout)

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background thread that opens (and reopens) the port."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"fidelis-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Close the port and stop reconnecting."""
        self._stop.set()
        self._lost.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def write(self, data: bytes) -> bool:
        """Send ``data``; on failure mark the link lost (it will reopen) and return False."""
        with self._write_lock:
            port = self._port
            if port is None or not self._up.is_set():
                return False
            try:
                port.write(data)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._connection_lost(exc)
                return False
            return True

    # --- the reconnect loop ----------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.backoff = Backoff(self.retry_initial, self.retry_max)
        while not self._stop.is_set():
            try:
                port = self._open()
            except Exception as exc:  # whatever the driver raises, this thread must go on
                self.last_error = f"open failed: {exc}"
                # Log the first failure loudly, the retries quietly: an unplugged scanner
                # would otherwise fill the log every few seconds.
                log.log(logging.WARNING if backoff.failures == 0 else logging.DEBUG,
                        "%s: cannot open %s: %s", self.name, self.url.url, exc)
                if self._stop.wait(backoff.failed()):
                    break
                continue
            backoff.succeeded()
            try:
                self._serve(port)
            except Exception as exc:
                log.exception("%s: unexpected failure on %s", self.name, self.url.url)
                self.last_error = f"failed: {exc}"
                self._up.clear()
                self._port = None
                with contextlib.suppress(Exception):
                    port.close()
                if self._stop.wait(backoff.failed()):
                    break

    def _open(self) -> serial.SerialBase:
        name, options = self.url.serial_args(**self._port_options)
        if self.url.kind == "serial":
            options.setdefault("exclusive", True)  # two processes reading one scanner lose codes
        return serial.serial_for_url(name, **options)

    def _serve(self, port: serial.SerialBase) -> None:
        self._lost.clear()
        reader = None
        if self._on_line is not None:
            on_line = self._on_line
            reader = _Reader(port, lambda: LineProtocol(on_line, self._connection_lost))
            reader.name = f"fidelis-{self.name}-reader"
            reader.start()
        with self._lock:
            self._port = port
            self._up.set()
        log.info("%s: connected to %s", self.name, self.url.url)
        if self._on_connect is not None:
            try:
                self._on_connect()
            except Exception:
                log.exception("%s: connect handler failed", self.name)
        # The reader reports a vanished port through connection_lost; the liveness check
        # covers a reader that died some other way.
        while not (self._lost.wait(0.25) or self._stop.is_set()):
            if reader is not None and not reader.is_alive():
                break
        with self._lock:
            self._up.clear()
            self._port = None
        with self._write_lock:
            try:
                if reader is not None:
                    reader.close()
                else:
                    port.close()
            except (serial.SerialException, OSError) as exc:
                log.debug("%s: close failed: %s", self.name, exc)
        if not self._stop.is_set():
            log.warning("%s: lost %s: %s", self.name, self.url.url, self.last_error)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if exc is not None and not self._stop.is_set():
            self.last_error = str(exc) or type(exc).__name__
        self._up.clear()
        self._lost.set()


class LinkedDevice:
    """What every serial device shares: one :class:`SerialLink` in ``self._link``.

    Subclasses build the link in ``__init__``; this gives them the life cycle (start, stop,
    context manager) and the diagnostics (connected, last_error, port).
    """

    _link: "SerialLink"

    @property
    def connected(self) -> bool:
        """True while the device's port is open."""
        return self._link.connected

    @property
    def last_error(self) -> str | None:
        """The most recent open/read/write error, kept after a successful reconnect."""
        return self._link.last_error

    @property
    def port(self):
        """The open pyserial object or None (diagnostics; loop:// tests use it)."""
        return self._link.port

    def start(self):
        """Open the port in the background and keep it open until :meth:`stop`."""
        self._link.start()
        return self

    def stop(self) -> None:
        """Close the port and stop reconnecting."""
        self._link.stop()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the port is open; False on timeout."""
        return self._link.wait_connected(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
