"""Backups of the edge database: consistent copies, checked, checksummed, kept in rotation.

A copy is made with SQLite's online backup API (never a plain file copy, which could catch a
page half-written by the running server), checked with ``PRAGMA quick_check``, switched to a
self-contained rollback-journal file, and its SHA-256 is written beside it in ``sha256sum``
format (``sha256sum -c edge-….db.sha256`` checks it by hand). Files are mode 0600.

Copies live in ``<data-dir>/backups`` as ``edge-YYYYMMDDTHHMMSSZ-KIND.db``. Kind ``daily``
(``fidelis-edge backup`` and its timer) is kept as 7 daily and 4 weekly copies; kind
``pre-upgrade`` (taken before migrations change the schema, and by the upgrade script) as the
last 3. Putting a copy back is ``edge.restore``.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from sync.private import create_private_file

BACKUP_DIR = "backups"
DAILY, PRE_UPGRADE = "daily", "pre-upgrade"
KINDS = (DAILY, PRE_UPGRADE)
KEEP_DAILY, KEEP_WEEKLY, KEEP_PRE_UPGRADE = 7, 4, 3
_NAME = re.compile(r"^edge-(\d{8}T\d{6}Z)-(daily|pre-upgrade)\.db$")
_STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A copy that cannot be made or cannot be trusted; the message says why."""


@dataclass(frozen=True)
class Backup:
    """One copy on disk: where it is, when it was taken and why."""

    path: Path
    taken_at: datetime
    kind: str

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")


def backup_dir(data_dir: Path) -> Path:
    """Where ``fidelis-edge backup`` puts its copies by default."""
    return data_dir / BACKUP_DIR


def parse_name(path: Path) -> Backup | None:
    """The backup a file name describes, or None for any other file."""
    found = _NAME.match(path.name)
    if not found:
        return None
    taken = datetime.strptime(found.group(1), _STAMP).replace(tzinfo=timezone.utc)
    return Backup(path, taken, found.group(2))


