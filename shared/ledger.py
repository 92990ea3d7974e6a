"""Ledger maths: balances are folds over point movements, never stored counters.

A customer's points are *lots*: each earn (or positive adjustment) is a lot that becomes
spendable at ``available_at`` and may expire at ``expires_at``. Debits (redemptions,
reversals, negative adjustments) consume the oldest spendable lots first (FIFO by expiry,
then by availability). A debit larger than what is spendable leaves a *debt* — a negative
balance, as when two shops spend the same points offline — which later lots repay first.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from .money import Points
from .rules import RuleSet

EARN, REDEEM, REVERSE, ADJUST = "earn", "redeem", "reverse", "adjust"
KINDS = (EARN, REDEEM, REVERSE, ADJUST)


@dataclass(frozen=True)
class Movement:
    """One ledger entry.

    ``points`` is positive for earn and positive adjustments, negative for redeem, reverse
    and negative adjustments. ``lot`` names the earn a reversal cancels (its ``ref``).
    """

    kind: str
    points: Points
    at: datetime
    ref: str
    available_at: datetime | None = None
    expires_at: datetime | None = None
    lot: str | None = None


@dataclass(frozen=True)
class Balance:
    """A customer's points at one moment. ``available`` is negative when in debt."""

    available: Points
    pending: Points
    expired: Points

    @property
    def negative(self) -> bool:
        return self.available < 0


def available_from(rules: RuleSet, earned_at: datetime) -> datetime:
    """When points earned at ``earned_at`` become spendable under ``rules.accrual``."""
    if rules.accrual_day_of_next_month is not None:
        first = _first_of_next_month(earned_at)
        return first.replace(day=rules.accrual_day_of_next_month)
    return earned_at + timedelta(days=rules.accrual_delay_days or 0)


def expires_at(rules: RuleSet, available_at: datetime) -> datetime | None:
    """When points that became spendable at ``available_at`` expire (None: never)."""
    if rules.expiry_policy == "end_of_month":
        return _first_of_next_month(available_at)
    if rules.expiry_policy == "end_of_year":
        return datetime(available_at.astimezone(timezone.utc).year + 1, 1, 1, tzinfo=timezone.utc)
    if rules.expiry_policy == "after_days":
        return available_at + timedelta(days=rules.expiry_days or 0)
    return None


