"""``fidelis-edge``: the technician's command line, thin over the same services as the API.

Every command exits 0 on success and non-zero with one clear line on stderr otherwise.
Commands that make a secret print just that secret on stdout; hints go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from sync.cli import OneLineParser, one_line, os_problem

from . import box as boxes
from . import rejections, storage, tills, tls
from .backup_cli import add_backup_commands
from .changelog import export_lines
from .config import BY_NAME, SETTINGS, ConfigError
from .config import load as load_config
from .devices_cli import add_device_commands
from .migrations import SchemaTooNew
from .network_cli import NetworkCommandError, add_network_commands
from .serving import ListenError
from .status import status

DEFAULT_HOST, DEFAULT_PORT = BY_NAME["host"].default, BY_NAME["port"].default


class CliError(Exception):
    """Ends the command with this message on stderr and exit code 1."""


def _hint(message: str) -> None:
    print(message, file=sys.stderr)


def _read_json_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} is not valid JSON: {exc}") from None


def cmd_init(args: argparse.Namespace) -> None:
    rules = _read_json_file(args.rules) if args.rules else None
    box, created = boxes.initialise(args.data_dir, args.store, rules)
    fingerprint, _ = tls.ensure_certificate(args.data_dir)
    if args.json:
        print(json.dumps({"store": box.store_code, "device_id": box.device_id, "created": created,
                          "data_dir": str(box.data_dir), "device_public_key": box.public_key_b64,
                          "fingerprint": fingerprint}))
    else:
        verb = "initialised" if created else "already initialised"
        print(f"edge {verb} for store {box.store_code} in {box.data_dir} (device {box.device_id})")
        _hint(f"TLS certificate fingerprint (tills pin it): {fingerprint}")


def cmd_till_add(args: argparse.Namespace) -> None:
    box = boxes.load(args.data_dir)
    try:
        till, key = tills.add(box, args.name)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    fingerprint = tls.fingerprint(args.data_dir)
    if args.json:
        print(json.dumps({"id": till.id, "name": till.name, "key": key, "fingerprint": fingerprint}))
    else:
        print(key)
        _hint(f"till {till.name!r} added ({till.id}); the key is shown once: give it to the till now")
        if fingerprint:
            _hint(f"the till must pin the box's TLS certificate, SHA-256 fingerprint {fingerprint}")


def cmd_status(args: argparse.Namespace) -> None:
    report = status(boxes.load(args.data_dir))
    if args.json:
        print(json.dumps(report))
        return
    print(f"store            {report['store']}")
    print(f"device           {report['device_id']}")
    print(f"public key       {report['device_public_key']}")
    print(f"TLS fingerprint  {report['fingerprint'] or 'none (run fidelis-edge init)'}")
    print(f"log head         seq {report['log_head']['seq']}")
    print(f"pending entries  {report['pending_entries']}")
    print(f"rejected entries {report['rejected_entries']}"
          + (" (see 'fidelis-edge log rejected')" if report["rejected_entries"] else ""))
    print(f"last sync        {report['last_sync'] or 'never'}")
    print(f"rules version    {report['rules_version']}")
    print(f"central          {report['central'] or 'none (standalone)'}  [sync {report['sync_state']}]")
    print(f"online           {'yes' if report['online'] else 'no'}")
    database = report["database"]
    if database["read_only"]:
        print(f"database         CORRUPT, serving read-only ({database['reason']}); see 'fidelis-edge doctor'")
    else:
        print("database         ok")


def cmd_provision(args: argparse.Namespace) -> None:
    from .provisioning import provision
    from .syncer import first_sync

    conf = args.conf
    if not conf.central_url or not conf.enrolment_token:
        raise CliError("provision needs --central URL and --token T (or central_url and enrolment_token "
                       "in the config file or environment)")
    box, reply = provision(args.data_dir, conf.central_url, conf.enrolment_token, conf.central_ca_file)
    tls.ensure_certificate(args.data_dir)
    failure = first_sync(box)
    if failure:
        _hint(f"provisioned, but the first sync failed ({failure}); 'fidelis-edge sync' retries")
    synced = failure is None
    if args.json:
        print(json.dumps({"store": box.store_code, "device_id": box.device_id, "synced": synced}))
    else:
        print(f"store {box.store_code} device {box.device_id}")


def cmd_sync(args: argparse.Namespace) -> None:
    from sync.client import Offline, Refused

    from .changelog import head
    from .syncer import SyncStopped, client_for, sync_once

    box = boxes.load(args.data_dir)
    client = client_for(box)
    if client is None:
        raise CliError("this box is standalone: run 'fidelis-edge provision --central URL --token T' first")
    try:
        report = sync_once(box, client)
    except Offline as exc:
        raise CliError(f"central cannot be reached: {exc}") from None
    except (Refused, SyncStopped) as exc:
        raise CliError(str(exc)) from None
    local_seq = head()[0]
    refused = rejections.outstanding()
    if args.json:
        print(json.dumps({"pushed": report.pushed, "acked_seq": report.acked_seq, "log_seq": local_seq,
                          "pulled": report.pulled, "rejected": [r.as_json() for r in refused]}))
    else:
        print(f"pushed {report.pushed}, central acknowledged up to {report.acked_seq} of {local_seq}, "
              f"pulled {report.pulled}")
    if refused:
        # Acknowledged is not applied: these never reached the brand ledger.
        raise CliError(f"{rejections.summary(refused)}; {rejections.WHAT_TO_DO}")
    if report.acked_seq != local_seq:
        raise CliError(f"central acknowledged {report.acked_seq} of {local_seq} entries")


def cmd_doctor(args: argparse.Namespace) -> None:
    from .doctor import Check, checks

    results = [Check(*result) for result in checks(args.data_dir)]
    if args.json:
        print(json.dumps({"ok": all(r.ok for r in results), "checks": [r._asdict() for r in results]}))
    else:
        for result in results:
            print(result.line())
    failed = [r.name for r in results if not r.ok]
    if failed:
        raise CliError(f"{len(failed)} check(s) failed: {', '.join(failed)}")


def cmd_log_export(args: argparse.Namespace) -> None:
    boxes.load(args.data_dir)
    out = sys.stdout
    for line in export_lines(after_seq=args.after):
        out.write(line + "\n")
    out.flush()


def cmd_log_rejected(args: argparse.Namespace) -> None:
    boxes.load(args.data_dir)
    found = rejections.outstanding()
    if args.json:
        print(json.dumps({"rejected": [r.as_json() for r in found]}))
        return
    if not found:
        _hint("central has rejected none of this box's entries")
    for rejection in found:
        print(f"seq {rejection.seq} {rejection.kind} {rejection.reason}: {rejection.message} "
              f"(rejected {rejection.rejected_at})")


def cmd_log_dismiss(args: argparse.Namespace) -> None:
    from datetime import datetime, timezone

    from .db import write_transaction

    boxes.load(args.data_dir)
    with write_transaction():
        dismissed = rejections.dismiss(None if args.all else args.seq, datetime.now(timezone.utc))
    missing = sorted(set(args.seq or ()) - set(dismissed))
    if missing:
        raise CliError(f"no rejected entry waiting with seq {', '.join(map(str, missing))}"
                       " (see 'fidelis-edge log rejected')")
    if args.json:
        print(json.dumps({"dismissed": dismissed}))
    else:
        print(f"dismissed {len(dismissed)} rejected {'entry' if len(dismissed) == 1 else 'entries'}")


def cmd_serve(args: argparse.Namespace) -> None:
    from .app import create_app
    from .network_cli import start_advertising
    from .service import AlreadyServing, lock_data_dir, run_server
    from .serving import plan

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .syncer import SyncLoop, setting

    conf = args.conf
    try:
        # One server per data directory (one writer), and restore knows one is running.
        lock = lock_data_dir(args.data_dir)
    except (AlreadyServing, FileNotFoundError) as exc:
        raise CliError(str(exc) if isinstance(exc, AlreadyServing) else
                       f"no edge in {args.data_dir}: run 'fidelis-edge init --store CODE' first") from None
    fingerprint, _ = tls.ensure_certificate(args.data_dir)  # a box initialised before TLS gets one now
    app = create_app(args.data_dir)
    box = app.extensions["fidelis_edge"]
    listener = plan(conf.host, conf.port, conf.tls)
    running: dict[str, Any] = {}  # the sync loop and the LAN announcement, once the port is ours

    def bound() -> None:
        if not args.no_sync and setting("central_url") and storage.corrupt_reason() is None:
            running["loop"] = SyncLoop(box, interval=conf.sync_interval, max_backoff=conf.sync_max_backoff)
            running["loop"].start()
        running["advertiser"] = start_advertising(listener, box, fingerprint, conf.advertise,
                                                  bool(setting("central_url")))
        _hint(f"fidelis-edge serving the till API on {listener.url} (store {box.store_code}; "
              f"sync {'on, every %g s' % conf.sync_interval if running.get('loop') else 'off'}; "
              f"{'announced on the LAN' if running['advertiser'] else 'not announced'})")
        if listener.https:
            _hint(f"TLS certificate fingerprint (tills pin it): {fingerprint}")

    # systemd stops with SIGTERM: leave through the finally below so devices flush (the people
    # counter's pending visits) and the sync loop stops between exchanges.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_server(app, listener, conf.threads, args.data_dir, bound)
    finally:
        if running.get("advertiser"):
            running["advertiser"].stop()
        if running.get("loop"):
            running["loop"].stop()
        peripherals = app.extensions.get("fidelis_peripherals")
        if peripherals is not None:
            peripherals.stop()
        lock.close()


def _parser() -> argparse.ArgumentParser:
    common = OneLineParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                        help="database, keys and config (default: $FIDELIS_DATA_DIR or ./var/edge)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object instead of prose")
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE",
                        help="settings file (default: $FIDELIS_CONFIG or /etc/fidelis/edge.toml)")

    parser = OneLineParser(
        prog="fidelis-edge", parents=[common],
        description="Fidelis shop edge: till API, local ledger and signed change log.",
        epilog="Example: fidelis-edge init --store S001 --rules rules.json && fidelis-edge serve",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable, help: str, example: str, sub=commands) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help, description=help, epilog=f"Example: {example}")
        command.set_defaults(func=func)
        return command

    init = add("init", cmd_init, "prepare a standalone edge: database, device key pair, local rules",
               "fidelis-edge init --store S001 --rules rules.json")
    init.add_argument("--store", required=True, help="the store code head office chose, e.g. S001")
    init.add_argument("--rules", help="a rules document (JSON) to sell with until central sends rules")

    till = commands.add_parser("till", help="manage till API keys", description="manage till API keys")
    till_commands = till.add_subparsers(dest="till_command", metavar="COMMAND", required=True)
    till_add = add("add", cmd_till_add, "print a new till API key", "fidelis-edge till add --name till-1",
                   sub=till_commands)
    till_add.add_argument("--name", required=True, help="a name for the till, e.g. till-1")

    add("status", cmd_status, "store, device id, public key, pending and rejected entries, last sync, rules version",
        "fidelis-edge status --json")

    log = commands.add_parser("log", help="the device's change log", description="the device's change log")
    log_commands = log.add_subparsers(dest="log_command", metavar="COMMAND", required=True)
    export = add("export", cmd_log_export, "print the change log as JSON lines, oldest first",
                 "fidelis-edge log export > log.jsonl", sub=log_commands)
    export.add_argument("--after", type=int, default=0, help="only entries with seq greater than this")
    add("rejected", cmd_log_rejected, "list the entries central rejected, with central's reason",
        "fidelis-edge log rejected --json", sub=log_commands)
    dismiss = add("dismiss", cmd_log_dismiss,
                  "stop reporting rejected entries once head office has seen to them in central's exceptions queue",
                  "fidelis-edge log dismiss --seq 12", sub=log_commands)
    which = dismiss.add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=int, action="append", help="the seq of a rejected entry (repeatable)")
    which.add_argument("--all", action="store_true", help="every rejected entry")

    add_device_commands(commands, add)
    add_backup_commands(commands, add)

    serve = add("serve", cmd_serve, "serve the till API (and the sync loop, once provisioned)",
                "fidelis-edge serve --host 0.0.0.0 --port 8701")
    serve.add_argument("--host", help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", help=f"port (default {DEFAULT_PORT})")
    serve.add_argument("--threads", help="request threads (default 8)")
    serve.add_argument("--no-sync", action="store_true", help="do not run the background sync loop")
    serve.add_argument("--sync-interval", help="seconds between syncs (default 5)")
    serve.add_argument("--sync-max-backoff",
                       help="longest wait between retries while central is unreachable (default 60)")
    https = serve.add_mutually_exclusive_group()
    https.add_argument("--tls", dest="tls", action="store_const", const="on",
                       help="HTTPS even on loopback (default: HTTPS on every address but loopback)")
    https.add_argument("--insecure-http", dest="tls", action="store_const", const="off",
                       help="plain HTTP on a LAN address: till keys then cross the LAN readable by anyone")
    announce = serve.add_mutually_exclusive_group()
    announce.add_argument("--advertise", dest="advertise", action="store_const", const="on",
                          help="announce the box with zeroconf even on loopback (default: unless on loopback)")
    announce.add_argument("--no-advertise", dest="advertise", action="store_const", const="off",
                          help="do not announce the box on the LAN")

    provision = add("provision", cmd_provision, "enrol this box with central using a one-time token",
                    "fidelis-edge provision --central https://central.example.com --token TOKEN")
    provision.add_argument("--central", dest="central_url", help="central's base URL (or central_url in the config)")
    provision.add_argument("--token", dest="enrolment_token",
                           help="one-time token from 'fidelis-central enroll create' (or $FIDELIS_ENROLMENT_TOKEN)")
    provision.add_argument("--ca-file", dest="central_ca_file",
                           help="CA certificate (PEM) that signed central's certificate, for a private CA")

    add_network_commands(commands, add)

    add("sync", cmd_sync, "push every local entry and pull the feed now; exit 0 when all are acknowledged "
        "and none is rejected", "fidelis-edge sync")
    add("doctor", cmd_doctor, "check database, keys, certificate, clock, central, rejected entries, disk, backlog, "
        "backups and devices; one line each with the fix; exit 1 when any fails", "fidelis-edge doctor --json")
    return parser


def _configure(args: argparse.Namespace) -> None:
    """Resolve the settings (file, ``FIDELIS_*``, flags) into ``args.conf`` and ``args.data_dir``."""
    from .syncer import use_ca_file

    flags = {s.name: getattr(args, s.name, None) for s in SETTINGS}
    flags["data_dir"] = str(flags["data_dir"]) if flags["data_dir"] is not None else None
    args.conf = load_config(getattr(args, "config", None), flags=flags)
    args.data_dir = Path(args.conf.data_dir)
    use_ca_file(args.conf.central_ca_file)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fidelis-edge`` console script."""
    args = _parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    try:
        _configure(args)
        args.func(args)
    except (CliError, boxes.BoxError, ConfigError, tls.TlsError, NetworkCommandError, SchemaTooNew, ListenError) as exc:
        print(f"fidelis-edge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `fidelis-edge log export | head` closes the pipe early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the contract: one clear line, never a traceback
        if isinstance(exc, OSError) and exc.filename is not None:  # a file it could not make or read
            print(f"fidelis-edge: {os_problem(exc)}", file=sys.stderr)
            return 1
        if getattr(args, "func", None) is cmd_serve:  # a service's crash: its journal keeps the traceback
            logging.getLogger("fidelis.edge").exception("serve stopped")
        print(f"fidelis-edge: unexpected {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
