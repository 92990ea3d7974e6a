"""The edge's SQLite database: bound late, tuned for durability, one writer at a time.

SQLite runs in WAL mode with ``synchronous=FULL``: with NORMAL a power cut can lose a
committed transaction, which would reuse a change-log ``seq`` and look like a fork to
central. Writes take ``BEGIN IMMEDIATE`` so a read-then-write transaction never fails with
"database is locked" half-way, and a process-wide lock funnels writers so waiting threads
queue in Python instead of spinning in SQLite's busy handler. A database marked corrupt
(``edge.storage``) refuses every write transaction before it starts.

Group commit (``grouped``): the tills' writes that queue while one transaction commits go in
the next one together, each in a savepoint of its own, so one ``COMMIT`` (one fsync) makes
them all durable; each caller is answered only after that ``COMMIT``, and a write that fails
rolls back its own savepoint only. The log's order is the order the writes ran in.
"""

from __future__ import annotations

import contextvars
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

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

T = TypeVar("T")


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
            _note_corruption(exc)
            raise


def _note_corruption(exc: BaseException) -> None:
    """Mark the database corrupt when ``exc`` is SQLite saying so (every later write refuses)."""
    if isinstance(exc, DatabaseError) and storage.classify(exc) == storage.DATABASE_CORRUPT:
        storage.mark_corrupt(None, f"SQLite: {exc}")


class _Write:
    """One caller's work in a group: run in the caller's context, on whichever thread commits."""

    __slots__ = ("context", "work", "done", "result", "error")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.context = contextvars.copy_context()  # Flask's request and app context ride along
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with database.atomic():  # a savepoint: a failure undoes this write only
                self.result = self.context.run(self.work)
        except BaseException as exc:  # handed to the caller, whatever it is
            _note_corruption(exc)
            self.error = exc

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


_queue: list[_Write] = []
_group = threading.Condition()
_leading = False
_leader: int | None = None  # the thread committing the current group


def grouped(work: Callable[[], T]) -> T:
    """Run ``work`` inside a write transaction shared with the writes queued beside it.

    ``work`` runs in a savepoint of that transaction, in this thread's context variables (so
    ``flask.g`` and ``current_app`` are this request's) but maybe on another thread: it must
    not rely on thread-local state. Returns once the transaction holding it has committed;
    raises what ``work`` raised (its savepoint rolled back, the others kept) or, when the
    ``COMMIT`` itself fails, that error (nothing of the group was written).
    """
    global _leading, _leader
    if _leader == threading.get_ident():
        return work()  # called from a write of the group being committed: part of that write
    mine = _Write(work)
    with _group:
        _queue.append(mine)
        while _leading and not mine.done:
            _group.wait()
        if mine.done:
            return mine.outcome()
        _leading, _leader = True, threading.get_ident()
        batch = _queue[:]
        _queue.clear()
    try:
        _commit_together(batch)
    finally:
        with _group:
            _leading, _leader = False, None
            _group.notify_all()
    return mine.outcome()


def _commit_together(batch: list[_Write]) -> None:
    try:
        with write_transaction():
            if len(batch) == 1:  # alone in its transaction: no savepoint, a failure rolls it back
                batch[0].result = batch[0].context.run(batch[0].work)
            else:
                for write in batch:
                    write.run()
    except BaseException as exc:  # BEGIN or COMMIT failed, or a lone write: nothing of it is durable
        for write in batch:
            write.error = write.error or exc
    finally:
        for write in batch:
            write.done = True
