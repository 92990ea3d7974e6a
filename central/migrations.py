"""Schema migrations: numbered, applied in order, each recorded in ``schema_version``.

Works the same on SQLite and PostgreSQL; running it again applies only what is missing,
and two processes running it at once take turns (SQLite's writer lock, on PostgreSQL the
``migrations`` row of ``centrallock``, which ``migrate`` makes before any step). Add a migration by appending a function to ``MIGRATIONS``; never edit one
that has shipped.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Callable

import peewee

from shared.times import format_time

# A step imports the modules it reads (figures, search, jobs, …) itself: every command opens the
# database through ``open_checked`` here, and most need none of them.
from . import db, models, settings
from .errors import CentralError


def _initial_schema() -> None:
    db.database.create_tables([m for m in models.MODELS if m is not models.SchemaVersion], safe=True)
    for statement in (
        "CREATE INDEX IF NOT EXISTS conflict_status_kind ON conflict (status, kind)",
        "CREATE INDEX IF NOT EXISTS conflict_customer ON conflict (customer_id)",
        # At most one open overdraft per customer, whatever the number of app servers.
        "CREATE UNIQUE INDEX IF NOT EXISTS conflict_open_overdraft ON conflict (customer_id) "
        "WHERE kind = 'overdraft' AND status = 'open'",
        "CREATE INDEX IF NOT EXISTS device_store ON device (store_code)",
    ):
        db.execute(statement)


def _add_column(table: str, column: str, definition: str) -> bool:
    """Add a column unless the table (made from today's models) already has it."""
    if column in {c.name for c in db.database.get_columns(table, db.schema_name())}:
        return False
    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    return True


def _qualifying_spend() -> None:
    """Central decides tiers: brand-wide qualifying spend per customer and per sale."""
    if _add_column("sale", "qualifying", "BIGINT NOT NULL DEFAULT 0"):
        db.execute("UPDATE sale SET qualifying = eligible_amount")
    if _add_column("customer", "qualifying_spend", "BIGINT NOT NULL DEFAULT 0"):
        db.execute("UPDATE customer SET qualifying_spend = COALESCE((SELECT SUM(qualifying) FROM sale "
                   "WHERE sale.customer_id = customer.id), 0)")
    db.execute("CREATE INDEX IF NOT EXISTS sale_customer_at ON sale (customer_id, at)")


def _pairings() -> None:
    """Pairing codes (``fidelis-edge pair``) and the attempts that rate-limit them."""
    db.execute("CREATE TABLE IF NOT EXISTS pairing ("
               "code_hash VARCHAR(64) PRIMARY KEY, secret_hash VARCHAR(64) NOT NULL, "
               "device_id VARCHAR(64) NOT NULL, public_key VARCHAR(64) NOT NULL, edge_store VARCHAR(16), "
               "address VARCHAR(64) NOT NULL, requested_at VARCHAR(40) NOT NULL, expires_at VARCHAR(40) NOT NULL, "
               "store_code VARCHAR(16) REFERENCES store (code), approved_at VARCHAR(40), "
               "approved_by VARCHAR(200), enrolled_at VARCHAR(40))")
    db.execute("CREATE TABLE IF NOT EXISTS pairingattempt ("
               "id VARCHAR(36) PRIMARY KEY, address VARCHAR(64) NOT NULL, at VARCHAR(40) NOT NULL, "
               "kind VARCHAR(16) NOT NULL)")
    db.execute("CREATE INDEX IF NOT EXISTS pairingattempt_address_at ON pairingattempt (address, at)")


def _head_office_users() -> None:
    """The web UI: sessions, sign-in throttling, the audit log; roles of earlier releases mapped."""
    db.database.create_tables([models.WebSession, models.SignInAttempt, models.AuditLog], safe=True)
    for statement in (
        "CREATE INDEX IF NOT EXISTS auditlog_at ON auditlog (at)",
        "CREATE INDEX IF NOT EXISTS auditlog_actor ON auditlog (actor, id)",
        "CREATE INDEX IF NOT EXISTS auditlog_action ON auditlog (action, id)",
        "CREATE INDEX IF NOT EXISTS auditlog_target ON auditlog (target, id)",
        # The exceptions page filters by shop.
        "CREATE INDEX IF NOT EXISTS conflict_store_status ON conflict (store_code, status)",
    ):
        db.execute(statement)
    _add_column("device", "reported_seq", "BIGINT")
    _add_column("device", "clock_skew_ms", "BIGINT")
    for old, new in settings.LEGACY_ROLES.items():
        db.execute("UPDATE central_user SET role = ? WHERE role = ?", (new, old))


def _figures() -> None:
    """The dashboard and the liability report: figure tables (``central.positions``), filled
    from every sale and customer already held (minutes for a million movements)."""
    from . import figure_tables, positions

    db.database.create_tables(figure_tables.FIGURE_MODELS, safe=True)
    figure_tables.rebuild_sales()
    positions.refresh(datetime.now(timezone.utc))


def _customer_care() -> None:
    """Head office's care of customers: signed acts, retired cards, locked tiers, merges, search."""
    from . import search

    db.database.create_tables([models.CareAct, models.RetiredCard], safe=True)
    _add_column("customer", "tier_locked", "BOOLEAN NOT NULL DEFAULT FALSE")
    _add_column("customer", "merged_into", "VARCHAR(64)")
    added = _add_column("customer", "name_fl", "VARCHAR(402)")
    added = _add_column("customer", "name_lf", "VARCHAR(402)") or added
    if added:
        names = [(cid, *search.name_keys(first, last))
                 for cid, first, last in db.rows("SELECT id, first_name, last_name FROM customer")]
        for start in range(0, len(names), 5000):
            db.update_many("customer", "id", ("name_fl", "name_lf"), names[start:start + 5000])
    for statement in search.index_statements() + [
        # A merge moves the absorbed customer's returns to the one kept.
        "CREATE INDEX IF NOT EXISTS salereturn_customer ON salereturn (customer_id)",
    ]:
        db.execute(statement)


def _wallet() -> None:
    """The wallet: its movements and central's holds on it (``central.wallet``)."""
    for statement in (
        "CREATE TABLE IF NOT EXISTS walletmovement (id VARCHAR(200) PRIMARY KEY, customer_id VARCHAR(64) NOT NULL, "
        "kind VARCHAR(16) NOT NULL, amount BIGINT NOT NULL, category VARCHAR(64), at VARCHAR(32) NOT NULL, "
        "sale_id VARCHAR(64), device_id VARCHAR(64) NOT NULL, entry_id VARCHAR(64) NOT NULL)",
        "CREATE INDEX IF NOT EXISTS walletmovement_customer ON walletmovement (customer_id, category)",
        "CREATE INDEX IF NOT EXISTS walletmovement_sale ON walletmovement (sale_id)",
        "CREATE TABLE IF NOT EXISTS wallethold (id VARCHAR(64) PRIMARY KEY, customer_id VARCHAR(64) NOT NULL, "
        "sale_id VARCHAR(64) NOT NULL UNIQUE, device_id VARCHAR(64) NOT NULL, amount BIGINT NOT NULL, "
        "created_at VARCHAR(32) NOT NULL, expires_at VARCHAR(32) NOT NULL, settled_at VARCHAR(32), "
        "settled_entry VARCHAR(64))",
        "CREATE INDEX IF NOT EXISTS wallethold_customer ON wallethold (customer_id)",
    ):
        db.execute(statement)


def _gift_cards_and_vouchers() -> None:
    """Gift cards sold at the shops and vouchers issued by sales."""
    db.database.create_tables([models.GiftCard, models.Voucher], safe=True)


def _expiries() -> None:
    """Lots the expiry job recorded as lapsed (``central.jobs``)."""
    from . import jobs

    db.database.create_tables(jobs.MODELS, safe=True)


def _vip_cards() -> None:
    """VIP cards head office issued (``central.vip``)."""
    from . import vip

    db.database.create_tables(vip.MODELS, safe=True)


def _customer_reach() -> None:
    """Customers reach the stores that know them (``central.reach``), and the feed pages by index."""
    from . import reach

    db.execute("CREATE TABLE IF NOT EXISTS storecustomer (store_code VARCHAR(16) NOT NULL, "
               "customer_id VARCHAR(64) NOT NULL, PRIMARY KEY (store_code, customer_id))")
    db.execute("CREATE INDEX IF NOT EXISTS storecustomer_customer ON storecustomer (customer_id)")
    db.execute("CREATE TABLE IF NOT EXISTS feeddelivery (store_code VARCHAR(16) NOT NULL, cursor BIGINT NOT NULL, "
               "PRIMARY KEY (store_code, cursor))")
    _add_column("feeditem", "customer_id", "VARCHAR(64)")
    db.execute("CREATE INDEX IF NOT EXISTS feeditem_audience ON feeditem (store_code, customer_id, cursor)")
    reach.backfill()


def _traffic_table() -> None:
    """Visits and accepted sales per shop, day and hour (``central.traffic``), filled from the log."""
    from . import traffic

    db.execute("CREATE TABLE IF NOT EXISTS traffic (store_code VARCHAR(16) NOT NULL, day VARCHAR(10) NOT NULL, "
               "hour INTEGER NOT NULL, visits BIGINT NOT NULL DEFAULT 0, sales BIGINT NOT NULL DEFAULT 0, "
               "PRIMARY KEY (store_code, day, hour))")
    db.execute("CREATE INDEX IF NOT EXISTS traffic_day ON traffic (day)")
    traffic.backfill()


MIGRATIONS: list[Callable[[], None]] = [_initial_schema, _qualifying_spend, _pairings, _head_office_users, _figures,
                                        _customer_care, _wallet, _gift_cards_and_vouchers, _expiries, _vip_cards,
                                        _customer_reach, _traffic_table]
LATEST = len(MIGRATIONS)


def current_version() -> int:
    """The highest applied migration, 0 for an empty database."""
    if not db.database.table_exists("schema_version"):
        return 0
    row = db.rows("SELECT MAX(version) FROM schema_version")
    return row[0][0] or 0


def _prepare() -> None:
    """The migration machinery's own tables: versions and named locks.

    Two processes creating them at once may collide in PostgreSQL's catalogue (a unique
    violation on the type's name); the loser tries again and finds them made.
    """
    for attempt in range(3):
        try:
            with db.database.atomic():
                models.SchemaVersion.create_table(safe=True)
                db.create_locks()
            return
        except peewee.IntegrityError:
            if attempt == 2:
                raise


def migrate() -> int:
    """Bring the bound database up to date; return the schema version it ends at."""
    schema = db.schema_name()
    if schema:
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    _prepare()
    version = current_version()
    if version > LATEST:
        # An older release must never write into a schema it does not know (a rollback).
        raise CentralError(500, "schema_newer", f"database schema {version} is newer than this software "
                           f"({LATEST}): a newer release made it; install that release again")
    for number, step in enumerate(MIGRATIONS, start=1):
        with db.database.atomic():
            db.lock("migrations")
            if db.rows("SELECT 1 FROM schema_version WHERE version = ?", (number,)):
                continue
            step()
            db.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (number, format_time(datetime.now(timezone.utc))),
            )
    return current_version()


def open_checked(url: str) -> None:
    """Bind central's database and check it has been initialised to this software's schema.

    A SQLite file that does not exist is not made here (only ``fidelis-central init`` makes one):
    a command run from the wrong directory would otherwise leave an empty database behind."""
    try:
        parsed = db.parse_url(url)
        if not parsed.is_postgres and parsed.target != ":memory:" and not os.path.exists(parsed.target):
            raise CentralError(503, "database_unavailable", f"no database at {parsed.target}: run "
                               "'fidelis-central init' (or give --database)")
        db.connect(url)
        version = current_version()
    except db.DatabaseUrlError as exc:
        raise CentralError(500, "bad_database_url", str(exc)) from None
    except peewee.DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CentralError(503, "database_unavailable", f"cannot open database {db.redact(url)}: {first}") from None
    if version < LATEST:
        raise CentralError(500, "schema_outdated", f"database {db.redact(url)} is at schema {version}, this "
                           f"software needs {LATEST}: run 'fidelis-central init'")
    if version > LATEST:
        raise CentralError(500, "schema_newer",
                           f"database schema {version} is newer than this software; upgrade fidelis")
