"""Schema migrations, numbered, applied in order, tracked in ``PRAGMA user_version``.

Add a migration by appending a function to ``MIGRATIONS``; never edit a shipped one.
"""

from __future__ import annotations

from typing import Callable

from peewee import SqliteDatabase

from . import models


def _initial_schema(db: SqliteDatabase) -> None:
    db.create_tables(models.MODELS)
    db.execute_sql("CREATE INDEX IF NOT EXISTS pointmovement_customer_at ON pointmovement (customer_id, at)")


MIGRATIONS: list[Callable[[SqliteDatabase], None]] = [_initial_schema]


def schema_version(db: SqliteDatabase) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def migrate(db: SqliteDatabase) -> int:
    """Apply every migration newer than the database's version; return the new version."""
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {current} is newer than this software ({len(MIGRATIONS)}); upgrade fidelis"
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.atomic():
            step(db)
            db.execute_sql(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
