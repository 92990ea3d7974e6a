"""``fidelis-edge doctor``: one line per thing a technician would check first, with the fix.

Every check returns a :class:`Check`; none raises, so one broken part never hides the others.
A check that cannot fail yet (no certificate made, a standalone box) reports ok and says so.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import NamedTuple

import requests
from peewee import DatabaseError

from sync.protocol import MAX_SKEW

from . import backups
from . import box as boxes
from . import rejections, storage, tls
from .changelog import head
from .db import database
from .syncer import client_for, setting

MIN_FREE_BYTES = 200 * 1024 * 1024
"""Below this much free space on the data directory's disk, sales will soon answer 507."""
BACKLOG_MAX_AGE = timedelta(hours=24)
BACKUP_MAX_AGE = timedelta(days=2)
RESTORE_FIX = ("stop the service (systemctl stop fidelis-edge), then 'fidelis-edge restore {backup}', "
               "then systemctl start fidelis-edge")


class Check(NamedTuple):
    """One line of the report: what was checked, whether it passed, what was seen, what to do."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        """``ok   name  detail`` or ``FAIL name  detail -> fix: …``."""
        text = f"{'ok  ' if self.ok else 'FAIL'} {self.name:<10} {self.detail}"
        return f"{text} -> fix: {self.fix}" if not self.ok and self.fix else text


def checks(data_dir: Path) -> list[Check]:
    """Database, keys, certificate, clock, central, rejected entries, disk, backlog, backups and devices."""
    try:
        box = boxes.load(data_dir)
    except boxes.BoxError as exc:
        return [Check("database", False, str(exc), _restore_fix(data_dir)), _disk(data_dir), _backups(data_dir)]
    results = [_database(data_dir), _keys(box), _certificate(data_dir)]
    results.extend(_clock_and_central(box))
    results += [_rejected(), _disk(data_dir), _backlog(), _backups(data_dir)]
    try:
        from .peripherals import device_report

        results.extend(Check(e["device"], e["ok"], e["detail"]) for e in device_report(box))
    except Exception as exc:  # noqa: BLE001  (a device probe must not hide the lines above)
        results.append(Check("devices", False, f"cannot probe the devices: {exc}", "fidelis-edge devices status"))
    return results


def _newest_good_backup(data_dir: Path) -> Path | None:
    for backup in reversed(backups.listing(backups.backup_dir(data_dir))):
        if backups.verify(backup.path) is None:
            return backup.path
    return None


def _restore_fix(data_dir: Path) -> str:
    good = _newest_good_backup(data_dir)
    if good is None:
        return "no good backup on this box: call support (the log is safe at central up to its last sync)"
    return RESTORE_FIX.format(backup=good)


def _database(data_dir: Path) -> Check:
    problem = storage.quick_check(database)
    if problem is None and storage.corrupt_reason() is None:
        journal = database.execute_sql("PRAGMA journal_mode").fetchone()[0]
        version = database.execute_sql("PRAGMA user_version").fetchone()[0]
        if journal != "wal":
            return Check("database", False, f"journal mode {journal}, not wal",
                         "restart the service: it sets WAL when it opens the database")
        return Check("database", True, f"ok, journal wal, schema {version}, log head seq {head()[0]}")
    if problem is None:
        return Check("database", False, f"marked corrupt by the running service ({storage.corrupt_reason()}) "
                     "but quick_check passes now", "restart the service (systemctl restart fidelis-edge): "
                     "it checks the database again at start")
    storage.mark_corrupt(data_dir, problem)
    return Check("database", False, f"CORRUPT, the box serves read-only: {problem}", _restore_fix(data_dir))


def _mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def _keys(box: boxes.EdgeBox) -> Check:
    mode = _mode(box.data_dir / boxes.KEY_FILE)
    if mode != 0o600:
        return Check("keys", False, f"device key mode {mode:o}, public key {box.public_key_b64}",
                     f"chmod 600 {box.data_dir / boxes.KEY_FILE}")
    return Check("keys", True, f"device key mode 600, public key {box.public_key_b64}")


def _certificate(data_dir: Path) -> Check:
    key, cert = tls.paths(data_dir)  # the pair the served till API uses (edge.tls)
    if not cert.exists() and not key.exists():
        return Check("tls", True, f"certificate not created yet ({cert})")
    if not cert.exists() or not key.exists():
        missing = cert if not cert.exists() else key
        return Check("tls", False, f"{missing} is missing", "re-create the pair: move the other file away and "
                     "restart the service, then give the tills the new fingerprint (fidelis-edge status)")
    if _mode(key) != 0o600:
        return Check("tls", False, f"TLS key mode {_mode(key):o}", f"chmod 600 {key}")
    return Check("tls", True, f"certificate and key present, key mode 600 ({cert})")


def _clock_and_central(box: boxes.EdgeBox) -> list[Check]:
    now = datetime.now(timezone.utc)
    last = box.changelog.clock.last
    if last and int(last.split("-")[0]) > now.timestamp() * 1000 + 5 * 60_000:
        clock = Check("clock", False, f"the wall clock is behind the change log ({last})",
                      "turn on NTP: timedatectl set-ntp true")
    else:
        clock = Check("clock", True, f"{now.isoformat(timespec='seconds')} (no central to compare with)")
    client = client_for(box, timeout=3)
    if client is None:
        return [clock, Check("central", True, "standalone (not provisioned)")]
    if clock.ok:
        clock = _skew(client.base_url) or clock
    return [clock, _central(client)]


def _skew(base_url: str) -> Check | None:
    """Compare the wall clock with the ``Date`` central's health answer carries."""
    try:
        sent = datetime.now(timezone.utc)
        response = requests.get(f"{base_url}/api/v1/health", timeout=3)
        received = datetime.now(timezone.utc)
        theirs = parsedate_to_datetime(response.headers["Date"])
    except (requests.RequestException, KeyError, TypeError, ValueError):
        return None  # the central line says why it cannot be reached
    skew = (sent + (received - sent) / 2) - theirs
    seconds = round(skew.total_seconds())
    if abs(skew) > MAX_SKEW / 2:
        return Check("clock", False, f"{seconds:+d} s against central; central refuses requests past "
                     f"{int(MAX_SKEW.total_seconds())} s", "turn on NTP: timedatectl set-ntp true")
    return Check("clock", True, f"{seconds:+d} s against central (within a second or so)")


