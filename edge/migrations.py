"""Schema migrations, numbered, applied in order, tracked in ``PRAGMA user_version``.

Forward only: each migration runs in its own transaction together with the version bump, so
a failure leaves the database at the previous version, whole. Before the first migration
that changes an existing database, a ``pre-upgrade`` backup is taken (``edge.backups``). A
database newer than this software is refused (``SchemaTooNew``): an older release must never
write into a schema it does not know. Add a migration by appending a function to
``MIGRATIONS``; never edit a shipped one.
"""

from __future__ import annotations

from typing import Callable

from peewee import SqliteDatabase

from sync.private import create_private_file

from . import models
from .db import PRAGMAS, database


_V1_TABLES = ["setting", "rulesversion", "till", "customer", "sale", "salereturn", "pointmovement", "logentry",
              "idempotencyrecord"]


def _initial_schema(db: SqliteDatabase) -> None:
    db.create_tables([m for m in models.MODELS if m._meta.table_name in _V1_TABLES])
    if "log_seq" in {c.name for c in db.get_columns("pointmovement")}:
        return  # created from today's models: migration 2 has nothing to add to this table
    db.execute_sql("CREATE INDEX IF NOT EXISTS pointmovement_customer_at ON pointmovement (customer_id, at)")


def _sync_state(db: SqliteDatabase) -> None:
    """Movements remember their log entry; central's balances get a table."""
    if "log_seq" not in {c.name for c in db.get_columns("pointmovement")}:
        db.execute_sql("ALTER TABLE pointmovement ADD COLUMN log_seq INTEGER")
        db.execute_sql(
            "UPDATE pointmovement SET log_seq = (SELECT seq FROM logentry WHERE kind = 'sale.completed'"
            " AND json_extract(line, '$.body.sale_id') = pointmovement.sale) WHERE kind IN ('earn', 'redeem')"
        )
        db.execute_sql(
            "UPDATE pointmovement SET log_seq = (SELECT seq FROM logentry WHERE kind = 'sale.returned'"
            " AND json_extract(line, '$.body.return_id') = substr(pointmovement.id, 1, 36)) WHERE kind = 'reverse'"
        )
    db.execute_sql("CREATE INDEX IF NOT EXISTS pointmovement_customer_at ON pointmovement (customer_id, at)")
    db.create_tables([models.CentralBalance])


MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [_initial_schema, _sync_state]


class SchemaTooNew(Exception):
    """The database was migrated by a newer release; this one must not open it."""


