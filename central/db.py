"""Central's database: bound late through a proxy, SQLite for one box, PostgreSQL for a brand.

``connect(url)`` accepts ``sqlite:///path/central.db`` and ``postgresql://user@host:port/db``.
A PostgreSQL URL may name a schema with ``?search_path=NAME`` (tests isolate themselves in a
schema each; ``init`` creates it). SQLite runs in WAL mode with ``synchronous=FULL`` and takes
``BEGIN IMMEDIATE`` so a read-then-write transaction never fails half-way; PostgreSQL uses a
connection pool and row locks.

The hot paths (push, pull) write with plain SQL through ``execute`` and ``insert_rows``:
statements are written with ``?`` placeholders and translated once per backend.
"""

from __future__ import annotations

import io
import os
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import peewee
from peewee import DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from sync.private import create_private_file

from . import settings

database = DatabaseProxy()
"""The central database; every model binds to it, ``connect`` points it at a real one."""

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "busy_timeout": settings.SQLITE_BUSY_MS,
    "foreign_keys": 1,
    "cache_size": -32_000,
}
LOCKS = ("migrations", "feed", "figures")
"""The named rows of ``centrallock``: row locks any PostgreSQL-wire database has (no advisory locks)."""
RETRIED_SQLSTATES = {"40001", "40P01"}
"""Serialization failure and deadlock: the transaction is rolled back whole and may run again."""
RETRY_ATTEMPTS = 4
_wrap_errors = getattr(peewee, "__exception_wrapper__")


class DatabaseUrlError(ValueError):
    """A ``--database`` URL this software cannot use; the message says why."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL: ``backend`` is ``sqlite`` or ``postgresql``."""

    backend: str
    target: str  # the SQLite file, or the libpq URL without our own parameters
    schema: str | None = None

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"


def url_from(arg: str | None) -> str:
    """``--database``, else ``FIDELIS_DATABASE_URL``, else ``sqlite:///./var/central.db``."""
    return arg or os.environ.get(settings.DATABASE_ENV) or settings.DEFAULT_DATABASE_URL


def parse_url(url: str) -> DatabaseUrl:
    """Parse a database URL; ``DatabaseUrlError`` for anything unsupported."""
    if not isinstance(url, str) or not url:
        raise DatabaseUrlError("the database URL is empty")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):].split("?", 1)[0]
        if not path:
            raise DatabaseUrlError("sqlite URL needs a path, e.g. sqlite:///./var/central.db")
        return DatabaseUrl("sqlite", path)
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.path.strip("/"):
            raise DatabaseUrlError("postgresql URL needs a database name, e.g. postgresql://postgres@127.0.0.1:5432/fidelis")
        query = parse_qsl(parts.query, keep_blank_values=True)
        schema = next((value for key, value in query if key == "search_path"), None)
        if schema is not None and not (schema.replace("_", "").isalnum() and schema[0].isalpha()):
            raise DatabaseUrlError("search_path must be one schema name of letters, digits and _")
        kept = [(key, value) for key, value in query if key != "search_path"]
        if not any(key == "connect_timeout" for key, _ in kept):
            kept.append(("connect_timeout", "5"))
        target = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(kept), ""))
        return DatabaseUrl("postgresql", target, schema)
    raise DatabaseUrlError(f"unsupported database URL {redact(url)!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")


