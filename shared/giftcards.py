"""Gift cards: sold at the till for an amount, spent in full by one sale (seed B).

A card is worth ``amount`` until ``expires_at``. One sale uses it up, whatever it paid with it:
what the sale did not take is forfeited. Pure functions over the card's stored facts; the
rim stores the cards, makes the codes and keeps the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from .money import Money

DEFAULT_VALID_DAYS = 365
CODE = re.compile(r"^[A-Z0-9]{6,32}$")
"""A gift card code: 6 to 32 upper-case letters or digits (the till API upper-cases what it is given)."""

ACTIVE, USED, EXPIRED = "active", "used", "expired"
USED_CODE, INVALID_CODE = "gift_card_used", "gift_card_invalid"


@dataclass(frozen=True)
class GiftCard:
    """A card as a shop knows it. ``used`` once a sale has spent it."""

    code: str
    amount: Money
    expires_at: datetime
    used: bool = False

    def status(self, now: datetime) -> str:
        """``used`` once spent, ``expired`` past its date, else ``active``."""
        if self.used:
            return USED
        return EXPIRED if now >= self.expires_at else ACTIVE


def valid_days(raw: Any, check: Any) -> int:
    """The ``gift_cards`` section of a rules document: ``{"valid_days": N}`` (1–3650)."""
    if not isinstance(raw, dict):
        check.fail("gift_cards", "must be an object")
        return DEFAULT_VALID_DAYS
    for extra in sorted(set(raw) - {"valid_days"}):
        check.fail(f"gift_cards.{extra}", "unknown field")
    return check.integer(raw.get("valid_days", DEFAULT_VALID_DAYS), "gift_cards.valid_days", 1, 3650)


def expiry(issued_at: datetime, days: int) -> datetime:
    """When a card sold at ``issued_at`` stops being accepted: ``days`` later, to the second."""
    return issued_at.replace(microsecond=0) + timedelta(days=days)


def spend_problem(card: GiftCard | None, amount: Money, now: datetime) -> tuple[str, str] | None:
    """Why ``card`` cannot pay ``amount`` now, as ``(error code, message)``, or None when it can."""
    if card is None:
        return INVALID_CODE, "no gift card with this code is known here"
    status = card.status(now)
    if status == USED:
        return USED_CODE, f"gift card {card.code} has already been used"
    if status == EXPIRED:
        return INVALID_CODE, f"gift card {card.code} expired"
    if amount > card.amount:
        return INVALID_CODE, f"gift card {card.code} is worth {card.amount}; {amount} requested"
    return None


def forfeited(card_amount: Money, paid: Money) -> Money:
    """What a card loses when a sale takes ``paid`` of it: the rest of its value."""
    return max(0, card_amount - paid)


def codes_paid(payments: Any, method: str) -> Mapping[str, Money]:
    """``{code: amount}`` of the payments of ``method`` (each with a ``code``) in a sale."""
    found: dict[str, Money] = {}
    for payment in payments or ():
        if getattr(payment, "method", None) == method and getattr(payment, "code", None):
            found[payment.code] = found.get(payment.code, 0) + payment.amount
    return found