def _first_of_next_month(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    days = calendar.monthrange(moment.year, moment.month)[1]
    last = moment.replace(day=days, hour=0, minute=0, second=0, microsecond=0)
    return last + timedelta(days=1)


@dataclass
class _Lot:
    ref: str
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    state: str = "pending"  # pending -> available -> expired
    repaid: int = 0  # what the lot paid off the debt when it became available
    expired: int = 0  # what the lot still held when it expired

    def __post_init__(self) -> None:
        self.points = self.remaining  # what the lot was opened with

    def order(self) -> tuple:
        # Oldest-expiring first; lots that never expire are spent last.
        return (self.expires_at is None, self.expires_at or self.available_at, self.available_at, self.ref)


def balance(movements: Iterable[Movement], now: datetime) -> Balance:
    """Fold movements up to ``now`` into a balance.

    Events at the same instant apply in this order: lots becoming available, lots expiring,
    then debits, so a lot that expires at ``t`` cannot pay for a debit at ``t``.
    """
    lots, debt, expired = _fold(movements, now)
    available = sum(lot.remaining for lot in lots.values() if lot.state == "available") - debt
    pending = sum(lot.remaining for lot in lots.values() if lot.state == "pending")
    return Balance(available=available, pending=pending, expired=expired)


def settled(movements: Iterable[Movement], now: datetime) -> tuple[Balance, datetime | None]:
    """The balance at ``now`` and the first moment after it when a held lot matures or
    expires (None: no lot ever will), the moment until which no lot changes by itself."""
    lots, debt, expired = _fold(movements, now)
    available = sum(lot.remaining for lot in lots.values() if lot.state == "available") - debt
    pending = sum(lot.remaining for lot in lots.values() if lot.state == "pending")
    moments = [lot.available_at if lot.state == "pending" else lot.expires_at
               for lot in lots.values() if lot.remaining > 0 and lot.state != "expired"]
    found = [moment for moment in moments if moment is not None]
    return Balance(available=available, pending=pending, expired=expired), min(found, default=None)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""When carried-over holdings happened: before anything they are folded with."""


@dataclass(frozen=True)
class Lot:
    """Points of one earn still held at some moment: pending or spendable, not expired."""

    ref: str
    points: Points
    available_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Holdings:
    """What a customer holds at one moment: open lots and a debt (lots never cover a debt).

    Folding ``movements()`` with later movements at any later time gives the same balance
    as folding the whole history: the lots mature and expire on their own dates. Central
    sends a customer's holdings so an edge's balance moves with the edge's own clock.
    """

    lots: tuple[Lot, ...] = ()
    debt: Points = 0

    def movements(self) -> list[Movement]:
        """The holdings as movements dated ``EPOCH``, to fold with later ones."""
        found = [Movement(EARN, lot.points, EPOCH, lot.ref, lot.available_at, lot.expires_at) for lot in self.lots]
        if self.debt:
            found.append(Movement(REDEEM, -self.debt, EPOCH, "carried-debt"))
        return found

    def balance(self, at: datetime) -> Balance:
        """The balance at the moment the holdings were taken (``at``)."""
        available = sum(lot.points for lot in self.lots if lot.available_at <= at) - self.debt
        pending = sum(lot.points for lot in self.lots if lot.available_at > at)
        return Balance(available=available, pending=pending, expired=0)


def holdings(movements: Iterable[Movement], now: datetime) -> Holdings:
    """The open lots and debt of movements folded up to ``now``."""
    lots, debt, _ = _fold(movements, now)
    open_lots = sorted(
        (Lot(lot.ref, lot.remaining, lot.available_at, lot.expires_at)
         for lot in lots.values() if lot.remaining > 0 and lot.state != "expired"),
        key=lambda lot: (lot.available_at, lot.ref),
    )
    return Holdings(tuple(open_lots), debt)


END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class LotOutcome:
    """What becomes of one lot once every known movement has been folded.

    ``left`` is what the lot holds after every debit that reaches it: the points that expire
    at ``expires_at`` (the moment it expires: never before it is available), or that stay
    outstanding for good when it never expires. ``repaid`` is what it paid off the debt when
    it became available at ``available_at``.
    """

    ref: str
    points: Points
    available_at: datetime
    expires_at: datetime | None
    left: Points
    repaid: Points


@dataclass(frozen=True)
class Outcome:
    """Every lot's outcome and the debt no lot will ever cover, as the movements stand.

    With no further movement, for any moment ``t`` at or after the last one: the pending
    points are the ``left + repaid`` of lots available after ``t``; the spendable points are
    the ``left`` of lots available by ``t`` and not expired by then, less ``debt`` and less the
    ``repaid`` of the pending lots. For any moment at all, the points expired by ``t`` are the
    ``left`` of the lots expired by ``t``: a lot's outcome depends on nothing after it expires.
    """

    lots: tuple[LotOutcome, ...]
    debt: Points


def outcome(movements: Iterable[Movement]) -> Outcome:
    """Fold the movements to the end of time: what each lot ends with, and the debt left over.

    ``sum(left) - debt`` equals the sum of the movements' points.
    """
    lots, debt, _ = _fold(movements, END_OF_TIME)
    found = tuple(LotOutcome(lot.ref, lot.points, lot.available_at,
                             max(lot.expires_at, lot.available_at) if lot.expires_at is not None else None,
                             lot.remaining + lot.expired, lot.repaid)
                  for lot in lots.values())
    return Outcome(found, debt)


def _fold(movements: Iterable[Movement], now: datetime) -> tuple[dict[str, _Lot], int, int]:
    """The lots, the debt and the points expired after every event up to ``now``."""
    lots: dict[str, _Lot] = {}
    # (time, phase, tie-break, item): ties break on the lot's FIFO order or the movement's
    # ref, never on list position, so the same movements in any order fold the same.
    events: list[tuple[datetime, int, tuple, object]] = []
    for m in movements:
        if m.at > now:
            continue  # not happened yet
        if m.points > 0:
            start = m.available_at or m.at
            lot = _Lot(m.ref, m.points, start, m.expires_at)
            lots[m.ref] = lot
            events.append((start, 0, lot.order(), lot))
            if m.expires_at is not None:
                events.append((max(m.expires_at, start), 1, lot.order(), lot))
        elif m.points < 0:
            events.append((m.at, 2, (m.ref,), m))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    debt = expired = 0
    for when, order, _, item in events:
        if when > now:
            break
        if order == 0:
            item.state = "available"
            repaid = min(debt, item.remaining)
            item.remaining -= repaid
            item.repaid = repaid
            debt -= repaid
        elif order == 1:
            if item.state == "available":
                expired += item.remaining
                item.expired = item.remaining
                item.remaining = 0
                item.state = "expired"
        else:
            debt += _debit(lots, item)
    return lots, debt, expired


def _debit(lots: dict[str, _Lot], movement: Movement) -> int:
    """Take ``-movement.points`` from the lots; return what could not be covered."""
    owed = -movement.points
    own = lots.get(movement.lot) if movement.lot else None
    if own is not None and own.state != "expired":
        # A reversal cancels its own lot first, pending or not.
        taken = min(owed, own.remaining)
        own.remaining -= taken
        owed -= taken
    for lot in sorted((lot for lot in lots.values() if lot.state == "available"), key=_Lot.order):
        if owed == 0:
            break
        taken = min(owed, lot.remaining)
        lot.remaining -= taken
        owed -= taken
    return owed
