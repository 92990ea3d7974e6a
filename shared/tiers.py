"""Tiers: central decides them from brand-wide qualifying spend; an edge may only raise one.

Qualifying spend is the eligible amount of a customer's sales less what returns took back,
over the customer's life or the last 365 days (``tier_qualification.period``). Central,
which sees every shop's sales, is the only one to decide a tier. An edge that sells while
central cannot see it may upgrade a customer on its own figures, provisionally: it never
lowers a tier, and central's next word replaces its guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Iterable, Sequence

from .engine import Line, earn
from .money import Money
from .rules import RuleSet, Tier

ROLLING_WINDOW = timedelta(days=365)


def window_start(rules: RuleSet, now: datetime) -> datetime | None:
    """The first instant whose sales count toward a tier at ``now`` (None: every sale counts)."""
    return now - ROLLING_WINDOW if rules.tier_period == "rolling_12_months" else None


def qualifying_spend(sales: Iterable[tuple[datetime, Money]], rules: RuleSet, now: datetime) -> Money:
    """The spend that decides the tier at ``now``: ``(at, qualifying amount)`` per sale."""
    start = window_start(rules, now)
    return sum(amount for at, amount in sales if at <= now and (start is None or at >= start))


def decided_tier(rules: RuleSet, spend: Money) -> str | None:
    """The tier central gives for this qualifying spend (None when the rules have no tiers)."""
    tier = rules.tier_for_spend(spend)
    return tier.name if tier else None


def provisional_tier(rules: RuleSet, central_tier: str | None, spend: Money) -> str | None:
    """What an edge shows before central has seen its sales: central's tier, raised (never
    lowered) to the one the edge's own estimate of the spend reaches."""
    reached = rules.tier_for_spend(spend)
    known = rules.tier(central_tier)
    if reached is not None and (known is None or reached.threshold > known.threshold):
        return reached.name
    return central_tier


def spend_returned(kept_before: Sequence[Line], kept_after: Sequence[Line], points_paid_value: Money,
                   rules: RuleSet, tier: Tier | None, rate: Fraction | None = None) -> Money:
    """What a return takes off qualifying spend: the eligible amount of the lines kept before
    it less that of the lines kept after it, under the sale's own rules and exchange rate
    (never negative)."""
    before = earn(kept_before, points_paid_value, rules, tier, rate).eligible_amount
    after = earn(kept_after, points_paid_value, rules, tier, rate).eligible_amount
    return max(0, before - after)
