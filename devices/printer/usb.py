"""USB receipt printers (``usb://04b8:0202``); needs pyusb and libusb."""

from __future__ import annotations

from typing import Any

from escpos.printer import Usb
from escpos.printer.usb import is_usable

from ..errors import DeviceUnavailable
from ..url import PeripheralURL


def connect(url: PeripheralURL, **common: Any) -> Usb:
    """A python-escpos ``Usb`` printer; fails early and clearly when pyusb is missing."""
    # python-escpos imports pyusb optionally and only complains on the first write.
    if not is_usable():
        raise DeviceUnavailable(f"{url.url}: USB printers need pyusb and libusb (pip install pyusb)")
    options = {key: url.options[key] for key in ("in_ep", "out_ep", "timeout") if key in url.options}
    return Usb(idVendor=url.vendor_id, idProduct=url.product_id, **options, **common)
