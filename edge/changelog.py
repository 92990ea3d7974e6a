"""The device's append-only, hash-chained, signed change log (the transactional outbox).

``ChangeLog.append`` must run inside the same write transaction as the change it records,
so a change and its entry are committed together or not at all. It signs only bodies that
central accepts (``sync.kinds``): a signed entry can never be taken back, so a body central
would refuse must be stopped here, before it exists.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.times import format_time
from sync import bodies, kinds
from sync.entry import GENESIS_PREV, seal_entry
from sync.hlc import HybridClock

from .db import database
from .models import LogEntry, fast_insert


class UnsignableBody(RuntimeError):
    """A body central would refuse reached the change log: a bug, since requests are checked first."""


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

    def next_seq(self) -> int:
        """The seq the next ``append`` in this write transaction will get."""
        return head()[0] + 1

    def append(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Check, sign and store the next entry; call inside ``write_transaction``.

        Raises ``UnsignableBody`` (and signs nothing) when ``body`` is not one central accepts
        for ``kind``: whatever took the change from outside must have refused it already.
        """
        try:
            kinds.check(kind, body)
        except bodies.BodyError as exc:
            raise UnsignableBody(f"refusing to sign a {kind} entry central would refuse: {exc}") from None
        return self._write(kind, body)

    def write(self, body: bodies.EntryBody) -> dict[str, Any]:
        """Check, sign and store ``body`` as an entry of its kind (``append``, from the class
        central reads it back with); call inside ``write_transaction``."""
        return self.append(body.KIND, body.body())

    def _write(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Sign and store the next entry as it is, unchecked (``append`` checks first)."""
        if not database.in_transaction():
            raise RuntimeError("change-log entries must be written inside the change's transaction")
        last_seq, prev = head()
        seq = last_seq + 1
        sealed = seal_entry(
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
        fast_insert(LogEntry, seq=seq, id=sealed.entry["id"], kind=kind, hash=sealed.hash,
                    line=sealed.line.decode("utf-8"))
        return sealed.entry


def head() -> tuple[int, str]:
    """The last entry's ``(seq, hash)``, or ``(0, 64 zeros)`` for an empty log."""
    row = database.execute_sql("SELECT seq, hash FROM logentry ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS_PREV)


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