def redact(url: str) -> str:
    """The URL with any password replaced, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def open_url(url: str) -> peewee.Database:
    """A peewee database for ``url``, not yet connected and not yet bound to the proxy."""
    parsed = parse_url(url)
    if parsed.is_postgres:
        options = {}
        if parsed.schema:
            options["options"] = f"-c search_path={parsed.schema}"
        return PooledPostgresqlDatabase(
            parsed.target,
            max_connections=settings.POOL_MAX_CONNECTIONS,
            stale_timeout=settings.POOL_STALE_SECONDS,
            timeout=settings.POOL_WAIT_SECONDS,
            **options,
        )
    directory = os.path.dirname(os.path.abspath(parsed.target))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if parsed.target != ":memory:":
        create_private_file(parsed.target)  # password, session and token hashes, customers' data
    return SqliteDatabase(parsed.target, pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE",
                          timeout=settings.SQLITE_BUSY_MS / 1000)


def connect(url: str) -> peewee.Database:
    """Bind the proxy to ``url`` and open a connection in this thread; return the database."""
    close()
    db = open_url(url)
    database.initialize(db)
    _sql_cache.clear()
    database.connect(reuse_if_open=True)
    return db


def close() -> None:
    """Close this thread's connection and, for a pool, every pooled connection."""
    db = database.obj
    if db is None:
        return
    if isinstance(db, PooledPostgresqlDatabase):
        db.close_all()
    elif not db.is_closed():
        db.close()


def close_thread() -> None:
    """Close (or give back to the pool) this thread's connection; for threads that end."""
    if database.obj is not None and not database.is_closed():
        database.close()


def schema_name() -> str | None:
    """The PostgreSQL schema named by the URL, if any."""
    db = database.obj
    options = getattr(db, "connect_params", {}).get("options", "")
    return options.split("search_path=", 1)[1] if "search_path=" in options else None


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def is_pooled() -> bool:
    return isinstance(database.obj, PooledPostgresqlDatabase)


# --- plain SQL for the hot paths ----------------------------------------------------------

_sql_cache: dict[str, str] = {}


def sql(text: str) -> str:
    """``text`` with its ``?`` placeholders in the bound backend's style."""
    converted = _sql_cache.get(text)
    if converted is None:
        converted = text.replace("?", "%s") if is_postgres() else text
        _sql_cache[text] = converted
    return converted


def execute(text: str, params: Sequence[Any] = ()) -> Any:
    """Run one statement written with ``?`` placeholders; return the cursor."""
    return database.execute_sql(sql(text), tuple(params))


def rows(text: str, params: Sequence[Any] = ()) -> list[tuple]:
    return execute(text, params).fetchall()


def marks(count: int) -> str:
    """``?, ?, …`` for an ``IN`` list of ``count`` values."""
    return ", ".join("?" * count)


def for_update() -> str:
    """Row-lock suffix for a SELECT: PostgreSQL needs it, SQLite's writer lock covers it."""
    return " FOR UPDATE" if is_postgres() else ""


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_escape(value: str) -> str:
    # Four substring tests (memchr) cost far less than translate() on the usual clean value.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_text_line(row: Sequence[Any]) -> str:
    """One row in COPY's text format: tab-separated, ``\\N`` for NULL, backslash escapes."""
    return "\t".join(["\\N" if value is None else _copy_escape(value) if value.__class__ is str
                      else ("t" if value else "f") if value.__class__ is bool else str(value) for value in row]) + "\n"


def _array_type(values: Sequence[Any]) -> str:
    sample = next((value for value in values if value is not None), "")
    return "boolean" if isinstance(sample, bool) else "bigint" if isinstance(sample, int) else "text"


def insert_rows(table: str, columns: Sequence[str], values: Iterable[Sequence[Any]], suffix: str = "") -> None:
    """Insert many rows in one round trip (``suffix``: e.g. an ``ON CONFLICT`` clause).

    PostgreSQL takes plain inserts through ``COPY``, about twice as fast as a multi-row
    ``INSERT`` for the wide rows of a push; SQLite runs one prepared statement per row.
    """
    values = list(values)
    if not values:
        return
    names = ", ".join(columns)
    with _wrap_errors:
        cursor = database.cursor()
        if not is_postgres():
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks(len(columns))}) {suffix}", values)
        elif suffix:
            # An upsert cannot COPY; one statement over arrays beats a multi-row VALUES list.
            arrays = [list(column) for column in zip(*values)]
            selects = ", ".join(f"%s::{_array_type(column)}[]" for column in arrays)
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({selects}) {suffix}", arrays)
        else:
            data = io.StringIO("".join(map(_copy_text_line, values)))
            cursor.copy_expert(f"COPY {table} ({names}) FROM STDIN", data)


