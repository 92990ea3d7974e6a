"""In-memory printer (``dummy:``): keeps the bytes in ``printer.output``."""

from __future__ import annotations

from typing import Any

from escpos.printer import Dummy

from ..url import PeripheralURL


def connect(url: PeripheralURL, **common: Any) -> Dummy:
    """A python-escpos ``Dummy`` printer."""
    return Dummy(**common)
