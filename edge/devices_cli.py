"""``fidelis-edge devices …``: test the printer and see which peripherals answer.

The commands read the same settings as ``fidelis-edge serve`` (``<data-dir>/config.json``
and ``FIDELIS_PRINTER``/``FIDELIS_SCANNER``/``FIDELIS_DISPLAY``/``FIDELIS_COUNTER``) and
talk to the hardware directly. Failures end with one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Callable

from . import box as boxes
from .peripherals import ENVIRONMENT, load_settings, prepare_escpos_cache
from .peripherals.probe import probe_devices

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

    from .peripherals.printqueue import check_printer, open_configured_printer

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