def listing(directory: Path) -> list[Backup]:
    """The copies in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [parse_name(path) for path in directory.iterdir()]
    return sorted((b for b in found if b is not None), key=lambda b: (b.taken_at, b.path.name))


def sha256_file(path: Path) -> str:
    """The file's SHA-256, lowercase hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path | str, target: Path) -> None:
    """Copy the SQLite database ``source`` to a new file ``target`` (mode 0600) with the backup API.

    The copy is one step under one read transaction, so it is a consistent snapshot even while
    the server writes; it ends as a self-contained file (no ``-wal`` beside it), checked.
    """
    create_private_file(target, exist_ok=False)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        src.close()
        dst.close()
        if problem != "ok":
            raise BackupError(f"the copy failed its integrity check ({problem}); the database itself may be damaged")
        _fsync(target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def take(data_dir: Path, kind: str = DAILY, *, directory: Path | None = None,
         now: datetime | None = None, database: Path | None = None) -> Backup:
    """Make one checked copy of ``<data-dir>/edge.db`` (or ``database``), record its SHA-256,
    then prune old copies. Returns the new copy."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    source = database or data_dir / "edge.db"
    if not source.exists():
        raise BackupError(f"no database at {source}: nothing to back up")
    directory = directory or backup_dir(data_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    taken = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    final = directory / f"edge-{taken.strftime(_STAMP)}-{kind}.db"
    while final.exists():  # two copies in one second: the second waits its turn by a second
        taken += timedelta(seconds=1)
        final = directory / f"edge-{taken.strftime(_STAMP)}-{kind}.db"
    partial = directory / (final.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        copy_database(source, partial)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from None
    backup = Backup(final, taken, kind)
    checksum = backup.checksum_path
    checksum.unlink(missing_ok=True)
    create_private_file(checksum, exist_ok=False)
    checksum.write_text(f"{sha256_file(partial)}  {final.name}\n", encoding="ascii")
    os.replace(partial, final)
    _fsync(directory)
    prune(directory)
    return backup


def fingerprint(path: Path) -> tuple[int, int, str | None] | None:
    """``(schema version, log head seq, head hash)`` of a database file, or None if unreadable."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            row = db.execute("SELECT seq, hash FROM logentry ORDER BY seq DESC LIMIT 1").fetchone()
        db.close()
    except sqlite3.Error:
        return None
    return (version, *(row or (0, None)))


def take_pre_upgrade(data_dir: Path, database: Path | None = None) -> Backup:
    """A ``pre-upgrade`` copy, unless the newest one already holds exactly this database
    (the upgrade script took it a moment ago, with the service stopped)."""
    source = database or data_dir / "edge.db"
    earlier = [b for b in listing(backup_dir(data_dir)) if b.kind == PRE_UPGRADE]
    current = fingerprint(source)
    if earlier and current is not None and fingerprint(earlier[-1].path) == current:
        return earlier[-1]
    return take(data_dir, PRE_UPGRADE, database=source)


def read_only_uri(path: Path) -> str:
    """The URI to read ``path`` without writing to it: ``immutable`` for a self-contained copy,
    plain read-only for a database beside its ``-wal`` (the set-aside ``edge.db.replaced-*``),
    whose newest entries live in the WAL until a checkpoint."""
    if path.with_name(path.name + "-wal").exists():
        return f"file:{path}?mode=ro"
    return f"file:{path}?mode=ro&immutable=1"


def verify(path: Path) -> str | None:
    """None when the copy matches the SHA-256 beside it (if any) and passes ``quick_check``."""
    if not path.is_file():
        return f"no such file: {path}"
    checksum = path.with_name(path.name + ".sha256")
    if checksum.exists():
        recorded = checksum.read_text(encoding="ascii", errors="replace").split()[:1]
        if recorded != [sha256_file(path)]:
            return (f"{path.name} does not match its recorded SHA-256 ({checksum.name}): "
                    "the file was changed or damaged")
    try:
        with sqlite3.connect(read_only_uri(path), uri=True) as copy:
            result = copy.execute("PRAGMA quick_check").fetchone()[0]
        copy.close()
    except sqlite3.Error as exc:
        return f"{path.name} is not a readable SQLite database ({exc})"
    return None if result == "ok" else f"{path.name} failed its integrity check ({result})"


def _iso_week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def retained(backups: Iterable[Backup]) -> set[Path]:
    """Which copies to keep: the newest of each of the last 7 days and the last 4 ISO weeks
    that have a daily copy, and the last 3 pre-upgrade copies. Pure; the rest may go.

    The daily and weekly sets overlap (this week's weekly copy is today's), as with restic's
    ``forget --keep-daily 7 --keep-weekly 4``: at most 11 daily copies, reaching 3 to 4 weeks back.
    """
    ordered = sorted(backups, key=lambda b: (b.taken_at, b.path.name), reverse=True)
    keep: set[Path] = set()
    days: dict[date, Path] = {}
    weeks: dict[tuple[int, int], Path] = {}
    for backup in (b for b in ordered if b.kind == DAILY):
        day = backup.taken_at.date()
        if day not in days and len(days) < KEEP_DAILY:
            days[day] = backup.path
        if _iso_week(day) not in weeks and len(weeks) < KEEP_WEEKLY:
            weeks[_iso_week(day)] = backup.path
    keep.update(days.values(), weeks.values())
    keep.update(b.path for b in [b for b in ordered if b.kind == PRE_UPGRADE][:KEEP_PRE_UPGRADE])
    return keep


def prune(directory: Path) -> list[Path]:
    """Delete the copies (and their checksums) that ``retained`` does not keep; return them."""
    found = listing(directory)
    keep = retained(found)
    removed = []
    for backup in found:
        if backup.path not in keep:
            backup.path.unlink(missing_ok=True)
            backup.checksum_path.unlink(missing_ok=True)
            removed.append(backup.path)
    return removed
