"""Peripheral settings: which device is where, from ``config.json`` and the environment.

Each device is a URL (``devices.url``); ``FIDELIS_PRINTER``, ``FIDELIS_SCANNER``,
``FIDELIS_DISPLAY`` and ``FIDELIS_COUNTER`` override the file, and an empty variable switches
a device off.
"""


import json
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices import DeviceConfigError, PeripheralURL, parse_url
from devices.url import PRINTER_KINDS, SERIAL_KINDS

from ..box import BoxError

log = logging.getLogger("fidelis.edge.peripherals")

EXTENSION = "fidelis_peripherals"
CONFIG_FILE = "config.json"
DEVICES = ("printer", "scanner", "display", "counter")
ENVIRONMENT = {
    "printer": "FIDELIS_PRINTER",
    "scanner": "FIDELIS_SCANNER",
    "display": "FIDELIS_DISPLAY",
    "counter": "FIDELIS_COUNTER",
}
_ALLOWED_KINDS = {"printer": PRINTER_KINDS, "scanner": SERIAL_KINDS, "display": SERIAL_KINDS,
                  "counter": SERIAL_KINDS}
QR_FIELDS = ("sale_id", "store", "card_number", "total")
PICKLE_DIR_ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


class PeripheralConfigError(BoxError):
    """A peripheral setting that can never work; the message names the variable or key."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- settings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeripheralSettings:
    """Everything the peripherals need, parsed and checked.

    ``sources`` says where each device URL came from (``FIDELIS_PRINTER``,
    ``"printer" in /…/config.json``), for error messages and status pages.
    """

    printer: PeripheralURL | None = None
    scanner: PeripheralURL | None = None
    display: PeripheralURL | None = None
    counter: PeripheralURL | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # only when loaded with strict=False
    # receipt
    printer_profile: str | None = None
    paper_width: int | None = None
    printer_status_check: bool = True
    brand: str = "Fidelis"
    shop_name: str | None = None
    shop_address: tuple[str, ...] = ()
    logo: str | None = None
    footer: str | None = None
    qr_url: str | None = None
    currency: str = "EUR"
    minor_digits: int = 2
    # display and counter
    welcome: str = "Welcome"
    timezone: tzinfo = timezone.utc
    # timings (seconds)
    receipt_wait: float = 8.0
    print_retry_initial: float = 1.0
    print_retry_max: float = 60.0
    serial_retry_initial: float = 0.5
    serial_retry_max: float = 10.0
    scan_max_age: float = 15.0
    traffic_flush_seconds: float = 60.0

    @property
    def configured(self) -> list[str]:
        """Names of the devices that have a URL."""
        return [name for name in DEVICES if getattr(self, name) is not None]

    def source(self, key: str) -> str:
        return self.sources.get(key, f'"{key}"')

    @property
    def shop_lines(self) -> tuple[str, ...]:
        return ((self.shop_name,) if self.shop_name else ()) + self.shop_address


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise PeripheralConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PeripheralConfigError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PeripheralConfigError(f"{path} must hold a JSON object")
    return data


def load_settings(data_dir: Path, environ: Mapping[str, str] | None = None, *, use_env: bool = True,
                  overrides: Mapping[str, Any] | None = None, strict: bool = True) -> PeripheralSettings:
    """Peripheral settings from ``config.json`` in ``data_dir``, then the environment, then
    ``overrides`` (an app's ``PERIPHERALS`` config), each later source winning.

    Raises :class:`PeripheralConfigError` naming the variable or key at the first problem;
    with ``strict=False`` problems are collected in ``errors`` (device name or key -> message)
    and the faulty devices are left unconfigured, for status reports that must not fail.
    """
    path = Path(data_dir) / CONFIG_FILE
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in _read_config_file(path).items():
        raw[key] = value
        sources[key] = f'"{key}" in {path}'
    if use_env:
        environ = os.environ if environ is None else environ
        for device, variable in ENVIRONMENT.items():
            if variable in environ:
                raw[device] = environ[variable]
                sources[device] = variable
    for key, value in (overrides or {}).items():
        raw[key] = value
        sources[key] = f"PERIPHERALS[{key!r}]"

    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def fail(key: str, message: str) -> None:
        text = f"{sources.get(key, key)}: {message}"
        if strict:
            raise PeripheralConfigError(text)
        errors[key] = text

    for device in DEVICES:
        value = raw.get(device)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str):
            fail(device, "must be a peripheral URL string")
            continue
        try:
            values[device] = parse_url(value, _ALLOWED_KINDS[device])
        except DeviceConfigError as exc:
            fail(device, str(exc))

    def text(key: str, max_length: int = 200) -> None:
        value = raw.get(key)
        if value is None:
            return
        if not isinstance(value, str) or len(value) > max_length:
            fail(key, f"must be a string of at most {max_length} characters")
            return
        values[key] = value

    def number(key: str, low: float, high: float, integer: bool = False) -> None:
        value = raw.get(key)
        if value is None:
            return
        kinds = (int,) if integer else (int, float)
        if type(value) not in kinds or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            fail(key, f"must be {kind} from {low:g} to {high:g}")
            return
        values[key] = value

    for key in ("printer_profile", "brand", "shop_name", "logo", "qr_url", "welcome"):
        text(key)
    text("footer", 1000)
    text("currency", 8)
    number("paper_width", 16, 200, integer=True)
    number("minor_digits", 0, 4, integer=True)
    for key, low, high in (("receipt_wait", 0, 60), ("scan_max_age", 0, 3600), ("print_retry_initial", 0.01, 3600),
                           ("print_retry_max", 0.01, 3600), ("serial_retry_initial", 0.01, 3600),
                           ("serial_retry_max", 0.01, 3600), ("traffic_flush_seconds", 0.01, 3600)):
        number(key, low, high)
    if "printer_status_check" in raw:
        if isinstance(raw["printer_status_check"], bool):
            values["printer_status_check"] = raw["printer_status_check"]
        else:
            fail("printer_status_check", "must be true or false")
    address = raw.get("shop_address")
    if isinstance(address, str):
        values["shop_address"] = tuple(address.splitlines())
    elif isinstance(address, list) and all(isinstance(line, str) for line in address):
        values["shop_address"] = tuple(address)
    elif address is not None:
        fail("shop_address", "must be a string or a list of strings (one per line)")
    if raw.get("timezone") is not None:
        try:
            values["timezone"] = ZoneInfo(str(raw["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            fail("timezone", f"unknown time zone {raw['timezone']!r}; use an IANA name such as Europe/Bucharest")
    if values.get("qr_url"):
        try:
            values["qr_url"].format_map({name: "x" for name in QR_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            fail("qr_url", f"bad template ({exc}); it may use {', '.join('{' + n + '}' for n in QR_FIELDS)}")
            values.pop("qr_url", None)
    return PeripheralSettings(**values, sources=sources, errors=errors)


def prepare_escpos_cache(data_dir: Path) -> None:
    """Keep python-escpos' capabilities pickle in ``<data-dir>/cache/escpos``.

    ``devices.printer`` reads ``ESCPOS_CAPABILITIES_PICKLE_DIR`` on first import (falling
    back to ``$FIDELIS_DATA_DIR/cache`` or the user's cache); ``--data-dir`` is not in the
    environment, so the edge sets the variable itself. An explicit setting is kept.
    """
    if "escpos.capabilities" in sys.modules or PICKLE_DIR_ENV in os.environ:
        return
    os.environ[PICKLE_DIR_ENV] = str(Path(data_dir).resolve() / "cache" / "escpos")


