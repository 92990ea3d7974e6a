"""Expiry as central records it, and what a customer is about to lose.

Balances already let points lapse on their own dates (``shared.ledger``): a lot's points that
nothing spent are gone at its ``expires_at``. Central's job (``fidelis-central jobs run``)
writes that down once per lot, as an *expiry* — the lot, the points it lost and when — so head
office and the shops see it happen; recording one changes no balance. ``expiries`` says which
lots have lapsed by a moment and with how much; ``expiring`` what is due to lapse soon.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from .ledger import Holdings, Movement, outcome
from .money import Points

EXPIRING_DAYS = 90
"""How far ahead the customer object's ``expiring`` list looks."""


@dataclass(frozen=True)
class Expiry:
    """One lot that lapsed: the points nothing spent from it, at the moment it expired."""

    lot: str
    points: Points
    at: datetime


def expiries(movements: Iterable[Movement], now: datetime) -> list[Expiry]:
    """Every lot expired by ``now``, with the points it held when it expired (0 when spent).

    A lot's outcome depends on nothing after it expires, so this never changes for a lot once
    it is past: an expiry recorded once stays true whatever arrives later.
    """
    found = [Expiry(lot.ref, lot.left, lot.expires_at) for lot in outcome(movements).lots
             if lot.expires_at is not None and lot.expires_at <= now]
    return sorted(found, key=lambda e: (e.at, e.lot))


def expiring(holdings: Holdings, now: datetime, days: int = EXPIRING_DAYS) -> list[dict]:
    """``[{"points", "at"}]``: the points held at ``now`` that will expire within ``days`` unless
    spent, per moment, soonest first. Pending points count (they lapse on their own dates), less
    what they will repay of a debt when they mature."""
    horizon = now + timedelta(days=days)
    due: dict[datetime, Points] = defaultdict(int)
    for lot in outcome(holdings.movements()).lots:
        if lot.expires_at is not None and now < lot.expires_at <= horizon and lot.left > 0:
            due[lot.expires_at] += lot.left
    return [{"points": points, "at": at} for at, points in sorted(due.items())]