def schema_version(db: SqliteDatabase) -> int:
    """The migration the database is at (0 for a new file)."""
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def migrate(db: SqliteDatabase) -> int:
    """Apply every migration newer than the database's version; return the new version."""
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise SchemaTooNew(
            f"database schema {current} is newer than this software ({len(MIGRATIONS)}): a newer release "
            "made it; install that release again (or restore a pre-upgrade backup)"
        )
    if 0 < current < len(MIGRATIONS):
        from pathlib import Path

        from .backups import take_pre_upgrade

        # The file may be anywhere (tests, a technician's copy); its backups go beside it.
        path = Path(db.database)
        take_pre_upgrade(path.parent, database=path)
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.atomic():
            step(db)
            db.execute_sql(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


def _peripherals(db: SqliteDatabase) -> None:
    """The receipt print queue."""
    db.create_tables([models.PrintJob])


MIGRATIONS.append(_peripherals)


def _add_column(db: SqliteDatabase, table: str, column: str, definition: str) -> bool:
    if column in {c.name for c in db.get_columns(table)}:
        return False
    db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    return True


def _central_holdings(db: SqliteDatabase) -> None:
    """Central's lots and qualifying spend per customer; sales and returns know their entry."""
    _add_column(db, "centralbalance", "lots", "TEXT")
    _add_column(db, "centralbalance", "debt", "INTEGER NOT NULL DEFAULT 0")
    _add_column(db, "centralbalance", "qualifying_spend", "INTEGER NOT NULL DEFAULT 0")
    _add_column(db, "salereturn", "eligible_reversed", "INTEGER NOT NULL DEFAULT 0")
    if _add_column(db, "sale", "log_seq", "INTEGER"):
        db.execute_sql("UPDATE sale SET log_seq = (SELECT seq FROM logentry WHERE kind = 'sale.completed'"
                       " AND json_extract(line, '$.body.sale_id') = sale.id)")
    if _add_column(db, "salereturn", "log_seq", "INTEGER"):
        db.execute_sql("UPDATE salereturn SET log_seq = (SELECT seq FROM logentry WHERE kind = 'sale.returned'"
                       " AND json_extract(line, '$.body.return_id') = salereturn.id)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS sale_customer_seq ON sale (customer_id, log_seq)")


MIGRATIONS.append(_central_holdings)


def _rejected_entries(db: SqliteDatabase) -> None:
    """Entries central refused, kept until dismissed."""
    db.create_tables([models.RejectedEntry])


MIGRATIONS.append(_rejected_entries)


def _customer_care(db: SqliteDatabase) -> None:
    """Head office's acts: locked tiers, retired cards and merged customers."""
    _add_column(db, "customer", "tier_locked", "INTEGER NOT NULL DEFAULT 0")
    db.create_tables([models.RetiredCard, models.MergedCustomer])


MIGRATIONS.append(_customer_care)


def _wallet(db: SqliteDatabase) -> None:
    """The wallet: movements made here and central's last word per customer (``edge.wallet``)."""
    db.execute_sql("CREATE TABLE IF NOT EXISTS walletmovement (id TEXT PRIMARY KEY, customer_id TEXT NOT NULL,"
                   " kind TEXT NOT NULL, amount INTEGER NOT NULL, category TEXT, at TEXT NOT NULL, sale TEXT,"
                   " log_seq INTEGER)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS walletmovement_customer_seq ON walletmovement (customer_id, log_seq)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS walletmovement_sale ON walletmovement (sale)")
    db.execute_sql("CREATE TABLE IF NOT EXISTS centralwallet (customer_id TEXT PRIMARY KEY, pockets TEXT NOT NULL,"
                   " applied_seq INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)")


MIGRATIONS.append(_wallet)


def _sale_currency(db: SqliteDatabase) -> None:
    """A sale in another currency keeps its code and rate, so a return converts as it did."""
    _add_column(db, "sale", "currency", "TEXT")
    _add_column(db, "sale", "rate", "TEXT")


MIGRATIONS.append(_sale_currency)


def _vip_cards(db: SqliteDatabase) -> None:
    """VIP cards head office issued, received in the feed, and the discount a sale had from one."""
    db.create_tables([models.VipCard])
    _add_column(db, "sale", "vip_percent", "INTEGER NOT NULL DEFAULT 0")


MIGRATIONS.append(_vip_cards)


def _gift_cards_and_vouchers(db: SqliteDatabase) -> None:
    """Gift cards sold or heard of, and vouchers issued by sales."""
    db.create_tables([models.GiftCard, models.Voucher])


MIGRATIONS.append(_gift_cards_and_vouchers)


def _balance_checkpoints(db: SqliteDatabase) -> None:
    """Each customer's balance folded at their last sale (``edge.checkpoints``), and an index
    to read only the movements after it.

    Triggers drop a customer's checkpoint whenever what it folded changes under it: central's
    word on the customer, a movement rewritten or moved (a merge), or one recorded with an
    entry at or before the checkpoint's. Whatever code writes those rows, a stale checkpoint
    cannot survive it.
    """
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS balancecheckpoint (customer_id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
        " at TEXT NOT NULL, available INTEGER NOT NULL, pending INTEGER NOT NULL, expired INTEGER NOT NULL,"
        " spent INTEGER NOT NULL, horizon TEXT, flagged INTEGER NOT NULL)")
    db.execute_sql("CREATE INDEX IF NOT EXISTS pointmovement_customer_seq ON pointmovement (customer_id, log_seq)")
    drop = "DELETE FROM balancecheckpoint WHERE customer_id IN ({})"
    triggers = {
        "centralbalance_insert": ("AFTER INSERT ON centralbalance", drop.format("NEW.customer_id")),
        "centralbalance_update": ("AFTER UPDATE ON centralbalance", drop.format("OLD.customer_id, NEW.customer_id")),
        "centralbalance_delete": ("AFTER DELETE ON centralbalance", drop.format("OLD.customer_id")),
        "pointmovement_update": ("AFTER UPDATE ON pointmovement", drop.format("OLD.customer_id, NEW.customer_id")),
        "pointmovement_delete": ("AFTER DELETE ON pointmovement", drop.format("OLD.customer_id")),
        "pointmovement_insert": (
            "AFTER INSERT ON pointmovement WHEN NEW.log_seq IS NULL OR NEW.log_seq <= "
            "(SELECT seq FROM balancecheckpoint WHERE customer_id = NEW.customer_id)",
            drop.format("NEW.customer_id")),
    }
    for name, (when, action) in triggers.items():
        db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS checkpoint_{name} {when} BEGIN {action}; END")


MIGRATIONS.append(_balance_checkpoints)
def _provisional_customers(db: SqliteDatabase) -> None:
    """Cards sold to offline that central has not linked yet (``edge.customers.provisional``)."""
    _add_column(db, "customer", "provisional", "INTEGER NOT NULL DEFAULT 0")


MIGRATIONS.append(_provisional_customers)


def open_database(path: str) -> SqliteDatabase:
    """Bind the edge database to ``path``, connect, and bring the schema up to date."""
    if not database.is_closed():
        database.close()
    if path != ":memory:" and not path.startswith("file:"):
        create_private_file(path)  # till key hashes and customers' data
    database.init(path, pragmas=PRAGMAS)
    database.connect(reuse_if_open=True)
    migrate(database)
    return database
