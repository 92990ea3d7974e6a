"""``fidelis-central``: head office's command line, thin over the same services as the API.

Every command exits 0 on success and non-zero with one clear line on stderr otherwise.
Commands that make a secret (``token create``, ``enroll create``) print just that secret on
stdout; hints go to stderr. ``--json`` prints one JSON object instead of prose.
"""

from __future__ import annotations

import argparse
import codecs
import json
import logging
import os
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import peewee

from sync.cli import OneLineParser, one_line, os_problem
from sync.entry import public_key_raw_b64

from . import auth, db, enrolment, keys, migrations, settings, stores
from . import exceptions as queue
from . import rules as rulebook
from .errors import CentralError
from .migrations import open_checked


class CliError(Exception):
    """Ends the command with this message on stderr and exit code 1."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hint(message: str) -> None:
    print(message, file=sys.stderr)


def _out(args: argparse.Namespace, data: dict[str, Any], prose: str) -> None:
    print(json.dumps(data) if args.json else prose)


def cmd_init(args: argparse.Namespace) -> None:
    try:
        db.connect(args.database)
    except db.DatabaseUrlError as exc:
        raise CliError(str(exc)) from None
    version = migrations.migrate()
    key, created = keys.ensure_key(args.key_file)
    _out(args, {"database": db.redact(args.database), "schema_version": version, "key_file": str(args.key_file),
                "key_created": created, "central_public_key": public_key_raw_b64(key)},
         f"central database ready at {db.redact(args.database)} (schema {version}); "
         f"key {args.key_file} {'created' if created else 'kept'}")


def cmd_user_create(args: argparse.Namespace) -> None:
    if sys.stdin.isatty():
        _hint("password (then Enter):")
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CliError("no password on stdin; pipe it in: fidelis-central user create … < password.txt")
    user = auth.create_user(args.email, args.role, password, _now())
    _out(args, {"id": user.id, "email": user.email, "role": user.role}, f"user {user.email} ({user.role}) created")


def cmd_token_create(args: argparse.Namespace) -> None:
    token, secret = auth.create_token(args.name, _now())
    if args.json:
        print(json.dumps({"id": token.id, "name": token.name, "token": secret}))
    else:
        print(secret)
        _hint(f"API token {token.name!r} created ({token.id}); it is shown once: store it now")


def cmd_store_create(args: argparse.Namespace) -> None:
    store = stores.create_store(args.code, args.name, _now())
    _out(args, {"code": store.code, "name": store.name}, f"store {store.code} ({store.name}) created")


def cmd_store_list(args: argparse.Namespace) -> None:
    found = stores.list_stores()
    if args.json:
        print(json.dumps({"stores": found}))
        return
    for store in found:
        print(f"{store['code']}  {store['name']}  ({len(store['devices'])} devices)")
        for device in store["devices"]:
            flags = " revoked" * device["revoked"] + " frozen" * device["frozen"]
            last = device["last_sync_at"] or "never"
            print(f"  {device['id']}  acked seq {device['acked_seq']}  last sync {last}{flags}")


def cmd_enroll_create(args: argparse.Namespace) -> None:
    secret, expires_at = enrolment.create_token(args.store, _now(), args.expires_in)
    if args.json:
        print(json.dumps({"token": secret, "store": args.store, "expires_at": expires_at}))
    else:
        print(secret)
        _hint(f"one-time enrolment token for store {args.store}, valid until {expires_at}: "
              "fidelis-edge provision --central URL --token TOKEN")


def cmd_enroll_approve(args: argparse.Namespace) -> None:
    from . import pairing

    result = pairing.approve(args.code, args.store, _now(), f"cli {os.environ.get('USER') or 'unknown'}")
    _out(args, result, f"pairing {result['code']} approved for store {result['store']} "
                       f"(device {result['device_id']}); the box enrols itself within seconds")


def cmd_rules_publish(args: argparse.Namespace) -> None:
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    key = keys.load_key(args.key_file)
    # Editors on Windows may start the file with a byte order mark; JSON over HTTP may not.
    item = rulebook.publish(rulebook.read_document(raw.removeprefix(codecs.BOM_UTF8)), key, _now())
    if args.json:
        print(json.dumps({"version": item["version"], "effective_from": item["effective_from"]}))
    else:
        print(item["version"])
        _hint(f"rules version {item['version']} published, in effect from {item['effective_from']}")


def cmd_rules_list(args: argparse.Namespace) -> None:
    versions = rulebook.list_versions()
    if args.json:
        print(json.dumps({"versions": versions}))
        return
    for item in versions:
        print(f"{item['version']}  effective from {item['effective_from']}  published {item['published_at']}")


def cmd_device_revoke(args: argparse.Namespace) -> None:
    device = stores.revoke_device(args.id, _now())
    _out(args, stores.device_view(device), f"device {device.id} of store {device.store_code} revoked")


def cmd_device_log(args: argparse.Namespace) -> None:
    if args.after < 0:
        raise CliError(f"--after must be a seq of 0 or more, not {args.after}")
    for line in stores.export_log(args.id, args.after):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cmd_exceptions_list(args: argparse.Namespace) -> None:
    found = queue.list_exceptions(args.status, args.kind, args.limit)
    if args.json:
        print(json.dumps({"exceptions": found}))
        return
    if not found:
        _hint(f"no {args.status if args.status != 'all' else ''} exceptions".replace("  ", " "))
    for item in found:
        fields = (("store", "store"), ("device", "device_id"), ("seq", "seq"), ("customer", "customer_id"))
        where = " ".join(f"{name}={item[key]}" for name, key in fields if item[key])
        details = json.dumps(item["details"])
        print(f"#{item['id']} {item['kind']} {item['status']} {item['created_at']} {where} {details}")


def cmd_exceptions_resolve(args: argparse.Namespace) -> None:
    item = queue.resolve(args.id, args.note, _now())
    _out(args, item, f"exception #{item['id']} resolved")


def cmd_vouchers_birthdays(args: argparse.Namespace) -> None:
    try:
        day = date.fromisoformat(args.date) if args.date else _now().date()
    except ValueError:
        raise CliError(f"--date must be a date as YYYY-MM-DD, not {args.date!r}") from None
    from . import vouchers

    issued = vouchers.issue_birthdays(day, _now())
    _out(args, {"date": day.isoformat(), "issued": issued},
         f"{len(issued)} birthday voucher(s) issued for {day.isoformat()}")


def cmd_vouchers_turnover(args: argparse.Namespace) -> None:
    try:
        start, last = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError:
        raise CliError("--from and --to must be dates as YYYY-MM-DD") from None
    if last < start:
        raise CliError("--to must not be before --from")
    if (args.percent is None) == (args.amount is None):
        raise CliError("give either --percent or --amount")
    for name in ("min_visits", "min_turnover", "valid_days", "percent", "amount"):
        value = getattr(args, name)
        if value is not None and (value < (1 if name in ("valid_days", "percent", "amount") else 0)
                                  or (name == "percent" and value > 100)):
            raise CliError(f"--{name.replace('_', '-')} is out of range: {value}")
    from shared import vouchers as shared_vouchers

    from . import vouchers

    campaign = shared_vouchers.Turnover(args.min_visits, args.min_turnover, args.percent, args.amount)
    midnight = datetime.min.time().replace(tzinfo=timezone.utc)
    issued = vouchers.issue_by_turnover(campaign, datetime.combine(start, midnight),
                                        datetime.combine(last + timedelta(days=1), midnight), args.valid_days,
                                        args.store, _now())
    _out(args, {"issued": issued}, f"{len(issued)} voucher(s) issued")
def cmd_jobs_run(args: argparse.Namespace) -> None:
    from . import jobs

    done = jobs.run(_now())
    expiry = done["expiry"]
    _out(args, done, f"expiry: {expiry['points']} points of {expiry['lots']} lots recorded as expired "
                     f"for {expiry['customers']} customers; feed: {done['feed']['compacted']} superseded "
                     "customer states dropped")


def cmd_serve(args: argparse.Namespace) -> None:
    import waitress

    from sync import web

    from . import positions, verify
    from .app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app({"DATABASE_URL": args.database, "KEY_FILE": str(args.key_file)})
    try:
        server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads,
                                        ident="fidelis-central")
    except OSError as exc:  # the port is taken (another central?) or the address is not this host's
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    verify.warm_up()  # start the signature-checking helpers before the first big push
    positions.start_refresher()  # the dashboard's figures follow the feed in the background
    _hint(f"fidelis-central serving on http://{args.host}:{args.port} (/api/v1, /sync/v1) "
          f"with {db.redact(args.database)}")
    web.settle_heap()
    server.run()


NEEDS_DATABASE = {cmd_user_create, cmd_token_create, cmd_store_create, cmd_store_list, cmd_enroll_create,
                  cmd_enroll_approve,
                  cmd_rules_publish, cmd_rules_list, cmd_device_revoke, cmd_device_log, cmd_exceptions_list,
                  cmd_exceptions_resolve, cmd_vouchers_birthdays, cmd_vouchers_turnover, cmd_jobs_run}


def _parser() -> argparse.ArgumentParser:
    common = OneLineParser(add_help=False)
    common.add_argument("--database", default=argparse.SUPPRESS,
                        help=f"database URL (default: ${settings.DATABASE_ENV} or {settings.DEFAULT_DATABASE_URL})")
    common.add_argument("--key-file", default=argparse.SUPPRESS,
                        help=f"central's Ed25519 key (default: ${settings.KEY_ENV} or {settings.DEFAULT_KEY_FILE})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON object instead of prose")
    parser = OneLineParser(
        prog="fidelis-central", parents=[common],
        description="Fidelis central: the brand ledger, rules publishing and the sync API for edges.",
        epilog="Example: fidelis-central init && fidelis-central store create --code S001 --name 'Main street'",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def group(name: str, help: str):
        sub = commands.add_parser(name, help=help, description=help, parents=[common],
                                  epilog=f"Example: fidelis-central {name} --help")
        return sub.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable, help: str, example: str, sub=commands) -> argparse.ArgumentParser:
        command = sub.add_parser(name, parents=[common], help=help, description=help, epilog=f"Example: {example}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        command.set_defaults(func=func)
        return command

    add("init", cmd_init, "create or migrate the schema and make central's key; safe to run again",
        "fidelis-central --database postgresql://postgres@127.0.0.1:5432/fidelis init")
    users = group("user", "head-office users")
    user = add("create", cmd_user_create, "add a user; the password is read from stdin",
               "fidelis-central user create --email ana@example.com --role admin < password.txt",
               sub=users)
    user.add_argument("--email", required=True, help="the user's email, used to sign in")
    user.add_argument("--role", required=True, choices=settings.USER_ROLES, help="what the user may do")
    tokens = group("token", "API tokens for the central JSON API")
    add("create", cmd_token_create, "print a new API token (shown once)",
        "fidelis-central token create --name reporting", sub=tokens).add_argument(
        "--name", required=True, help="what the token is for, e.g. reporting")
    store_group = group("store", "stores")
    store = add("create", cmd_store_create, "add a store",
                'fidelis-central store create --code S001 --name "Main street"', sub=store_group)
    store.add_argument("--code", required=True, help="short code chosen by head office, e.g. S001")
    store.add_argument("--name", required=True, help="the store's name")
    add("list", cmd_store_list, "stores and their devices", "fidelis-central store list --json", sub=store_group)
    enrol = group("enroll", "one-time enrolment tokens and pairing codes for new edges")
    enroll = add("create", cmd_enroll_create, "print a one-time enrolment token for a store",
                 "fidelis-central enroll create --store S001 --expires-in 48", sub=enrol)
    enroll.add_argument("--store", required=True, help="the store the edge will belong to")
    enroll.add_argument("--expires-in", type=float, default=settings.ENROLMENT_HOURS, metavar="HOURS",
                        help=f"hours until the token expires (default {settings.ENROLMENT_HOURS})")
    approve = add("approve", cmd_enroll_approve,
                  "approve the pairing code a new box printed ('fidelis-edge pair'); the box then enrols",
                  "fidelis-central enroll approve K7QF-3MXD --store S001", sub=enrol)
    approve.add_argument("code", metavar="CODE", help="the code on the box's receipt, e.g. K7QF-3MXD")
    approve.add_argument("--store", required=True, help="the store the box belongs to")
    rule_group = group("rules", "brand rules versions")
    publish = add("publish", cmd_rules_publish, "publish a rules document; prints the new version number",
                  "fidelis-central rules publish rules.json", sub=rule_group)
    publish.add_argument("file", metavar="FILE.json", help="the rules document (docs/contract.md, docs/rules.md)")
    add("list", cmd_rules_list, "published rules versions", "fidelis-central rules list", sub=rule_group)
    device_group = group("device", "enrolled edge devices")
    revoke = add("revoke", cmd_device_revoke, "refuse a device from now on (a lost or stolen box)",
                 "fidelis-central device revoke --id 6f1c…", sub=device_group)
    revoke.add_argument("--id", required=True, help="the device id")
    device_log = add("log", cmd_device_log, "print the device's log as central holds it, as JSON lines",
                     "fidelis-central device log --id 6f1c… > device.jsonl", sub=device_group)
    device_log.add_argument("--id", required=True, help="the device id")
    device_log.add_argument("--after", type=int, default=0, help="only entries with seq greater than this")
    exception_group = group("exceptions", "the exceptions queue")
    listing = add("list", cmd_exceptions_list, "list exceptions (open ones by default)",
                  "fidelis-central exceptions list --kind overdraft --json", sub=exception_group)
    listing.add_argument("--status", choices=("open", "resolved", "all"), default="open", help="which ones")
    listing.add_argument("--kind", help="only this kind, e.g. overdraft, fork, recalculation_mismatch")
    listing.add_argument("--limit", type=int, default=500, help="at most this many (default 500)")
    resolve = add("resolve", cmd_exceptions_resolve, "close an exception with a note",
                  'fidelis-central exceptions resolve --id 12 --note "customer repaid in store"', sub=exception_group)
    resolve.add_argument("--id", type=int, required=True, help="the exception's number")
    resolve.add_argument("--note", required=True, help="what was done about it (as the page asks)")
    voucher_group = group("vouchers", "vouchers head office issues")
    birthdays = add("birthdays", cmd_vouchers_birthdays,
                    "give today's birthdays the rules' vouchers.birthday voucher (once a day; again is a no-op)",
                    "fidelis-central vouchers birthdays --date 2026-12-01 --json", sub=voucher_group)
    birthdays.add_argument("--date", help="the day whose birthdays to celebrate, YYYY-MM-DD (default: today, UTC)")
    turnover = add("turnover", cmd_vouchers_turnover,
                   "a campaign: a voucher for every customer whose sales over a period reach a number of visits "
                   "and a turnover (sale totals less refunds); the same campaign again issues nothing new",
                   "fidelis-central vouchers turnover --from 2026-11-01 --to 2026-11-30 --min-visits 2 "
                   "--min-turnover 10000 --percent 5 --valid-days 30 --store S001", sub=voucher_group)
    turnover.add_argument("--from", dest="start", required=True, help="first day of the period, YYYY-MM-DD (UTC)")
    turnover.add_argument("--to", dest="end", required=True, help="last day of the period, YYYY-MM-DD (UTC)")
    turnover.add_argument("--min-visits", type=int, default=1, help="sales needed in the period (default 1)")
    turnover.add_argument("--min-turnover", type=int, default=0, help="minor units needed in the period (default 0)")
    turnover.add_argument("--percent", type=int, help="the voucher is this percent of the turnover, rounded down")
    turnover.add_argument("--amount", type=int, help="the voucher is this many minor units")
    turnover.add_argument("--valid-days", type=int, default=30, help="days the voucher is valid (default 30)")
    turnover.add_argument("--store", action="append", help="only sales at this shop, where the voucher is then "
                                                            "valid (repeat for several; default every shop)")
    job_group = group("jobs", "head office's scheduled jobs (the fidelis-central-jobs timer runs them)")
    add("run", cmd_jobs_run, "run every job once: record the points that expired and tell the shops, drop "
        "the customer states a later one supersedes from the feed; running it again writes nothing new",
        "fidelis-central jobs run --json", sub=job_group)
    serve = add("serve", cmd_serve, "serve the JSON API and the sync API",
                "fidelis-central serve --host 0.0.0.0 --port 8700")
    serve.add_argument("--host", default=settings.DEFAULT_HOST,
                       help=f"address to listen on (default {settings.DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=settings.DEFAULT_PORT,
                       help=f"port (default {settings.DEFAULT_PORT})")
    serve.add_argument("--threads", type=int, default=settings.DEFAULT_THREADS,
                       help=f"request threads (default {settings.DEFAULT_THREADS})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fidelis-central`` console script."""
    args = _parser().parse_args(argv)
    args.database = db.url_from(getattr(args, "database", None))
    args.key_file = keys.key_file_from(getattr(args, "key_file", None))
    args.json = getattr(args, "json", False)
    try:
        if args.func in NEEDS_DATABASE:
            open_checked(args.database)
        args.func(args)
    except (CliError, CentralError, db.DatabaseUrlError) as exc:
        print(f"fidelis-central: {exc}", file=sys.stderr)
        return 1
    except peewee.DatabaseError as exc:
        print(f"fidelis-central: database error ({db.redact(args.database)}): {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the contract: one clear line, never a traceback
        if isinstance(exc, OSError) and exc.filename is not None:  # a file it could not make or read
            print(f"fidelis-central: {os_problem(exc)}", file=sys.stderr)
            return 1
        if args.func is cmd_serve:  # a service's crash: its journal keeps the traceback
            logging.getLogger("fidelis.central").exception("serve stopped")
        print(f"fidelis-central: unexpected {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
