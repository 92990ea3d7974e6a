"""``fidelis-edge discover``, ``config show`` and ``pair``: the box on the shop's network.

Kept apart from ``edge.cli`` so the commands, and the pieces ``serve`` uses to announce
itself, read in one place; ``edge.cli`` calls :func:`add_network_commands`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from . import tls
from .config import CONFIG_ENV, DEFAULT_CONFIG_FILE, SETTINGS

__all__ = ["add_network_commands", "cmd_config_show", "cmd_discover", "cmd_pair", "start_advertising"]


class NetworkCommandError(Exception):
    """Ends the command with this one line on stderr."""


def _hint(message: str) -> None:
    print(message, file=sys.stderr)


# --- discover -------------------------------------------------------------------------------

def cmd_discover(args: argparse.Namespace) -> None:
    """List the Fidelis edges announcing themselves on the LAN."""
    from .discovery import discover

    if not 0 < args.timeout <= 60:
        raise NetworkCommandError("--timeout must be between 0 and 60 seconds")
    found = discover(args.timeout, [args.interface] if args.interface else None)
    if args.json:
        print(json.dumps(found))
        return
    if not found:
        _hint(f"no Fidelis edge answered within {args.timeout:g} s (is 'fidelis-edge serve' running on "
              "a LAN address, and does the network pass multicast?)")
    for edge in found:
        state = "provisioned" if edge["provisioned"] else "NOT provisioned"
        print(f"{edge['name']}  {edge['url']}  store {edge['store'] or '-'}  device {edge['device']}  {state}")
        print(f"    fingerprint {edge['fingerprint'] or '-'}")


# --- config show ------------------------------------------------------------------------------

def cmd_config_show(args: argparse.Namespace) -> None:
    """The effective settings, where each came from, secrets masked."""
    conf = args.conf
    rows = conf.report()
    if args.json:
        print(json.dumps({"config_file": str(conf.file) if conf.file else None,
                          "settings": {row["name"]: {"value": row["value"], "source": row["source"]}
                                       for row in rows}}))
        return
    print(f"# config file: {conf.file or f'none ({DEFAULT_CONFIG_FILE} not found; --config or {CONFIG_ENV})'}")
    width = max(len(row["name"]) for row in rows)
    for row in rows:
        value = "(unset)" if row["value"] is None else json.dumps(row["value"])
        print(f"{row['name']:<{width}}  {value:<40}  # {row['source']}")


# --- pair -------------------------------------------------------------------------------------

def cmd_pair(args: argparse.Namespace) -> None:
    """Ask central for a code, print it, wait for head office's approval, enrol."""
    from .pairing import pair, print_code
    from .peripherals import load_settings
    from .syncer import first_sync

    central = args.conf.central_url
    if not central:
        raise NetworkCommandError("no central URL: give --central URL (or central_url in the config file)")

    def announce(issued: dict[str, Any]) -> None:
        print(issued["code"], flush=True)
        _hint(f"pairing code {issued['code']} (valid until {issued['expires_at']}): head office approves it "
              f"with 'fidelis-central enroll approve {issued['code']} --store STORE'; waiting…")
        _print_on_paper(args, load_settings, print_code, issued)

    tls.ensure_certificate(args.data_dir)
    box, _ = pair(args.data_dir, central, announce, ca_file=args.conf.central_ca_file,
                  poll_interval=args.poll_interval)
    failure = first_sync(box)
    if failure:
        _hint(f"paired, but the first sync failed ({failure}); 'fidelis-edge sync' retries")
    synced = failure is None
    if args.json:
        print(json.dumps({"store": box.store_code, "device_id": box.device_id, "synced": synced}))
    else:
        _hint(f"paired: store {box.store_code} device {box.device_id}")


def _print_on_paper(args, load_settings, print_code, issued: dict[str, Any]) -> None:
    from .peripherals import prepare_escpos_cache

    try:
        settings = load_settings(args.data_dir)
        if settings.printer is None:
            _hint("no receipt printer configured: read the code above")
            return
        prepare_escpos_cache(args.data_dir)
        print_code(settings, issued["code"], issued["expires_at"], issued["store"], issued["device_id"])
    except Exception as exc:  # DeviceUnavailable or a bad setting: the code on screen still works
        _hint(f"the code could not be printed ({' '.join(str(exc).split())}): read it above")


# --- serve's announcement -----------------------------------------------------------------------

def start_advertising(listener, box, fingerprint: str | None, mode: str, provisioned: bool):
    """Announce the box with zeroconf unless ``mode`` says not to; the advertiser or None.

    ``auto`` announces unless the till API listens on loopback only: a box serving
    127.0.0.1 has nothing to offer the LAN, and a developer's machine must not shout.
    """
    from .serving import is_loopback

    if mode == "off" or (mode == "auto" and is_loopback(listener.host)):
        return None
    from .discovery import Advertiser

    return Advertiser(listener, box.store_code, box.device_id, fingerprint, provisioned).start()


# --- the parser -------------------------------------------------------------------------------

def add_network_commands(commands, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``discover``, ``config show`` and ``pair`` to the ``fidelis-edge`` parser."""
    discover = add("discover", cmd_discover, "list the Fidelis edges on the LAN (zeroconf), with their fingerprints",
                   "fidelis-edge discover --timeout 5 --json")
    discover.add_argument("--timeout", type=float, default=3.0, help="seconds to listen (default 3)")
    discover.add_argument("--interface", metavar="ADDRESS",
                          help="listen only on the interface with this IPv4 address (default: all)")

    config = commands.add_parser("config", help="the effective configuration",
                                 description="the effective configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    names = ", ".join(s.name for s in SETTINGS)
    add("show", cmd_config_show, f"print every setting ({names}), its value and where it came from",
        "fidelis-edge config show --json", sub=config_commands)

    pair = add("pair", cmd_pair,
               "enrol with a code printed on the receipt printer, once head office approves it",
               "fidelis-edge pair --central https://central.example.com")
    pair.add_argument("--central", dest="central_url", help="central's base URL (or central_url in the config)")
    pair.add_argument("--ca-file", dest="central_ca_file", help="CA certificate (PEM) for a private central CA")
    pair.add_argument("--poll-interval", type=float, help=argparse.SUPPRESS)
