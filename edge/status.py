"""What ``fidelis-edge status`` and ``GET /api/v1/status`` report."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from peewee import DatabaseError

from . import rejections, rulebook, storage, tls
from .box import EdgeBox
from .changelog import head
from .models import LogEntry
from .syncer import setting


def _fingerprint(box: EdgeBox) -> str | None:
    try:
        return tls.fingerprint(box.data_dir)
    except tls.TlsError:  # doctor says what is wrong; status still answers
        return None


def status(box: EdgeBox) -> dict[str, Any]:
    """Identity, log head, pending entries, sync state, the rules in force and the database's state.

    On a corrupt database whatever cannot be read is reported as None rather than failing.
    """
    identity = {"store": box.store_code, "device_id": box.device_id, "device_public_key": box.public_key_b64,
                "fingerprint": _fingerprint(box)}
    try:
        report = {**identity, **_ledger_state()}
    except DatabaseError as exc:
        if storage.classify(exc) != storage.DATABASE_CORRUPT:
            raise
        storage.mark_corrupt(box.data_dir, f"SQLite: {exc}")
        report = {**identity, "central": None, "log_head": {"seq": None, "hash": None}, "acked_seq": None,
                  "pending_entries": None, "rejected_entries": None, "last_sync": None, "sync_state": "stopped", "rules_version": None,
                  "online": False}
    report["database"] = storage.state()
    return report


def _ledger_state() -> dict[str, Any]:
    seq, digest = head()
    acked_seq = int(setting("acked_seq", "0"))
    try:
        rules_version = rulebook.in_force(datetime.now(timezone.utc)).version
    except rulebook.NoRules:
        rules_version = None
    return {
        "central": setting("central_url"),
        "log_head": {"seq": seq, "hash": digest},
        "acked_seq": acked_seq,
        "pending_entries": LogEntry.select().where(LogEntry.seq > acked_seq).count(),
        "rejected_entries": rejections.count(),
        "last_sync": setting("last_sync_at"),
        "sync_state": setting("sync_state", "standalone" if not setting("central_url") else "never_synced"),
        "rules_version": rules_version,
        "online": setting("online") == "1",
    }
