"""``fidelis-edge devices …``: test the printer and see which peripherals answer.

The commands read the same settings as ``fidelis-edge serve`` (``<data-dir>/config.json``
and ``FIDELIS_PRINTER``/``FIDELIS_SCANNER``/``FIDELIS_DISPLAY``/``FIDELIS_COUNTER``) and
talk to the hardware directly. Failures end with one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from . import box as boxes
from .peripherals import DEVICES, ENVIRONMENT, PeripheralSettings, load_settings, prepare_escpos_cache

__all__ = ["DeviceCommandError", "add_device_commands", "cmd_devices_status", "cmd_devices_test_print",
           "probe_devices", "main"]


class DeviceCommandError(boxes.BoxError):
    """A device command failed; the message is one clear line."""


def _no_printer(data_dir: Path) -> DeviceCommandError:
    return DeviceCommandError(
        f"no printer configured: set {ENVIRONMENT['printer']} (e.g. escpos+tcp://10.0.0.5:9100) "
        f'or "printer" in {data_dir / "config.json"}')


# --- commands ---------------------------------------------------------------------------------

def cmd_devices_test_print(args: argparse.Namespace) -> None:
    """Print a test page on the configured printer."""
    settings = load_settings(args.data_dir)
    if settings.printer is None:
        raise _no_printer(args.data_dir)
    prepare_escpos_cache(args.data_dir)
    from devices import DeviceUnavailable
    from devices.printer import test_page

    from .printqueue import check_printer, open_configured_printer

    url = settings.printer.url
    try:
        printer = open_configured_printer(settings)
        if settings.printer_status_check:
            check_printer(printer)
        # python-escpos prints "Using hardware barcode renderer" on stdout; stdout is for
        # the result (and --json) only.
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            test_page(printer, width=settings.paper_width)
    except DeviceUnavailable as exc:
        raise DeviceCommandError(f"test page not printed on {url}: {' '.join(str(exc).split())}") from None
    if args.json:
        print(json.dumps({"printer": url, "printed": True}))
    else:
        print(f"test page sent to {url}")


def cmd_devices_status(args: argparse.Namespace) -> None:
    """Each device: configured or not, reachable, paper, last error. Exit 1 if one is down."""
    report = probe_devices(args.data_dir)
    if args.json:
        print(json.dumps({"devices": report}))
    else:
        for entry in report:
            print(entry["summary"])
    down = [entry["device"] for entry in report if entry["configured"] and not entry["ok"]]
    if down:
        raise DeviceCommandError(f"not working: {', '.join(down)} (see above)")


def add_device_commands(subparsers, add: Callable[..., argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``devices test-print`` and ``devices status`` to the CLI's top-level subparsers.

    ``add(name, func, help, example, sub=...)`` is the CLI's own helper (common options,
    help with an example).
    """
    devices = subparsers.add_parser(
        "devices", help="receipt printer, scanner, pole display, people counter",
        description="receipt printer, scanner, pole display, people counter")
    commands = devices.add_subparsers(dest="devices_command", metavar="COMMAND", required=True)
    add("test-print", cmd_devices_test_print, "print a test page on the configured printer",
        "fidelis-edge devices test-print", sub=commands)
    add("status", cmd_devices_status, "each configured device: reachable, paper, last error",
        "fidelis-edge devices status --json", sub=commands)
    return devices


# --- probing ------------------------------------------------------------------------------------

def probe_devices(target) -> list[dict[str, Any]]:
    """One entry per device kind (see ``edge.peripherals.device_report``); never raises."""
    data_dir = Path(getattr(target, "data_dir", target))
    try:
        settings = load_settings(data_dir, strict=False)
    except boxes.BoxError as exc:  # config.json unreadable: no device can be trusted
        return [_entry(name, None, error=str(exc)) for name in DEVICES]
    report = []
    for name in DEVICES:
        url = getattr(settings, name)
        if url is None:
            report.append(_entry(name, None, error=settings.errors.get(name)))
            continue
        try:
            if name == "printer":
                report.append(_probe_printer(settings, target))
            else:
                reachable, error = _probe_serial(url)
                report.append(_entry(name, url.url, reachable=reachable, error=error))
        except Exception as exc:  # a report must come out whatever the device does
            report.append(_entry(name, url.url, reachable=False, error=f"probe failed: {exc}"))
    for key, message in settings.errors.items():
        if key not in DEVICES:
            report.append(_entry("config", None, error=message))
    return report


