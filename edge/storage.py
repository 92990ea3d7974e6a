"""Disk trouble on the edge: a corrupt database, a full or read-only disk.

A box must never sell into a corrupt database. ``fidelis-edge serve`` runs ``PRAGMA
quick_check`` before it says it is ready; on failure, and whenever SQLite later answers
``SQLITE_CORRUPT``, the database is marked corrupt: every write transaction is refused
(``DatabaseCorrupt``, answered ``503 database_corrupt``) and reads go on. The mark is also
kept in ``<data-dir>/database-corrupt.json`` so ``status``, ``doctor`` and other commands in
other processes see it; ``fidelis-edge restore`` and a clean start-up check clear it.

A full disk (``SQLITE_FULL``) or a read-only one (``SQLITE_READONLY``, ``SQLITE_IOERR``) is
not a state but an error of one write: its transaction rolls back whole, the till gets
``507 storage_full``, and the next write succeeds as soon as space is back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MARK_FILE = "database-corrupt.json"
STORAGE_FULL = "storage_full"
DATABASE_CORRUPT = "database_corrupt"
_STORAGE_ERRORS = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")
_CORRUPT_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")

_lock = threading.Lock()
_corrupt: dict[str, Any] | None = None
_mark_dir: Path | None = None


class DatabaseCorrupt(Exception):
    """A write was refused because the database failed its integrity check."""


def _sqlite_errors(exc: BaseException | None) -> list[sqlite3.Error]:
    # peewee wraps the driver's exception (the original is its first argument), and a failed
    # write may surface as the failed ROLLBACK after it: SQLite rolls a transaction back by
    # itself on SQLITE_FULL, so the cause sits further down the chain of contexts.
    found: list[sqlite3.Error] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for candidate in (exc, exc.args[0] if exc.args else None):
            if isinstance(candidate, sqlite3.Error):
                found.append(candidate)
        exc = exc.__cause__ or exc.__context__
    return found


def classify(exc: BaseException) -> str | None:
    """``storage_full``, ``database_corrupt`` or None for an exception raised by SQLite."""
    names = [(getattr(e, "sqlite_errorname", "") or "", str(e)) for e in _sqlite_errors(exc)]
    if any(name.startswith(_CORRUPT_ERRORS) or "malformed" in text for name, text in names):
        return DATABASE_CORRUPT
    if any(name.startswith(_STORAGE_ERRORS) for name, _ in names):
        return STORAGE_FULL
    return None


def quick_check(connection: Any) -> str | None:
    """None when ``PRAGMA quick_check`` passes, else its first findings as one line.

    ``connection`` is a ``sqlite3.Connection`` or a peewee database. A page so damaged that
    SQLite cannot even walk it raises instead of reporting: that is a failure too.
    """
    execute = getattr(connection, "execute_sql", None) or connection.execute
    try:
        rows = [row[0] for row in execute("PRAGMA quick_check(20)").fetchall()]
    except Exception as exc:  # noqa: BLE001  (any error here means the file cannot be trusted)
        return f"quick_check failed: {exc}"
    if rows == ["ok"]:
        return None
    findings = " | ".join(str(row).replace("*** in database main ***", "").strip() for row in rows[:3])
    return f"quick_check: {findings}"


def mark_corrupt(data_dir: Path | None, reason: str) -> None:
    """Refuse every write from now on, here and (through the mark file) in other processes."""
    global _corrupt, _mark_dir
    with _lock:
        _corrupt = {"reason": reason, "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        _mark_dir = data_dir or _mark_dir
        target = _mark_dir
    if target is not None:
        try:
            _write_mark(target / MARK_FILE, _corrupt)
        except OSError:
            pass  # a full or read-only disk: the mark in memory still stops every write


def _write_mark(path: Path, record: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(record, out)
    os.replace(temporary, path)


def load_mark(data_dir: Path) -> None:
    """Take up a mark left by another process (``serve`` found the database corrupt)."""
    global _corrupt, _mark_dir
    path = data_dir / MARK_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    with _lock:
        _mark_dir = data_dir
        if record is not None:
            _corrupt = {"reason": str(record.get("reason", "the database failed its integrity check")),
                        "since": record.get("since")}
        else:
            _corrupt = None


def clear(data_dir: Path | None) -> None:
    """The database passed its check again (start-up, or a restore): writes may go on."""
    global _corrupt
    with _lock:
        _corrupt = None
    if data_dir is not None:
        try:
            (data_dir / MARK_FILE).unlink()
        except FileNotFoundError:
            pass


def corrupt_reason() -> str | None:
    """Why writes are refused, or None when the database is sound."""
    with _lock:
        return _corrupt["reason"] if _corrupt else None


def refuse_if_corrupt() -> None:
    """Raise ``DatabaseCorrupt`` when writes are refused; called by every write transaction."""
    reason = corrupt_reason()
    if reason is not None:
        raise DatabaseCorrupt(f"the database is corrupt ({reason}); the box serves read-only")


def check_at_start(connection: Any, data_dir: Path) -> str | None:
    """The start-up integrity check: mark or clear the database; return the problem if any."""
    problem = quick_check(connection)
    if problem is None:
        clear(data_dir)
    else:
        mark_corrupt(data_dir, problem)
    return problem


def state() -> dict[str, Any]:
    """What ``status`` reports: ``{"integrity": "ok" | "corrupt", "read_only", "reason"}``."""
    with _lock:
        record = dict(_corrupt) if _corrupt else None
    if record is None:
        return {"integrity": "ok", "read_only": False, "reason": None}
    return {"integrity": "corrupt", "read_only": True, "reason": record["reason"], "since": record.get("since")}