def _central(client) -> Check:
    state = setting("sync_state")
    revoked_fix = "head office revoked this box: call them; a revoked box never syncs again"
    if state == "device_revoked":
        return Check("central", False, f"{client.base_url}: this device was REVOKED by head office", revoked_fix)
    if state == "fork":
        return Check("central", False, f"{client.base_url}: sync stopped on a fork",
                     "call support: head office resolves it (fidelis-central exceptions list)")
    from sync.client import Offline, Refused

    try:
        remote = client.head()
    except Offline as exc:
        return Check("central", False, f"{client.base_url}: unreachable ({exc})",
                     "check the network cable and that the box reaches the internet; sales go on offline")
    except Refused as exc:
        if exc.code == "device_revoked":
            return Check("central", False, f"{client.base_url}: this device was REVOKED by head office",
                         revoked_fix)
        return Check("central", False, f"{client.base_url}: refused ({exc.code})", "call support with this line")
    pending = head()[0] - remote["seq"]
    return Check("central", True, f"{client.base_url}: reachable, enrolment valid, {pending} entries "
                 "not yet acknowledged")


def _disk(data_dir: Path) -> Check:
    try:
        usage = shutil.disk_usage(data_dir)
    except OSError as exc:
        return Check("disk", False, f"cannot read {data_dir}: {exc}", "check the disk: dmesg | tail")
    free_mib = usage.free // (1024 * 1024)
    if not os.access(data_dir, os.W_OK):
        return Check("disk", False, f"{data_dir} is not writable (read-only file system?)",
                     "check the disk (dmesg | tail); a disk remounted read-only after errors needs replacing")
    if usage.free < MIN_FREE_BYTES:
        return Check("disk", False, f"{free_mib} MiB free on the data disk; sales answer 507 when it is full",
                     "free space: journalctl --vacuum-size=100M, remove old files; the box recovers by itself")
    return Check("disk", True, f"{free_mib} MiB free ({usage.free * 100 // usage.total} %)")


def _rejected() -> Check:
    found = rejections.outstanding()
    if not found:
        return Check("rejected", True, "central has rejected none of this box's entries")
    return Check("rejected", False, rejections.summary(found), rejections.WHAT_TO_DO)


def _backlog() -> Check:
    try:
        acked = int(setting("acked_seq", "0") or 0)
        pending = database.execute_sql("SELECT COUNT(*), MIN(seq) FROM logentry WHERE seq > ?", (acked,)).fetchone()
        oldest = None
        if pending[0]:
            at = database.execute_sql("SELECT json_extract(line, '$.at') FROM logentry WHERE seq = ?",
                                      (pending[1],)).fetchone()[0]
            oldest = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (DatabaseError, ValueError, TypeError) as exc:
        return Check("backlog", False, f"cannot read the log: {exc}", "see the database line")
    if not setting("central_url"):
        return Check("backlog", True, f"{pending[0]} entries, standalone (provision to send them to central)")
    if oldest is None:
        return Check("backlog", True, "nothing waiting: central has every entry")
    age = datetime.now(timezone.utc) - oldest
    hours = age.total_seconds() / 3600
    detail = f"{pending[0]} entries waiting, the oldest for {hours:.1f} h"
    if age > BACKLOG_MAX_AGE:
        return Check("backlog", False, detail, "see the central line: fix the network, then 'fidelis-edge sync'")
    return Check("backlog", True, detail)


def _backups(data_dir: Path) -> Check:
    found = backups.listing(backups.backup_dir(data_dir))
    fix = "check the timer (systemctl status fidelis-edge-backup.timer) and run 'fidelis-edge backup'"
    if not found:
        born = _first_entry_at()
        if born is not None and datetime.now(timezone.utc) - born > BACKUP_MAX_AGE:
            return Check("backups", False, "no backup on this box", fix)
        return Check("backups", True, "none yet (the daily timer makes the first)")
    newest = found[-1]
    problem = backups.verify(newest.path)
    if problem:
        return Check("backups", False, f"the newest copy is damaged: {problem}",
                     "run 'fidelis-edge backup'; if it fails too, the disk may be failing")
    age = datetime.now(timezone.utc) - newest.taken_at
    copies = f"{len(found)} {'copy' if len(found) == 1 else 'copies'}"
    detail = f"{copies}, newest {newest.path.name} ({age.total_seconds() / 3600:.0f} h old, checked)"
    if age > BACKUP_MAX_AGE:
        return Check("backups", False, detail, fix)
    return Check("backups", True, detail)


def _first_entry_at() -> datetime | None:
    try:
        row = database.execute_sql("SELECT json_extract(line, '$.at') FROM logentry WHERE seq = 1").fetchone()
        return datetime.fromisoformat(row[0].replace("Z", "+00:00")) if row else None
    except Exception:  # noqa: BLE001  (no readable database: no age to compare with)
        return None
