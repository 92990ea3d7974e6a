"""Open a python-escpos printer from a peripheral URL.

The returned object is a plain python-escpos printer (``Network``, ``Serial``, ``Usb``,
``File`` or ``Dummy``); nothing is opened until the first byte is sent.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from escpos.capabilities import CAPABILITIES, get_profile
from escpos.escpos import Escpos
from escpos.magicencode import Encoder

from ..errors import DeviceConfigError
from ..url import PRINTER_KINDS, PeripheralURL, parse_url

__all__ = ["DEFAULT_PROFILE", "DEFAULT_WIDTH", "CODE_PAGE_FIXES", "open_printer", "code_page_map"]

DEFAULT_PROFILE = "TM-T88III"
DEFAULT_WIDTH = 42  # characters per line in font A on 80 mm paper

# Corrections to the printer database bundled with python-escpos 3.1, by profile name:
# {ESC t slot: encoding}. Its TM-T88III entry puts CP862 (Hebrew) at slot 18, where the
# same database has CP852 (Latin-2) for the TM-T88II, TM-T88IV and TM-T88V, as Epson's
# tables do. Left as is, Polish, Czech and Romanian letters (ł, ă, ő...) print as '?'.
# Check on the first real printer with test_page(): its sample line shows each table.
CODE_PAGE_FIXES: dict[str, dict[int, str]] = {
    "TM-T88III": {18: "CP852"},
}

_TRANSPORTS = {
    "tcp": "network",
    "serial": "serial",
    "usb": "usb",
    "file": "file",
    "dummy": "dummy",
}


def open_printer(url: str | PeripheralURL, *, profile: str = DEFAULT_PROFILE, width: int = DEFAULT_WIDTH,
                 code_pages: Mapping[int, str] | None = None) -> Escpos:
    """A python-escpos printer for ``url`` (``escpos+tcp://``, ``serial://``, ``usb://``,
    ``file://``, ``dummy:``), not yet connected.

    ``profile`` names a python-escpos printer profile (code pages, paper width, features);
    ``width`` is the characters per line used by the layouts (kept as ``printer.line_width``);
    ``code_pages`` overrides ``{ESC t slot: encoding}`` entries of the profile, for printers
    whose tables differ from the database. Raises :class:`DeviceConfigError` for a bad URL,
    profile or code page, and :class:`DeviceUnavailable` when the transport's library is
    missing (pyusb for ``usb://``).
    """
    parsed = url if isinstance(url, PeripheralURL) else parse_url(url, PRINTER_KINDS)
    if parsed.kind not in _TRANSPORTS:
        raise DeviceConfigError(f"{parsed.url!r} is not a printer URL")
    if profile not in CAPABILITIES["profiles"]:
        raise DeviceConfigError(f"unknown python-escpos printer profile {profile!r}")
    if type(width) is not int or width < 16:
        raise DeviceConfigError(f"printer width must be an int of at least 16 characters, got {width!r}")
    common: dict[str, Any] = {
        "profile": profile,
        # MagicEncode picks a code page per character from this map and emits ESC t n itself.
        "magic_encode_args": {"encoder": Encoder(code_page_map(profile, code_pages))},
    }
    transport = importlib.import_module(f"{__package__}.{_TRANSPORTS[parsed.kind]}")
    printer = transport.connect(parsed, **common)
    printer.line_width = width
    return printer


def code_page_map(profile: str, overrides: Mapping[int, str] | None = None) -> dict[str, str]:
    """``{encoding: slot}`` for python-escpos' ``Encoder``, with fixes and overrides applied."""
    slots = {int(slot): name for slot, name in get_profile(profile).codePages.items()}
    slots.update(CODE_PAGE_FIXES.get(profile, {}))
    for slot, name in (overrides or {}).items():
        if not (isinstance(slot, int) and 0 <= slot <= 255):
            raise DeviceConfigError(f"code page slot must be 0-255, got {slot!r}")
        if name.upper() not in CAPABILITIES["encodings"]:
            raise DeviceConfigError(f"unknown code page {name!r}")
        slots[slot] = name.upper()
    by_name: dict[str, str] = {}
    for slot in sorted(slots):  # an encoding listed twice keeps its lowest slot
        by_name.setdefault(slots[slot], str(slot))
    return by_name
