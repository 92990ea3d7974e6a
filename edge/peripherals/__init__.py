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
import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from ..box import EdgeBox
from .settings import (  # noqa: F401  (re-exported)
    CONFIG_FILE,
    DEVICES,
    ENVIRONMENT,
    EXTENSION,
    PeripheralConfigError,
    PeripheralSettings,
    load_settings,
    prepare_escpos_cache,
)
from .settings import _utc_now
from .scanhub import ScanHub
from .traffic import TrafficRecorder

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
    from .probe import probe_devices

    return probe_devices(box)

