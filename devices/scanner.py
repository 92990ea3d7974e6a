"""Barcode and loyalty-card scanners on a serial port.

A scanner in serial mode sends each code as one line (CR, LF or CRLF, depending on its
setup). Codes are queued for :meth:`Scanner.next_code` and, if given, passed to ``on_code``
from the reader thread. Unplugging the scanner is not an error: it is reopened as soon as it
comes back.

    scanner = Scanner("serial:///dev/ttyACM0?baudrate=9600", on_code=print)
    scanner.start()
"""

from __future__ import annotations

import logging
import queue
from typing import Callable

from .link import SerialLink
from .url import SERIAL_KINDS, PeripheralURL, parse_url

__all__ = ["Scanner"]

log = logging.getLogger(__name__)


class Scanner:
    """A serial barcode/card scanner that reconnects by itself.

    ``on_code(code)`` runs on the reader thread; keep it short. At most ``queue_size`` codes
    wait for :meth:`next_code`; beyond that the oldest is dropped, so a till that only uses
    the callback never grows memory.
    """

    def __init__(self, url: str | PeripheralURL, on_code: Callable[[str], None] | None = None, *,
                 retry_initial: float = 0.5, retry_max: float = 10.0, queue_size: int = 100):
        self.url = url if isinstance(url, PeripheralURL) else parse_url(url, SERIAL_KINDS)
        self.on_code = on_code
        self._codes: queue.Queue[str] = queue.Queue(maxsize=queue_size)
        self._link = SerialLink(self.url, name="scanner", on_line=self._received,
                                retry_initial=retry_initial, retry_max=retry_max)

    @property
    def connected(self) -> bool:
        """True while the scanner's port is open."""
        return self._link.connected

    @property
    def last_error(self) -> str | None:
        """The most recent open/read error, kept after a successful reconnect."""
        return self._link.last_error

    @property
    def port(self):
        """The open pyserial object or None (diagnostics; with loop:// tests write to it)."""
        return self._link.port

    def start(self) -> "Scanner":
        """Open the port in the background and keep it open until :meth:`stop`."""
        self._link.start()
        return self

    def stop(self) -> None:
        """Close the port and stop reconnecting."""
        self._link.stop()

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Block until the port is open; False on timeout."""
        return self._link.wait_connected(timeout)

    def next_code(self, timeout: float | None = None) -> str | None:
        """The next scanned code, or None if none arrives within ``timeout`` seconds."""
        try:
            return self._codes.get(timeout=timeout)
        except queue.Empty:
            return None

    def __enter__(self) -> "Scanner":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _received(self, code: str) -> None:
        while True:
            try:
                self._codes.put_nowait(code)
                break
            except queue.Full:
                try:
                    self._codes.get_nowait()
                except queue.Empty:
                    pass
        if self.on_code is not None:
            try:
                self.on_code(code)
            except Exception:
                log.exception("scanner callback failed for %r", code)
