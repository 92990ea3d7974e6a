"""Is the printer there, and does it have paper?

Uses python-escpos' real-time status queries (DLE EOT 1 and DLE EOT 4) on transports that
can read back (network, serial, USB); file and dummy printers can only be checked for being
openable, so their paper is "unknown".
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from escpos.constants import (
    RT_MASK_LOWPAPER,
    RT_MASK_NOPAPER,
    RT_MASK_ONLINE,
    RT_MASK_PAPER,
    RT_STATUS_ONLINE,
    RT_STATUS_PAPER,
)
from escpos.escpos import Escpos
from escpos.printer import Dummy, File

from .job import reset

__all__ = ["printer_status"]

log = logging.getLogger(__name__)

STATUS_TIMEOUT = 2.0  # seconds to wait for a status byte


def printer_status(printer: Escpos, timeout: float = STATUS_TIMEOUT) -> dict[str, Any]:
    """``{"reachable": bool, "paper": "ok"|"low"|"out"|"unknown", "error": str|None}``.

    ``reachable`` means the transport opened and, where status can be read, the printer
    answered. Never raises; the connection is closed afterwards.
    """
    try:
        if isinstance(printer, Dummy):
            return _status(True, "unknown")
        if isinstance(printer, File):
            return _file_status(printer.devfile)
        if type(printer)._read is Escpos._read:  # this transport cannot read back
            printer.device  # opening is the only check available  # noqa: B018
            return _status(True, "unknown")
        return _query(printer, timeout)
    except Exception as exc:  # a status page must render whatever the printer does
        log.info("printer status: %s", exc)
        return _status(False, "unknown", str(exc) or type(exc).__name__)
    finally:
        reset(printer)


def _query(printer: Escpos, timeout: float) -> dict[str, Any]:
    _limit_wait(printer, timeout)
    online = _ask(printer, RT_STATUS_ONLINE)
    if not online:
        return _status(False, "unknown", "printer did not answer the status query")
    paper_reply = _ask(printer, RT_STATUS_PAPER)
    paper = _paper(paper_reply[0]) if paper_reply else "unknown"
    if online[0] & RT_MASK_ONLINE:
        return _status(True, paper, "printer reports offline (cover open, paper out or error)")
    return _status(True, paper)


def _ask(printer: Escpos, query: bytes) -> bytes:
    # A serial port returns b"" when the wait runs out; a socket raises instead.
    try:
        return printer.query_status(query)
    except TimeoutError:
        return b""


def _paper(byte: int) -> str:
    # Same bit tests, in the same order, as python-escpos' paper_status(); that method
    # reports "adequate" when no reply came, which is why the reply is read here directly.
    if byte & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
        return "out"
    if byte & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
        return "low"
    if byte & RT_MASK_PAPER == RT_MASK_PAPER:
        return "ok"
    return "unknown"


def _limit_wait(printer: Escpos, timeout: float) -> None:
    device = printer.device  # opens the transport
    if isinstance(device, socket.socket):
        device.settimeout(timeout)
    elif hasattr(device, "timeout"):  # pyserial
        device.timeout = timeout


def _file_status(path: str) -> dict[str, Any]:
    # Opening a File printer truncates it, so only check that it could be opened for writing.
    target = path if os.path.exists(path) else os.path.dirname(path) or "."
    if os.access(target, os.W_OK):
        return _status(True, "unknown")
    return _status(False, "unknown", f"cannot write to {path}")


def _status(reachable: bool, paper: str, error: str | None = None) -> dict[str, Any]:
    return {"reachable": reachable, "paper": paper, "error": error}
