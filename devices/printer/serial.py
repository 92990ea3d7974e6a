"""Serial receipt printers (``serial:///dev/ttyS0?baudrate=19200``)."""

from __future__ import annotations

from typing import Any

from escpos.printer import Serial

from ..url import PeripheralURL

DEFAULTS = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1, "timeout": 1.0}


def connect(url: PeripheralURL, **common: Any) -> Serial:
    """A python-escpos ``Serial`` printer; python-escpos enables DSR/DTR flow control by default."""
    options = {**DEFAULTS, **url.options}
    return Serial(devfile=url.path, **options, **common)
