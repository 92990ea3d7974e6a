"""A customer's balance at one moment, carried forward without folding the whole history.

Folding every movement on every sale costs more the longer a customer's history: a loyal
customer's ten-thousandth sale folded ten thousand movements. A ``Checkpoint`` is the fold at
one moment, reduced to what later folds need: the balance, the points the shop has let the
customer spend that central has not seen, and the *horizon*, the first moment a held lot
matures or expires. Until the horizon no held lot changes by itself, and every later movement
moves the balance by a fixed amount whatever the order:

- an earn adds its points to what is available once it has matured, to what is pending before;
- a debit takes its points from what is available (from the lots, or as debt when they do not
  cover it), since no held lot expires meanwhile to make the difference matter.

Whenever that reasoning does not hold — the horizon has passed, a later lot has already
expired, a reversal cancels a lot that is still pending (it takes from the pending points) or
one the checkpoint cannot place, a movement dated at or before the checkpoint (a clock set
back) — ``advance`` answers None and the caller folds the whole history again. So folding from
a checkpoint gives exactly what folding from scratch gives, at any later time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping

from .ledger import REDEEM, Balance, Movement, settled
from .money import Points


@dataclass(frozen=True)
class Checkpoint:
    """The fold of a customer's movements at ``at``."""

    at: datetime
    available: Points
    pending: Points
    expired: Points
    spent: Points  # redeemed here that central has not seen (``Account.spent_here``)
    horizon: datetime | None  # the first moment after ``at`` a held lot matures or expires

    @property
    def balance(self) -> Balance:
        return Balance(available=self.available, pending=self.pending, expired=self.expired)

    def advance(self, later: Iterable[Movement], now: datetime,
                starts: Mapping[str, datetime] | None = None) -> Checkpoint | None:
        """The checkpoint at ``now`` with ``later`` movements (all made after this one), or
        None when only a full fold can tell. ``starts`` gives when the lots that reversals
        among ``later`` cancel became spendable (a lot missing from it sends a full fold)."""
        if now < self.at or (self.horizon is not None and now >= self.horizon):
            return None
        available, pending, spent, horizon = self.available, self.pending, self.spent, self.horizon
        for m in later:
            if not self.at < m.at <= now:
                return None
            if m.points > 0:
                start = m.available_at or m.at
                ends = max(m.expires_at, start) if m.expires_at is not None else None
                if start < m.at or (ends is not None and ends <= now):
                    return None
                if start <= now:
                    available += m.points
                else:
                    pending += m.points
                for moment in (start if start > now else None, ends):
                    if moment is not None and (horizon is None or moment < horizon):
                        horizon = moment
            elif m.points < 0:
                if m.lot is not None:
                    start = (starts or {}).get(m.lot)
                    if start is None or start > m.at:
                        return None  # the reversal cancels a lot that is still pending, or unknown
                available += m.points
                if m.kind == REDEEM:
                    spent -= m.points
        return Checkpoint(now, available, pending, self.expired, spent, horizon)


def checkpoint(movements: Iterable[Movement], now: datetime, spent: Points) -> Checkpoint | None:
    """Fold ``movements`` at ``now`` into a checkpoint (``spent``: ``Account.spent_here``); None
    when one is dated after ``now`` (a clock set back): a fold at ``now`` leaves it out, a
    later fold would not, so no checkpoint at ``now`` can stand for them."""
    movements = list(movements)
    if any(m.at > now for m in movements):
        return None
    found, horizon = settled(movements, now)
    return Checkpoint(now, found.available, found.pending, found.expired, spent, horizon)
