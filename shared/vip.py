"""VIP cards: a discount rate until an end date, bound to one customer (vendor seed B).

Head office issues a card (``POST /api/v1/customers/{id}/vip``); its code starts ``#VIP#``
(a brand that printed its own cards gives their codes). At the till the sale names the card
(``"vip_code"``); while the card is valid its rate is the customer's line discount, worked out
like a tier's: when the customer's tier gives a discount too, the larger of the two rates
applies, never both. Central works each sale's discount out again from the card it issued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from .rules import Tier

PREFIX = "#VIP#"
CODE = re.compile(r"^#VIP#[A-Za-z0-9]{1,27}$")
"""``#VIP#`` and 1 to 27 letters or digits: at most 32 characters, a card number's limit."""


@dataclass(frozen=True)
class VipCard:
    """A VIP card as issued: valid through ``until`` (a UTC date, included)."""

    code: str
    customer_id: str
    discount_percent: int
    until: date

    def valid_at(self, at: datetime) -> bool:
        """Whether the card gives its discount to a sale at ``at``."""
        return at.astimezone(timezone.utc).date() <= self.until


def code_problem(code: object) -> str | None:
    """Why ``code`` cannot be a VIP card's code, or None."""
    if not isinstance(code, str) or not CODE.match(code):
        return f"must be {PREFIX} followed by 1 to 27 letters or digits, such as #VIP#0042"
    return None


def with_vip(tier: Tier | None, percent: int) -> Tier | None:
    """The tier a sale is priced with when a VIP card gives ``percent`` off (0: no card)."""
    if not percent:
        return tier
    if tier is None:
        return Tier("VIP", 0, percent, 0)
    return Tier(tier.name, tier.threshold, max(tier.discount_percent, percent), tier.extra_earn_percent)
