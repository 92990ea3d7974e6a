"""The edge's SQLite database: bound late, tuned for durability, one writer at a time.

SQLite runs in WAL mode with ``synchronous=FULL``: with NORMAL a power cut can lose a
committed transaction, which would reuse a change-log ``seq`` and look like a fork to
central. Writes take ``BEGIN IMMEDIATE`` so a read-then-write transaction never fails with
"database is locked" half-way, and a process-wide lock funnels writers so waiting threads
queue in Python instead of spinning in SQLite's busy handler. A database marked corrupt
(``edge.storage``) refuses every write transaction before it starts.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from peewee import DatabaseError, SqliteDatabase

from . import storage

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    "cache_size": -16_000,
}

database = SqliteDatabase(None, pragmas=PRAGMAS, lock_type="IMMEDIATE")
"""The edge database, bound to a file by ``edge.migrations.open_database``."""

_write_lock = threading.RLock()


@contextmanager
def write_transaction() -> Iterator[None]:
    """One short write transaction (``BEGIN IMMEDIATE``), serialized within the process.

    Raises ``storage.DatabaseCorrupt`` without writing when the database is marked corrupt;
    an ``SQLITE_CORRUPT`` met inside the transaction marks it so (and the transaction rolls back).
    """
    storage.refuse_if_corrupt()
    with _write_lock:
        database.connect(reuse_if_open=True)
        try:
            with database.atomic():
                yield
        except DatabaseError as exc:
            if storage.classify(exc) == storage.DATABASE_CORRUPT:
                storage.mark_corrupt(None, f"SQLite: {exc}")
            raise
