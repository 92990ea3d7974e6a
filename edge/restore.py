"""``fidelis-edge restore FILE``: put a backup copy back as the box's database.

A copy is checked before anything is touched: its recorded SHA-256, ``quick_check``, a schema
this software can read, and that it was made by this box (its first log entry carries the
public key of ``device_key.pem``, and its device id is the live database's). Then the rewind
question: the log is append-only and central holds what it has acknowledged, so a copy that
ends before that point would make the box sign new entries at sequence numbers central already
holds, a fork that stops sync until head office steps in. Such a copy is refused unless
``force``, and so is a copy made before the box was provisioned onto a provisioned box (it
would drop the enrolment). Central is the one the box is enrolled with now, else the copy's;
on a box never provisioned there is no one to fork from and the copy is restored.

The database being replaced is not deleted: it is moved aside as ``edge.db.replaced-STAMP``
(with its ``-wal``), so even the entries a restore gives up can still be recovered.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sync.entry import load_private_key, public_key_raw_b64

from . import storage
from .backups import BackupError, copy_database, read_only_uri, verify
from .box import DB_FILE, KEY_FILE
from .migrations import MIGRATIONS


@dataclass(frozen=True)
class Outcome:
    """What a restore did: the copy's log head, and where the replaced database went."""

    source: Path
    log_seq: int
    acknowledged: int | None
    acknowledged_by: str
    replaced: Path | None
    lost_entries: int


@dataclass(frozen=True)
class _Copy:
    device_id: str
    public_key: str | None
    head_seq: int
    acked_seq: int
    central_url: str | None


def _read_copy(path: Path) -> _Copy:
    try:
        with sqlite3.connect(read_only_uri(path), uri=True) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise BackupError(f"{path.name} was made by newer software (schema {version}, this software "
                                  f"knows {len(MIGRATIONS)}): upgrade fidelis first")
            settings = dict(db.execute("SELECT key, value FROM setting").fetchall())
            head = db.execute("SELECT COALESCE(MAX(seq), 0) FROM logentry").fetchone()[0]
            first = db.execute("SELECT line FROM logentry WHERE seq = 1").fetchone()
        db.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path.name} is not an edge database ({exc})") from None
    if "device_id" not in settings:
        raise BackupError(f"{path.name} is not an edge database (it has no device id)")
    public_key = json.loads(first[0])["body"].get("public_key") if first else None
    return _Copy(settings["device_id"], public_key, head, int(settings.get("acked_seq", "0")),
                 settings.get("central_url"))


@dataclass(frozen=True)
class _Live:
    """What the database being replaced says, when it can be read (a damaged one may not)."""

    head_seq: int | None = None
    acked_seq: int | None = None
    device_id: str | None = None
    central_url: str | None = None


def _live_state(db_path: Path) -> _Live:
    """What the live database still says: its settings and its log head are read apart, so a
    damaged log does not hide the enrolment (the usual reason to restore is a damaged database)."""
    if not db_path.exists():
        return _Live()

    def read(query: str) -> list[tuple] | None:
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                rows = db.execute(query).fetchall()
            db.close()
            return rows
        except sqlite3.Error:
            return None

    head = read("SELECT COALESCE(MAX(seq), 0) FROM logentry")
    found = read("SELECT key, value FROM setting WHERE key IN ('acked_seq', 'device_id', 'central_url')")
    settings = dict(found or ())
    acked = settings.get("acked_seq", "0" if found is not None else None)
    return _Live(head[0][0] if head else None, int(acked) if acked is not None and acked.isdigit() else None,
                 settings.get("device_id"), settings.get("central_url"))


def acknowledged(copy: _Copy, device_key, live: _Live) -> tuple[int | None, str]:
    """How far central has acknowledged this box's log, and who said so.

    Central itself when it answers (the central the box is enrolled with now, else the copy's);
    else the acknowledgement the live database recorded; else the one inside the copy.
    ``(None, "standalone")`` for a box never provisioned.
    """
    central_url = live.central_url or copy.central_url
    if not central_url:
        return None, "standalone"
    from sync.client import Offline, Refused, SyncClient

    try:
        head = SyncClient(central_url, copy.device_id, device_key, timeout=5).head()
        return int(head["seq"]), f"central ({central_url})"
    except (Offline, Refused) as exc:
        reason = f"central could not be asked: {exc}"
    if live.acked_seq is not None:
        return max(live.acked_seq, copy.acked_seq), f"this box's record ({reason})"
    return copy.acked_seq, f"the copy's own record ({reason})"


def restore(data_dir: Path, source: Path, *, force: bool = False) -> Outcome:
    """Replace ``<data-dir>/edge.db`` by the copy ``source``; the serving process must be stopped."""
    problem = verify(source)
    if problem:
        raise BackupError(problem)
    key_path = data_dir / KEY_FILE
    if not key_path.exists():
        raise BackupError(f"no device key at {key_path}: a copy can only be restored on the box that made it")
    key = load_private_key(key_path.read_bytes())
    copy = _read_copy(source)
    db_path = data_dir / DB_FILE
    live = _live_state(db_path)
    if copy.public_key is not None and copy.public_key != public_key_raw_b64(key):
        raise BackupError(f"{source.name} was made by another device ({copy.device_id}); this box's key differs")
    if copy.public_key is None and live.device_id is not None and copy.device_id != live.device_id:
        # An empty log names no key: the device id is all there is to tell whose copy it is.
        raise BackupError(f"{source.name} was made by another device ({copy.device_id}); this box is "
                          f"{live.device_id}")
    if live.central_url and not copy.central_url and not force:
        raise BackupError(f"{source.name} was made before this box was provisioned: restoring it would drop "
                          f"its enrolment with {live.central_url}. Use a copy made since; --force restores it "
                          "anyway (provision again afterwards; if central holds entries past the copy, sync "
                          "then stops on a fork)")
    acked, said_by = acknowledged(copy, key, live)
    if acked is not None and copy.head_seq < acked and not force:
        raise BackupError(
            f"{source.name} ends at log entry {copy.head_seq} but central has acknowledged {acked} "
            f"(according to {said_by}): restoring it would make this box sign entries central already "
            f"holds, a fork that stops sync. Use a newer copy, or --force if head office agrees")
    replaced = _move_aside(db_path)
    staging = data_dir / (DB_FILE + ".restoring")
    staging.unlink(missing_ok=True)
    copy_database(source, staging)
    os.replace(staging, db_path)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    storage.clear(data_dir)
    lost = max(0, (live.head_seq or 0) - copy.head_seq)
    return Outcome(source, copy.head_seq, acked, said_by, replaced, lost)


def _move_aside(db_path: Path) -> Path | None:
    """Rename the live database and its WAL files together, so the pair still opens."""
    if not db_path.exists():
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = db_path.with_name(f"{db_path.name}.replaced-{stamp}")
    for suffix in ("-wal", "-shm", ""):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            os.replace(part, target.with_name(target.name + suffix))
    return target
