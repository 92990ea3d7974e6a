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

from .link import LinkedDevice, SerialLink
from .url import SERIAL_KINDS, PeripheralURL, parse_url

__all__ = ["Scanner"]

log = logging.getLogger(__name__)


class Scanner(LinkedDevice):
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


    def next_code(self, timeout: float | None = None) -> str | None:
        """The next scanned code, or None if none arrives within ``timeout`` seconds."""
        try:
            return self._codes.get(timeout=timeout)
        except queue.Empty:
            return None


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
