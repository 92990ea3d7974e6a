"""Peripheral URLs: how a shop names its printer, scanner, display and people counter.

Accepted forms (``FIDELIS_PRINTER``, ``FIDELIS_SCANNER``, ``FIDELIS_DISPLAY``,
``FIDELIS_COUNTER``)::

    escpos+tcp://10.0.0.5:9100?timeout=5      network printer (raw TCP, port 9100 default)
    serial:///dev/ttyUSB0?baudrate=19200       serial port; also bytesize, parity, stopbits,
                                               timeout, xonxoff, dsrdtr
    usb://04b8:0202                            USB printer by hex vendor:product id;
                                               optional in_ep, out_ep (hex), timeout (ms)
    file:///dev/usb/lp0                        device node or plain file (printers only)
    dummy:                                     in-memory printer (tests, demos)
    loop://                                    pyserial loopback (tests)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Mapping
from urllib.parse import parse_qsl, urlsplit

from .errors import DeviceConfigError

__all__ = ["DeviceConfigError", "PeripheralURL", "parse_url", "PRINTER_KINDS", "SERIAL_KINDS"]

TCP_PRINTER_PORT = 9100  # the raw "JetDirect" port every network receipt printer listens on

#: kinds a receipt printer can use, and kinds a line-oriented serial device can use
PRINTER_KINDS = frozenset({"tcp", "serial", "usb", "file", "dummy"})
SERIAL_KINDS = frozenset({"serial", "loop"})

_SCHEMES = {
    "escpos+tcp": "tcp",
    "serial": "serial",
    "usb": "usb",
    "file": "file",
    "dummy": "dummy",
    "loop": "loop",
}

_PARITIES = {
    "n": "N", "none": "N",
    "e": "E", "even": "E",
    "o": "O", "odd": "O",
    "m": "M", "mark": "M",
    "s": "S", "space": "S",
}
_STOPBITS = {"1": 1, "1.5": 1.5, "2": 2}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class PeripheralURL:
    """A parsed peripheral URL.

    ``kind`` is one of ``tcp``, ``serial``, ``usb``, ``file``, ``dummy``, ``loop``;
    ``options`` holds only the query options that were given, already typed
    (``baudrate`` int, ``parity`` one of ``N E O M S``, ``timeout`` float, ...).
    """

    kind: str
    url: str
    host: str | None = None
    port: int | None = None
    path: str | None = None
    vendor_id: int | None = None
    product_id: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def serial_args(self, **defaults: Any) -> tuple[str, dict[str, Any]]:
        """Return ``(port, kwargs)`` for :func:`serial.serial_for_url`.

        ``defaults`` fill in options the URL did not give (e.g. ``write_timeout``).
        """
        if self.kind not in SERIAL_KINDS:
            raise DeviceConfigError(f"{self.url!r} is not a serial port URL")
        port = self.path if self.kind == "serial" else "loop://"
        kwargs = {**defaults, **self.options}
        return port, kwargs


def parse_url(url: str, allowed: Collection[str] | None = None) -> PeripheralURL:
    """Parse a peripheral URL; ``allowed`` restricts the kinds accepted.

    Raises :class:`DeviceConfigError` with a message naming the problem.

    >>> parse_url("serial:///dev/ttyUSB0?baudrate=19200").options
    {'baudrate': 19200}
    """
    if not isinstance(url, str) or not url.strip():
        raise DeviceConfigError("empty peripheral URL")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise DeviceConfigError(f"malformed peripheral URL {url!r}: {exc}") from None
    kind = _SCHEMES.get(parts.scheme.lower())
    if kind is None:
        known = ", ".join(f"{s}:" for s in _SCHEMES)
        raise DeviceConfigError(f"unknown scheme in {url!r}; expected one of {known}")
    if allowed is not None and kind not in allowed:
        raise DeviceConfigError(f"{url!r} cannot be used here (allowed: {', '.join(sorted(allowed))})")
    if parts.fragment:
        raise DeviceConfigError(f"unexpected '#' fragment in {url!r}")
    options = _parse_options(url, parts.query)
    return _BUILDERS[kind](url, parts, options)


# --- one builder per kind -----------------------------------------------------------------

def _tcp(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise DeviceConfigError(f"bad port in {url!r}") from None
    if not host:
        raise DeviceConfigError(f"missing host in {url!r}; e.g. escpos+tcp://10.0.0.5:9100")
    if parts.path not in ("", "/"):
        raise DeviceConfigError(f"unexpected path in {url!r}")
    typed = _typed(url, options, {"timeout": _positive_float})
    return PeripheralURL("tcp", url, host=host, port=port or TCP_PRINTER_PORT, options=typed)


def _serial(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    if parts.netloc or not parts.path.startswith("/"):
        raise DeviceConfigError(f"serial URL needs an absolute path, e.g. serial:///dev/ttyUSB0 (got {url!r})")
    return PeripheralURL("serial", url, path=parts.path, options=_typed(url, options, _SERIAL_OPTIONS))


def _loop(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    if parts.netloc or parts.path:
        raise DeviceConfigError(f"loop URL takes no address: use loop:// (got {url!r})")
    return PeripheralURL("loop", url, options=_typed(url, options, _SERIAL_OPTIONS))


def _usb(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    ids = parts.netloc.split(":")
    if len(ids) != 2 or parts.path not in ("", "/"):
        raise DeviceConfigError(f"USB URL must be usb://VID:PID in hex, e.g. usb://04b8:0202 (got {url!r})")
    vendor, product = (_hex_id(url, value) for value in ids)
    typed = _typed(url, options, {"in_ep": _hex_byte, "out_ep": _hex_byte, "timeout": _non_negative_int})
    return PeripheralURL("usb", url, vendor_id=vendor, product_id=product, options=typed)


def _file(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise DeviceConfigError(f"file URL needs an absolute path, e.g. file:///dev/usb/lp0 (got {url!r})")
    _typed(url, options, {})
    return PeripheralURL("file", url, path=parts.path)


def _dummy(url: str, parts: Any, options: dict[str, str]) -> PeripheralURL:
    if parts.netloc or parts.path:
        raise DeviceConfigError(f"dummy URL takes no address: use dummy: (got {url!r})")
    _typed(url, options, {})
    return PeripheralURL("dummy", url)


_BUILDERS = {"tcp": _tcp, "serial": _serial, "loop": _loop, "usb": _usb, "file": _file, "dummy": _dummy}


# --- option parsing -------------------------------------------------------------------------

def _parse_options(url: str, query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise DeviceConfigError(f"malformed query string in {url!r}") from None
    for key, value in pairs:
        key = key.lower()
        if key in options:
            raise DeviceConfigError(f"option {key!r} given twice in {url!r}")
        options[key] = value.strip()
    return options


def _typed(url: str, options: dict[str, str], converters: Mapping[str, Any]) -> dict[str, Any]:
    # Unknown options are errors so that a typo ("baud=19200") is not silently ignored.
    unknown = sorted(set(options) - set(converters))
    if unknown:
        accepted = ", ".join(sorted(converters)) or "none"
        raise DeviceConfigError(f"unknown option(s) {', '.join(unknown)} in {url!r} (accepted: {accepted})")
    typed = {}
    for key, raw in options.items():
        try:
            typed[key] = converters[key](raw)
        except (ValueError, KeyError):
            raise DeviceConfigError(f"bad value {raw!r} for {key} in {url!r}") from None
    return typed


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError(raw)
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError(raw)
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError(raw)
    return value


def _bytesize(raw: str) -> int:
    value = int(raw)
    if value not in (5, 6, 7, 8):
        raise ValueError(raw)
    return value


def _flag(raw: str) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError(raw)


def _hex_id(url: str, raw: str) -> int:
    text = raw.lower().removeprefix("0x")
    if not 1 <= len(text) <= 4 or any(c not in "0123456789abcdef" for c in text):
        raise DeviceConfigError(f"USB ids are 1-4 hex digits, got {raw!r} in {url!r}")
    return int(text, 16)


def _hex_byte(raw: str) -> int:
    value = int(raw.lower().removeprefix("0x"), 16)
    if not 0 <= value <= 0xFF:
        raise ValueError(raw)
    return value


_SERIAL_OPTIONS = {
    "baudrate": _positive_int,
    "bytesize": _bytesize,
    "parity": lambda raw: _PARITIES[raw.lower()],
    "stopbits": lambda raw: _STOPBITS[raw],
    "timeout": _non_negative_float,
    "xonxoff": _flag,
    "dsrdtr": _flag,
}
