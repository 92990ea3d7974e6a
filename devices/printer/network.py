"""Network receipt printers: raw ESC/POS over TCP (``escpos+tcp://HOST:9100``)."""

from __future__ import annotations

from typing import Any

from escpos.printer import Network

from ..url import PeripheralURL

TIMEOUT = 5.0  # seconds; python-escpos waits 60 by default, far too long for a till


def connect(url: PeripheralURL, **common: Any) -> Network:
    """A python-escpos ``Network`` printer for a parsed ``escpos+tcp://`` URL."""
    return Network(host=url.host, port=url.port, timeout=url.options.get("timeout", TIMEOUT), **common)
