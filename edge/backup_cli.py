"""``fidelis-edge backup`` and ``fidelis-edge restore FILE``: the technician's safety net."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from .backups import DAILY, PRE_UPGRADE, BackupError, sha256_file, take
from .box import BoxError
from .restore import restore


def _hint(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_backup(args: argparse.Namespace) -> None:
    """Take a consistent, checked copy of the database and print its path."""
    if not (args.data_dir / "edge.db").exists():
        raise BoxError(f"no edge in {args.data_dir}: nothing to back up")
    kind = PRE_UPGRADE if args.pre_upgrade else DAILY
    try:
        backup = take(args.data_dir, kind, directory=Path(args.dir) if args.dir else None)
    except (BackupError, OSError) as exc:
        raise BoxError(f"backup failed: {exc}") from None
    if args.json:
        print(json.dumps({"path": str(backup.path), "kind": backup.kind,
                          "taken_at": backup.taken_at.isoformat().replace("+00:00", "Z"),
                          "sha256": sha256_file(backup.path)}))
    else:
        print(backup.path)


def cmd_restore(args: argparse.Namespace) -> None:
    """Put a copy back as the box's database (the service must be stopped)."""
    from .service import AlreadyServing, lock_data_dir  # the service module loads the web framework

    args.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        lock = lock_data_dir(args.data_dir)
    except AlreadyServing as exc:
        raise BoxError(str(exc)) from None
    try:
        outcome = restore(args.data_dir, Path(args.file), force=args.force)
    except (BackupError, OSError) as exc:
        raise BoxError(f"restore refused: {exc}") from None
    finally:
        lock.close()
    if args.json:
        print(json.dumps({"restored": str(outcome.source), "log_seq": outcome.log_seq,
                          "acknowledged_seq": outcome.acknowledged, "acknowledged_by": outcome.acknowledged_by,
                          "replaced": str(outcome.replaced) if outcome.replaced else None,
                          "lost_entries": outcome.lost_entries}))
        return
    print(f"restored {outcome.source} into {args.data_dir}: log head seq {outcome.log_seq}")
    if outcome.acknowledged is not None and outcome.log_seq < outcome.acknowledged:
        _hint(f"forced: central acknowledged up to {outcome.acknowledged}; sync will stop on a fork "
              "until head office resolves it (fidelis-central exceptions list)")
    if outcome.lost_entries:
        _hint(f"the replaced database had {outcome.lost_entries} more log entries; it is kept as "
              f"{outcome.replaced}")
    elif outcome.replaced:
        _hint(f"the replaced database is kept as {outcome.replaced}")


def add_backup_commands(commands, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``backup`` and ``restore`` on the ``fidelis-edge`` parser."""
    backup = add("backup", cmd_backup,
                 "a consistent, checked copy of the database (SQLite backup API, quick_check, sha256); "
                 "prints its path; keeps 7 daily, 4 weekly and 3 pre-upgrade copies",
                 "fidelis-edge backup")
    backup.add_argument("--dir", help="where to put the copy (default: <data-dir>/backups)")
    backup.add_argument("--pre-upgrade", action="store_true",
                        help="label the copy as taken before an upgrade (the last 3 are kept)")
    restore_command = add("restore", cmd_restore,
                          "put a backup copy back as the database; refuses a copy older than what central "
                          "has acknowledged (a rewind forks the log) unless --force; stop the service first",
                          "fidelis-edge restore /var/lib/fidelis/edge/backups/edge-20261201T020000Z-daily.db")
    restore_command.add_argument("file", help="the copy to restore (an edge-*.db file made by 'fidelis-edge backup')")
    restore_command.add_argument("--force", action="store_true",
                                 help="restore even a copy older than central's acknowledgement (forks the log)")