def _entry(name: str, url: str | None, *, reachable: bool | None = None, ok: bool | None = None,
           error: str | None = None, **extra: Any) -> dict[str, Any]:
    """A report entry: not configured (no url, no error), misconfigured (no url, an error),
    or probed (url, reachable); ``detail`` is its one line, ``summary`` the same after the
    device name."""
    configured = url is not None or error is not None
    if url is None:
        ok, reachable = not configured, None
        text = f"misconfigured: {error}" if error else "not configured"
    else:
        ok = bool(reachable) if ok is None else ok
        details = ["reachable" if reachable else "NOT reachable"]
        if extra.get("paper") not in (None, "unknown"):
            details.append(f"paper {extra['paper']}")
        if "queued" in extra:
            details.append(f"{extra['queued']} queued, {extra['failed']} failed print jobs")
        if error:
            details.append(error)
        text = f"{url}: {', '.join(details)}"
    return {"device": name, "configured": configured, "url": url, "reachable": reachable, "ok": ok,
            "error": error, **extra, "detail": text, "summary": f"{name:<8} {text}"}


def _probe_printer(settings: PeripheralSettings, target) -> dict[str, Any]:
    prepare_escpos_cache(Path(getattr(target, "data_dir", target)))
    from devices import DeviceUnavailable
    from devices.printer import printer_status

    from .printqueue import NO_STATUS_REPLY, open_configured_printer

    url = settings.printer.url
    extra = _queue_counts(target)
    try:
        printer = open_configured_printer(settings)
    except DeviceUnavailable as exc:
        return _entry("printer", url, reachable=False, error=str(exc), paper="unknown", **extra)
    except boxes.BoxError as exc:  # bad profile or width
        return _entry("printer", None, error=str(exc))
    status = printer_status(printer)
    error = " ".join(status["error"].split()) if status["error"] else None
    if error == NO_STATUS_REPLY:  # connected, but this printer does not report its state
        return _entry("printer", url, reachable=True, error="no reply to status queries", paper="unknown", **extra)
    if status["paper"] == "out":
        error = "out of paper"
    ok = status["reachable"] and status["paper"] != "out" and not error
    return _entry("printer", url, reachable=status["reachable"], ok=ok, error=error, paper=status["paper"], **extra)


def _queue_counts(target) -> dict[str, Any]:
    """Queued and failed print jobs and the last printer error the edge recorded."""
    try:
        if not isinstance(target, boxes.EdgeBox):
            boxes.load(Path(target))  # opens the database
        from .models import PrintJob

        queued = PrintJob.select().where(PrintJob.status == "queued").count()
        failed = PrintJob.select().where(PrintJob.status == "failed").count()
        last = (PrintJob.select(PrintJob.last_error).where(PrintJob.last_error.is_null(False))
                .order_by(PrintJob.created_at.desc()).first())
    except Exception:  # not initialised yet: there is no queue to report
        return {}
    return {"queued": queued, "failed": failed, "last_job_error": last.last_error if last else None}


def _probe_serial(url) -> tuple[bool, str | None]:
    """Can the port be opened? A port held by the running edge counts as present."""
    if url.kind == "loop":
        return True, None
    import serial

    path = url.path
    if not os.path.exists(path):
        return False, f"no such device {path} (unplugged? list ports with: python -m serial.tools.list_ports)"
    _, options = url.serial_args()
    try:
        port = serial.serial_for_url(path, exclusive=True, **options)
    except serial.SerialException as exc:
        text = str(exc)
        if "exclusively lock" in text:
            return True, "in use by another process (fidelis-edge serve?)"
        if getattr(exc, "errno", None) == errno.EACCES or "Permission denied" in text:
            return False, f"permission denied on {path}: add the edge's user to the dialout group"
        return False, text
    port.close()
    return True, None


# --- standalone entry point (the same commands without the rest of the CLI) --------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m edge.devices_cli devices status``: the device commands on their own."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                        help="database, keys and config (default: $FIDELIS_DATA_DIR or ./var/edge)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object instead of prose")
    parser = argparse.ArgumentParser(prog="fidelis-edge", parents=[common])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name, func, help, example, sub=commands):
        command = sub.add_parser(name, parents=[common], help=help, description=help, epilog=f"Example: {example}")
        command.set_defaults(func=func)
        return command

    add_device_commands(commands, add)
    args = parser.parse_args(argv)
    args.data_dir = boxes.data_dir_from(str(args.data_dir) if getattr(args, "data_dir", None) else None)
    args.json = getattr(args, "json", False)
    try:
        args.func(args)
    except boxes.BoxError as exc:
        print(f"fidelis-edge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
