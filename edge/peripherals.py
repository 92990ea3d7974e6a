"""The shop's peripherals as the edge runs them: printer queue, scanner, pole display, people counter.

Each device is named by a URL (``devices.url``) in ``<data-dir>/config.json`` or the
environment (``FIDELIS_PRINTER``, ``FIDELIS_SCANNER``, ``FIDELIS_DISPLAY``,
``FIDELIS_COUNTER``; the environment wins, and a variable set to an empty string switches
the device off). :func:`init_peripherals` builds one :class:`Peripherals` per Flask app and
starts only what is configured; nothing here can fail or slow down a sale.

- printer: a print queue with a worker thread (``edge.printqueue``);
- scanner: every scanned code is fanned out to every till that long-polls
  ``GET /api/v1/scanner/next`` (:class:`ScanHub`);
- display: a welcome text at start, the total after a quote (:func:`notify_quote`), the
  total and points after a sale (:func:`notify_sale`);
- counter: visits summed per shop, day and hour and written to the change log as
  ``traffic.visits`` entries at most once a minute, or as soon as the hour changes
  (:class:`TrafficRecorder`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices import DeviceConfigError, PeripheralURL, parse_url
from devices.url import PRINTER_KINDS, SERIAL_KINDS
from shared.times import format_time

from .box import BoxError, EdgeBox
from .db import database, write_transaction

__all__ = [
    "ENVIRONMENT",
    "EXTENSION",
    "PeripheralConfigError",
    "PeripheralSettings",
    "Peripherals",
    "ScanHub",
    "TrafficRecorder",
    "device_report",
    "get_peripherals",
    "init_peripherals",
    "load_settings",
    "notify_quote",
    "notify_sale",
    "prepare_escpos_cache",
]

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


# --- scanner fan-out --------------------------------------------------------------------------

class ScanHub:
    """Scanned codes for every till that polls: each till sees each code once.

    The last ``size`` codes are kept with increasing sequence numbers; each reader (a till
    id) has a cursor, the last sequence number it was given. A code older than ``max_age``
    seconds is never handed out, so a till that starts polling late does not pop up an old
    customer.
    """

    def __init__(self, max_age: float = 15.0, size: int = 64, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self._codes: deque[tuple[int, str, float]] = deque(maxlen=size)
        self._seq = 0
        self._cursors: dict[str, int] = {}
        self._cond = threading.Condition()
        self._closed = False

    def publish(self, code: str) -> int:
        """Add a scanned code; returns its sequence number."""
        with self._cond:
            self._seq += 1
            self._codes.append((self._seq, code, self._clock()))
            self._cond.notify_all()
            return self._seq

    def next(self, reader: str, timeout: float) -> str | None:
        """The oldest code ``reader`` has not seen yet, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                code = self._take(reader)
                if code is not None:
                    return code
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def close(self) -> None:
        """Release every waiting reader (they get None)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self, reader: str) -> str | None:
        cursor = self._cursors.get(reader, 0)
        fresh_after = self._clock() - self.max_age
        for seq, code, at in self._codes:
            if seq <= cursor or at < fresh_after:
                continue
            self._cursors[reader] = seq
            return code
        return None


# --- people counter -------------------------------------------------------------------------

class TrafficRecorder:
    """Sums visits per (local day, hour) and writes them as ``traffic.visits`` entries.

    A flush writes one entry per hour that had visits since the last flush, with the visits
    of that period (an increment: central adds them up). Flushes happen at most once every
    ``flush_seconds``, at once when a visit falls in a new hour, and on :meth:`stop`.
    Visits not flushed yet are lost if the process is killed.
    """

    KIND = "traffic.visits"

    def __init__(self, box: EdgeBox, tz: tzinfo, flush_seconds: float = 60.0,
                 clock: Callable[[], datetime] = _utc_now):
        self.box = box
        self.tz = tz
        self.flush_seconds = flush_seconds
        self.clock = clock
        self.total = 0
        self.last_error: str | None = None
        self._pending: dict[tuple[date, int], int] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_flush = time.monotonic()
        self._thread: threading.Thread | None = None

    def add(self, count: int, at: datetime) -> None:
        """Count ``count`` visits at ``at`` (called from the counter's reader thread)."""
        from devices.counter import bucket_visits

        for key, visits in bucket_visits([(at, count)], self.tz).items():
            with self._lock:
                new_hour = any(other != key for other in self._pending)
                self._pending[key] = self._pending.get(key, 0) + visits
                self.total += visits
            if new_hour:
                self._wake.set()

    def pending(self) -> dict[tuple[date, int], int]:
        with self._lock:
            return dict(self._pending)

    def flush(self) -> int:
        """Write what was counted since the last flush; returns the number of entries."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
            if not pending:
                return 0
            stamp = format_time(self.clock())
            try:
                with write_transaction():
                    for (day, hour), visits in sorted(pending.items()):
                        self.box.changelog.append(self.KIND, {
                            "store": self.box.store_code, "day": day.isoformat(), "hour": hour,
                            "visits": visits, "counted_at": stamp,
                        })
            except Exception as exc:
                with self._lock:  # keep the counts for the next flush
                    for key, visits in pending.items():
                        self._pending[key] = self._pending.get(key, 0) + visits
                self.last_error = f"could not record visits: {exc}"
                raise
            self.last_error = None
            return len(pending)

    def start(self) -> "TrafficRecorder":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fidelis-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the flusher and write what is left."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("traffic: final flush failed")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                due = self._last_flush + self.flush_seconds
                hour_changed = self._wake.wait(max(0.0, due - time.monotonic()))
                self._wake.clear()
                if self._stop.is_set():
                    break
                if hour_changed or time.monotonic() >= due:
                    try:
                        self.flush()
                    except Exception:
                        log.exception("traffic: flush failed; the visits are kept for the next one")
                        self._stop.wait(1.0)
        finally:
            database.close()


# --- the whole set ------------------------------------------------------------------------------

class Peripherals:
    """The configured devices of one edge, with the threads that serve them."""

    def __init__(self, box: EdgeBox, settings: PeripheralSettings, *,
                 clock: Callable[[], datetime] | None = None):
        self.box = box
        self.settings = settings
        self.clock = clock or _utc_now
        self.scans = ScanHub(settings.scan_max_age)
        self.print_queue = None  # edge.printqueue.PrintQueue when a printer is configured
        self.scanner = None      # devices.scanner.Scanner
        self.display = None      # devices.display.Display
        self.counter = None      # devices.counter.PeopleCounter
        self.traffic: TrafficRecorder | None = None
        self.started = False
        self._stopped = False

    @property
    def serial_options(self) -> dict[str, float]:
        return {"retry_initial": self.settings.serial_retry_initial, "retry_max": self.settings.serial_retry_max}

    def start(self) -> "Peripherals":
        """Start what is configured (nothing when nothing is); never blocks on a device."""
        settings = self.settings
        if settings.printer is not None:
            from .printqueue import PrintQueue

            prepare_escpos_cache(self.box.data_dir)
            self.print_queue = PrintQueue(self.box, settings, clock=self.clock).start()
        if settings.display is not None:
            from devices.display import Display

            self.display = Display(settings.display, **self.serial_options)
            self.display.welcome(settings.welcome)  # shown as soon as the port opens
            self.display.start()
        if settings.scanner is not None:
            from devices.scanner import Scanner

            self.scanner = Scanner(settings.scanner, on_code=self.scans.publish, **self.serial_options).start()
        if settings.counter is not None:
            from devices.counter import PeopleCounter

            self.traffic = TrafficRecorder(self.box, settings.timezone, settings.traffic_flush_seconds,
                                           self.clock).start()
            self.counter = PeopleCounter(settings.counter, on_visits=self.traffic.add, clock=self.clock,
                                         **self.serial_options).start()
        self.started = bool(settings.configured)
        if self.started:
            atexit.register(self.stop)
            log.info("peripherals started: %s", ", ".join(
                f"{name} {getattr(settings, name).url}" for name in settings.configured))
        return self

    def stop(self) -> None:
        """Stop every thread, close the ports and record the visits counted so far."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        self.scans.close()
        for device in (self.scanner, self.counter, self.display):
            if device is not None:
                try:
                    device.stop()
                except Exception:
                    log.exception("stopping %s failed", device)
        if self.traffic is not None:
            self.traffic.stop()
        if self.print_queue is not None:
            self.print_queue.stop()

    # --- display -----------------------------------------------------------------------------

    def _money(self, amount: int, currency: bool = True) -> str:
        from devices.text import format_money

        return format_money(amount, self.settings.minor_digits,
                            currency=self.settings.currency if currency else None)

    def show_quote(self, quote: Mapping[str, Any]) -> bool:
        """The basket total on the pole display."""
        if self.display is None:
            return False
        return self.display.show_total("Total", int(quote["total"]), self.settings.currency,
                                       self.settings.minor_digits)

    def show_sale(self, sale: Mapping[str, Any]) -> bool:
        """Total on line 1; points earned and the balance after on line 2 (or a thank-you)."""
        if self.display is None:
            return False
        from devices.text import center, columns

        width = self.display.columns
        first = columns("Total", self._money(int(sale["total"])), width)
        customer = sale.get("customer")
        if customer:
            earned = int(sale.get("points_earned") or 0)
            balance = int(customer["points"]["available"])
            second = columns(f"+{earned} pts" if earned > 0 else f"{earned} pts", f"Balance {balance}", width)
        else:
            second = center("Thank you", width)
        return self.display.show(first, second)

    # --- status --------------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """What this process knows of each device, without touching the hardware."""
        report = []
        for name in DEVICES:
            url = getattr(self.settings, name)
            entry: dict[str, Any] = {"device": name, "configured": url is not None,
                                     "url": url.url if url else None}
            if name == "printer" and self.print_queue is not None:
                entry.update(self.print_queue.status())
            device = {"scanner": self.scanner, "display": self.display, "counter": self.counter}.get(name)
            if device is not None:
                entry["connected"] = device.connected
                entry["last_error"] = device.last_error
            if name == "counter" and self.traffic is not None:
                entry["visits_counted"] = self.traffic.total
                if self.traffic.last_error:
                    entry["last_error"] = self.traffic.last_error
            report.append(entry)
        return report


# --- hooks for the app, the sale path and the CLI ---------------------------------------------

_init_lock = threading.Lock()


def init_peripherals(app, box: EdgeBox) -> Peripherals:
    """Build and start the peripherals of ``app`` (once; later calls return the same object).

    Under ``TESTING`` the environment is ignored, so only ``config.json`` or
    ``app.config["PERIPHERALS"]`` can switch a device on. Raises
    :class:`PeripheralConfigError` (a ``BoxError``) for a URL or setting that can never work.
    """
    with _init_lock:
        existing = app.extensions.get(EXTENSION)
        if existing is not None:
            return existing
        settings = load_settings(box.data_dir, use_env=not app.config.get("TESTING"),
                                 overrides=app.config.get("PERIPHERALS"))
        peripherals = Peripherals(box, settings, clock=app.config.get("CLOCK")).start()
        app.extensions[EXTENSION] = peripherals
        return peripherals


def get_peripherals(app) -> Peripherals:
    """The app's peripherals, built on first use if the app factory did not."""
    existing = app.extensions.get(EXTENSION)
    if existing is not None:
        return existing
    return init_peripherals(app, app.extensions["fidelis_edge"])


def _resolve(target) -> Peripherals | None:
    if isinstance(target, Peripherals):
        return target
    extensions = getattr(target, "extensions", None)
    if isinstance(extensions, dict):
        return extensions.get(EXTENSION)
    return None


def notify_quote(target, quote: Mapping[str, Any]) -> None:
    """Show a quoted basket's total on the pole display; never raises."""
    try:
        peripherals = _resolve(target)
        if peripherals is not None:
            peripherals.show_quote(quote)
    except Exception:
        log.exception("display: quote not shown")


def notify_sale(target, sale_view: Mapping[str, Any]) -> None:
    """Show a committed sale (total, points earned and balance) on the pole display.

    ``target`` is the Flask app or its :class:`Peripherals`. Never raises: the sale is
    already committed and a display problem must not turn it into an error.
    """
    try:
        peripherals = _resolve(target)
        if peripherals is not None:
            peripherals.show_sale(sale_view)
    except Exception:
        log.exception("display: sale not shown")


def device_report(box: EdgeBox | Path) -> list[dict[str, Any]]:
    """One entry per device kind for ``fidelis-edge doctor`` and ``devices status``.

    Probes the hardware (printer status query, opening serial ports); never raises. Each
    entry has ``device``, ``configured``, ``url``, ``ok`` (a device that is not configured is
    ok), ``reachable``, ``error``, ``detail`` (one line) and ``summary`` (``detail`` after the
    device name), plus ``paper`` and the print queue counts for the printer.
    """
    from .devices_cli import probe_devices

    return probe_devices(box)
