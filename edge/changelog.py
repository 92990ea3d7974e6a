"""The device's append-only, hash-chained, signed change log (the transactional outbox).

``ChangeLog.append`` must run inside the same write transaction as the change it records,
so a change and its entry are committed together or not at all.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.times import format_time
from sync.canonical import canonical_bytes
from sync.entry import GENESIS_PREV, entry_hash, make_entry
from sync.hlc import HybridClock

from .db import database
from .models import LogEntry


class ChangeLog:
    """Appends entries for one device; the database is the only state that matters."""

    def __init__(
        self,
        device_id: str,
        private_key: Ed25519PrivateKey,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.device_id = device_id
        self._key = private_key
        self._now = now
        last = LogEntry.select(LogEntry.line).order_by(LogEntry.seq.desc()).first()
        self.clock = HybridClock(json.loads(last.line)["hlc"] if last else None)

    def append(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Sign and store the next entry; call inside ``write_transaction``."""
        if not database.in_transaction():
            raise RuntimeError("change-log entries must be written inside the change's transaction")
        head = LogEntry.select(LogEntry.seq, LogEntry.hash).order_by(LogEntry.seq.desc()).first()
        seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS_PREV)
        entry = make_entry(
            device=self.device_id,
            seq=seq,
            prev=prev,
            at=format_time(self._now()),
            hlc=self.clock.now(),
            kind=kind,
            id=str(uuid.uuid4()),
            body=body,
            private_key=self._key,
        )
        LogEntry.create(
            seq=seq,
            id=entry["id"],
            kind=kind,
            hash=entry_hash(entry),
            line=canonical_bytes(entry).decode("utf-8"),
        )
        return entry


def head() -> tuple[int, str]:
    """The last entry's ``(seq, hash)``, or ``(0, 64 zeros)`` for an empty log."""
    last = LogEntry.select(LogEntry.seq, LogEntry.hash).order_by(LogEntry.seq.desc()).first()
    return (last.seq, last.hash) if last else (0, GENESIS_PREV)


def export_lines(after_seq: int = 0, batch: int = 1000) -> Iterator[str]:
    """The stored entries as JSON lines, oldest first, without loading the log into memory."""
    while True:
        rows = list(
            LogEntry.select(LogEntry.seq, LogEntry.line)
            .where(LogEntry.seq > after_seq)
            .order_by(LogEntry.seq)
            .limit(batch)
        )
        if not rows:
            return
        for row in rows:
            yield row.line
        after_seq = rows[-1].seq
