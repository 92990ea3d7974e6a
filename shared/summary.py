"""A running summary of a customer's movements that often answers the balance without a fold.

Central keeps one per customer on the customer row (a cache, always rebuildable from the
movements) so that a push need not read a customer's history.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ledger import EPOCH, Holdings, Lot


@dataclass(slots=True)
class Summary:
    """What a customer's movements add up to, kept on the customer row (a rebuildable cache).

    When none of the movements lies in the future and none ever expires, every lot is
    spendable and debits only move points between lots and debt, so the balance is exactly
    ``total``: a push then needs no read of the customer's history. Otherwise the movements
    are folded with ``shared.ledger.balance``. A property test checks the two agree, and
    ``rebuild_summaries`` recomputes every summary from the movements.
    """

    total: int = 0
    last_at: str | None = None
    last_available: str | None = None
    expiring: int = 0

    def add(self, points: int, at: str, available_at: str | None, expires_at: str | None) -> None:
        """Count one more movement (times in ``format_time`` form, which sorts as text)."""
        self.total += points
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        start = available_at or at
        if points > 0 and (self.last_available is None or start > self.last_available):
            self.last_available = start
        if expires_at is not None:
            self.expiring += 1

    def holdings(self, stamp: str) -> Holdings | None:
        """The holdings at ``stamp`` if the short cut holds (one lot, or a debt), else None."""
        if self.expiring or (self.last_at or "") > stamp or (self.last_available or "") > stamp:
            return None
        if self.total > 0:
            return Holdings((Lot("balance", self.total, EPOCH, None),), 0)
        return Holdings((), -self.total)

    def values(self) -> tuple:
        return (self.total, self.last_at, self.last_available, self.expiring)