def update_many(table: str, key: str, columns: Sequence[str], values: Iterable[Sequence[Any]]) -> None:
    """Set ``columns`` on many rows; each value is ``(key, *column values)``.

    PostgreSQL joins one statement against arrays; SQLite runs one prepared statement per row.
    """
    values = list(values)
    if not values:
        return
    with _wrap_errors:
        cursor = database.cursor()
        if is_postgres():
            arrays = [list(column) for column in zip(*values)]
            names = ", ".join([key, *columns])
            sources = ", ".join(f"%s::{_array_type(column)}[]" for column in arrays)
            updates = ", ".join(f"{column} = v.{column}" for column in columns)
            cursor.execute(f"UPDATE {table} AS t SET {updates} FROM unnest({sources}) AS v({names}) "
                           f"WHERE t.{key} = v.{key}", arrays)
        else:
            updates = ", ".join(f"{column} = ?" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {updates} WHERE {key} = ?",
                               [(*row[1:], row[0]) for row in values])


def update_rows(text: str, values: Iterable[Sequence[Any]]) -> None:
    """Run one UPDATE (``?`` placeholders) for each tuple of ``values``."""
    values = list(values)
    if not values:
        return
    with _wrap_errors:
        cursor = database.cursor()
        if is_postgres():
            from psycopg2.extras import execute_batch

            execute_batch(cursor, sql(text), values, page_size=500)
        else:
            cursor.executemany(text, values)


def create_locks() -> None:
    """Make ``centrallock`` and its rows (idempotent; ``migrate`` runs it before any step)."""
    execute("CREATE TABLE IF NOT EXISTS centrallock (name VARCHAR(32) PRIMARY KEY)")
    insert_rows("centrallock", ("name",), [(name,) for name in LOCKS], "ON CONFLICT (name) DO NOTHING")


def lock(name: str, shared: bool = False) -> None:
    """Inside a transaction: lock the row ``name`` of ``centrallock`` until commit.

    A row lock, not an advisory lock, so CockroachDB, YugabyteDB and Citus run it as
    PostgreSQL does (docs/operations.md). ``shared`` lets readers share it. SQLite's one
    writer needs none.
    """
    if is_postgres():
        execute(f"SELECT name FROM centrallock WHERE name = ? FOR {'SHARE' if shared else 'UPDATE'}", (name,))


def lock_feed() -> None:
    """Inside a transaction: wait for other feed writers so feed cursors commit in order.

    PostgreSQL hands out sequence values before commit, so without this a reader could see
    cursor 11 before cursor 10 commits and skip 10 forever. SQLite has one writer anyway.
    """
    lock("feed")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (peewee wraps the driver's), or None."""
    for candidate in (exc, getattr(exc, "orig", None), exc.__cause__, *getattr(exc, "args", ())[:1]):
        code = getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


Result = TypeVar("Result")


def retrying(work: Callable[[], Result], attempts: int = RETRY_ATTEMPTS) -> Result:
    """Run ``work`` in a transaction; on a serialization failure or deadlock, run it again.

    Distributed SQL (and PostgreSQL under SERIALIZABLE) aborts one of two conflicting
    transactions with SQLSTATE 40001 and expects the client to retry; PostgreSQL aborts one
    side of a deadlock with 40P01. ``work`` must recompute everything it writes from what it
    reads, so a rerun is as good as a first run. The last failure is raised as it came.
    """
    for attempt in range(1, attempts + 1):
        try:
            with database.atomic():
                return work()
        except peewee.DatabaseError as exc:
            if attempt == attempts or sqlstate(exc) not in RETRIED_SQLSTATES:
                raise
            time.sleep(random.uniform(0, 0.01 * 2 ** attempt))  # jittered: two losers do not meet again
    raise AssertionError("unreachable")
