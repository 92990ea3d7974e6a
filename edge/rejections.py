"""Entries central acknowledged but would not apply: recorded as central said, reported until dismissed.

Central answers such an entry ``rejected`` with a reason (``malformed_body``,
``unknown_customer``, …) and queues it in its exceptions queue with the entry attached; the
sale or customer never reaches the brand ledger. The edge keeps each one here so that
``fidelis-edge sync`` fails, ``status`` counts it and ``doctor`` flags it until a technician,
having had head office look at central's exceptions queue, dismisses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from shared.times import format_time

from .db import database
from .models import RejectedEntry

SHOWN = 5  # rejections named in one message; the rest are counted
WHAT_TO_DO = ("have head office check central's exceptions queue ('fidelis-central exceptions list'), "
              "then run 'fidelis-edge log dismiss --all'")


@dataclass(frozen=True)
class Rejection:
    """One entry central refused: its seq and kind here, central's reason and message."""

    seq: int
    kind: str
    reason: str
    message: str
    rejected_at: str

    def describe(self) -> str:
        """``seq 12 sale.completed (malformed_body: lines[0]: sku …)``."""
        return f"seq {self.seq} {self.kind} ({self.reason}: {self.message})"

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "reason": self.reason, "message": self.message,
                "rejected_at": self.rejected_at}


def _text(value: Any, limit: int) -> str:
    # Central's words are shown on a terminal: keep them short and printable.
    text = value if isinstance(value, str) else ""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def record(results: Iterable[dict[str, Any]], kinds: dict[int, str], now: datetime) -> list[Rejection]:
    """Keep the push results central rejected (now or on an earlier, unheard reply); return the new ones.

    Call inside the write transaction that moves ``acked_seq``, so an acknowledged entry's
    rejection cannot be lost.
    """
    found = []
    for result in results:
        if "rejected" not in (result.get("status"), result.get("first_status")):
            continue
        seq = result.get("seq")
        if type(seq) is not int or RejectedEntry.get_or_none(RejectedEntry.seq == seq) is not None:
            continue
        rejection = Rejection(seq, kinds.get(seq, "?"), _text(result.get("reason"), 60) or "rejected",
                              _text(result.get("message"), 300), format_time(now))
        RejectedEntry.create(**rejection.as_json())
        found.append(rejection)
    return found


def outstanding() -> list[Rejection]:
    """Rejected entries not dismissed yet, oldest first."""
    query = (RejectedEntry.select().where(RejectedEntry.dismissed_at.is_null()).order_by(RejectedEntry.seq))
    return [Rejection(r.seq, r.kind, r.reason, r.message, r.rejected_at) for r in query]


def count() -> int:
    """How many rejected entries are not dismissed yet."""
    return database.execute_sql("SELECT count(*) FROM rejectedentry WHERE dismissed_at IS NULL").fetchone()[0]


def summary(rejections: list[Rejection]) -> str:
    """``central rejected 2 entries: seq 12 sale.completed (malformed_body: …), …``."""
    named = ", ".join(r.describe() for r in rejections[:SHOWN])
    more = f" and {len(rejections) - SHOWN} more" if len(rejections) > SHOWN else ""
    plural = "entry" if len(rejections) == 1 else "entries"
    return f"central rejected {len(rejections)} {plural}: {named}{more}"


def dismiss(seqs: list[int] | None, now: datetime) -> list[int]:
    """Mark the given rejections (``None``: all of them) as seen to; return the seqs dismissed."""
    query = RejectedEntry.select(RejectedEntry.seq).where(RejectedEntry.dismissed_at.is_null())
    if seqs is not None:
        query = query.where(RejectedEntry.seq.in_(seqs))
    found = [row.seq for row in query]
    if found:
        RejectedEntry.update(dismissed_at=format_time(now)).where(RejectedEntry.seq.in_(found)).execute()
    return found
