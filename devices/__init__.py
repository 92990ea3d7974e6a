"""Shop peripherals: receipt printer, barcode scanner, customer display, people counter.

Every device is configured by a URL (see :mod:`devices.url`).  Importing this package opens
nothing; the printer side (python-escpos, Pillow) is only imported with
:mod:`devices.printer`.
"""

from .errors import DeviceConfigError, DeviceError, DeviceUnavailable
from .url import PeripheralURL, parse_url

__all__ = [
    "DeviceConfigError",
    "DeviceError",
    "DeviceUnavailable",
    "PeripheralURL",
    "parse_url",
]
