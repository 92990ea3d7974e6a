"""Printers behind a device node or plain file (``file:///dev/usb/lp0``)."""

from __future__ import annotations

from typing import Any

from escpos.printer import File

from ..url import PeripheralURL


def connect(url: PeripheralURL, **common: Any) -> File:
    """A python-escpos ``File`` printer; each opening truncates the file (one job per file)."""
    return File(devfile=url.path, **common)
