"""The earning and spending engine: what a basket earns, what points may pay, what a return reverses.

Everything here is a pure function of the lines, the payments, the rule set and what the
caller says the customer may spend. ``price_sale`` reports problems instead of raising, so the
rim can answer with the right 422 and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from .currency import to_brand

from .money import Money, Points, floor_div
from .rules import RuleSet, Tier


@dataclass(frozen=True)
class Line:
    """One basket line. ``discount`` is the money taken off the whole line, not per unit."""

    sku: str
    qty: int
    unit_price: Money
    discount: Money = 0
    category: str | None = None
    reward: bool = False

    @property
    def total(self) -> Money:
        return self.qty * self.unit_price - self.discount


STORED_VALUE = ("wallet", "gift_card", "voucher")
"""Payment methods that spend money held in the brand currency (never a sale in another one)."""


@dataclass(frozen=True)
class Payment:
    """A payment: money (``amount``) or, for method ``points``, a number of ``points``.

    A ``gift_card`` or ``voucher`` payment is money too, and names the card or voucher (``code``).
    """

    method: str
    amount: Money = 0
    points: Points = 0
    code: str | None = None

    @property
    def is_points(self) -> bool:
        return self.method == "points"


@dataclass(frozen=True)
class RewardOffer:
    sku: str
    name: str
    cost: Points
    affordable: bool


@dataclass(frozen=True)
class Earning:
    """What a set of lines earns: eligible spend and the points from each source."""

    eligible_amount: Money
    spend_points: Points
    item_points: Points
    tier_points: Points
    original_eligible: Money | None = None  # a sale in another currency: eligible spend in its minor units

    @property
    def points(self) -> Points:
        return self.spend_points + self.item_points + self.tier_points


@dataclass(frozen=True)
class Quote:
    """The priced basket. ``total`` is after every discount; ``tier_discounts`` has one
    amount per line, in the order of the lines."""

    total: Money
    earning: Earning
    points_paid: Points
    reward_points: Points
    max_points_redeemable: Points
    rewards: tuple[RewardOffer, ...]
    tier_discounts: tuple[Money, ...] = ()

    @property
    def tier_discount(self) -> Money:
        """The tier discount of the whole basket."""
        return sum(self.tier_discounts)

    @property
    def eligible_amount(self) -> Money:
        return self.earning.eligible_amount

    @property
    def points_to_earn(self) -> Points:
        return self.earning.points

    @property
    def points_redeemed(self) -> Points:
        """Every point the sale takes from the balance: points payments plus rewards."""
        return self.points_paid + self.reward_points


@dataclass(frozen=True)
class SaleProblem:
    """A business reason to refuse a sale; ``code`` is the API error code."""

    code: str
    message: str


def tier_discount(line: Line, tier: Tier | None) -> Money:
    """The tier's discount on one line: floor((qty × unit_price − discount) × pct / 100).

    Reward lines are never discounted; no tier, or a 0 % tier, discounts nothing.
    """
    if tier is None or not tier.discount_percent or line.reward:
        return 0
    return max(0, floor_div(line.total * tier.discount_percent, 100))


def tier_discounts(lines: Sequence[Line], tier: Tier | None) -> tuple[Money, ...]:
    """``tier_discount`` of each line, in order."""
    return tuple(tier_discount(line, tier) for line in lines)


def basket_total(lines: Sequence[Line], tier: Tier | None = None) -> Money:
    """Σ(qty × unit_price − discount − tier discount) over every line."""
    return sum(line.total - tier_discount(line, tier) for line in lines)


def earn(lines: Sequence[Line], points_paid_value: Money, rules: RuleSet, tier: Tier | None,
         rate: Fraction | None = None) -> Earning:
    """Points earned by ``lines`` when ``points_paid_value`` of the sale was paid with points.

    Eligible spend is the total after both discounts of the lines that may earn (not
    rewards, not excluded categories, not discounted lines when ``exclude_discounted``),
    converted to the brand currency at ``rate`` when the sale is in another currency
    (``shared.currency``), minus the money value of the points paid, never below zero.
    Per-item points apply to every non-reward line.
    """
    original = sum(line.total - tier_discount(line, tier) for line in lines if _earns_on_spend(line, rules, tier))
    eligible = max(0, to_brand(original, rate) - points_paid_value)
    spend_points = floor_div(eligible * rules.earn_rate, 100)
    item_points = sum(line.qty * rules.per_item.get(line.sku, 0) for line in lines if not line.reward)
    tier_points = 0
    if tier is not None and tier.extra_earn_percent:
        tier_points = floor_div(eligible * tier.extra_earn_percent, 100 * rules.point_value)
    return Earning(eligible, spend_points, item_points, tier_points, original if rate is not None else None)


def _earns_on_spend(line: Line, rules: RuleSet, tier: Tier | None) -> bool:
    if line.reward:
        return False
    # Every line of a discounting tier counts as discounted, even one so cheap that its
    # discount rounds to 0: returning part of a line then never makes it earn more.
    if rules.exclude_discounted and (line.discount > 0 or (tier is not None and tier.discount_percent > 0)):
        return False
    return line.category not in rules.exclude_categories


def redeemable_value_cap(lines: Sequence[Line], rules: RuleSet, tier: Tier | None = None) -> Money:
    """The most money points may pay for in this basket (share cap and cash-line rule)."""
    total = basket_total(lines, tier)
    cap = floor_div(total * rules.max_share_percent, 100)
    if rules.require_cash_line:
        paid_lines = [net for line in lines if not line.reward and (net := line.total - tier_discount(line, tier)) > 0]
        cap = min(cap, total - min(paid_lines)) if paid_lines else 0
    return max(0, cap)


def price_sale(
    lines: Sequence[Line],
    payments: Sequence[Payment] | None,
    rules: RuleSet,
    *,
    spendable: Points | None,
    tier: Tier | None,
    rate: Fraction | None = None,
) -> tuple[Quote, list[SaleProblem]]:
    """Price a basket and check the payments against the rules.

    ``spendable`` is what the customer may spend at this moment (``None`` for an anonymous
    sale). ``tier`` is the customer's tier: its discount comes off each line and the
    payments must cover the total after it. ``payments=None`` quotes without checking that
    payments cover the total. Returns the quote and the problems, most fundamental first; an
    empty list means the sale may be committed. ``rate`` converts a sale in another currency
    to the brand's (``shared.currency``); points, worth brand money, never pay such a sale.
    """
    problems: list[SaleProblem] = []
    discounts = tier_discounts(lines, tier)
    total = basket_total(lines) - sum(discounts)
    points_paid = sum(p.points for p in payments or () if p.is_points)
    points_value = points_paid * rules.point_value
    reward_points = 0
    reward_lines = [line for line in lines if line.reward]
    for line in reward_lines:
        reward = rules.reward(line.sku)
        if reward is None:
            problems.append(SaleProblem("unknown_reward", f"{line.sku} is not in the rewards catalogue"))
        else:
            reward_points += line.qty * reward.cost
    if rules.one_reward_per_sale and sum(line.qty for line in reward_lines) > 1:
        problems.append(SaleProblem("reward_limit_exceeded", "only one reward may be claimed per sale"))

    balance = spendable if spendable is not None else 0
    value_cap = redeemable_value_cap(lines, rules, tier)
    if spendable is None or balance < rules.min_balance or rate is not None:
        max_redeemable = 0
    else:
        max_redeemable = max(0, min(balance - reward_points, value_cap // rules.point_value))
    offers = tuple(
        RewardOffer(r.sku, r.name, r.cost, spendable is not None and balance >= max(r.cost, rules.min_balance))
        for r in rules.rewards
    )
    quote = Quote(
        total=total,
        earning=earn(lines, points_value, rules, tier, rate),
        points_paid=points_paid,
        reward_points=reward_points,
        max_points_redeemable=max_redeemable,
        rewards=offers,
        tier_discounts=discounts,
    )

    redeemed = points_paid + reward_points
    if points_paid and rate is not None:
        problems.append(SaleProblem("currency_not_payable_with_points",
                                    "points pay only for sales in the brand currency"))
    if rate is not None and any(p.method in STORED_VALUE for p in payments or ()):
        problems.append(SaleProblem("currency_not_payable_with_stored_value",
                                    "the wallet, gift cards and vouchers hold the brand currency; they pay only "
                                    "for sales in it"))
    if redeemed and spendable is None:
        problems.append(SaleProblem("customer_required", "points can only be spent by a known customer"))
    elif redeemed and balance < rules.min_balance:
        problems.append(
            SaleProblem(
                "insufficient_points",
                f"a balance of at least {rules.min_balance} points is needed to redeem (has {balance})",
            )
        )
    elif redeemed > balance:
        problems.append(SaleProblem("insufficient_points", f"{redeemed} points needed, {balance} spendable"))
    if points_value > value_cap:
        problems.append(
            SaleProblem(
                "redeem_limit_exceeded",
                f"points may pay at most {value_cap} of this sale; {points_value} requested",
            )
        )
    if payments is not None:
        paid = sum(p.points * rules.point_value if p.is_points else p.amount for p in payments)
        if paid != total:
            problems.append(SaleProblem("payment_mismatch", f"payments total {paid}, the sale totals {total}"))
    return quote, problems


def points_to_reverse(
    kept: Sequence[Line],
    points_paid_value: Money,
    points_earned: Points,
    rules: RuleSet,
    tier: Tier | None,
    rate: Fraction | None = None,
) -> Points:
    """Points a return takes back: what the sale earned minus what its kept lines would earn.

    Computed under the sale's own rule set and tier; never negative and never more than
    the sale earned, so returning everything reverses exactly what was earned.
    """
    if not any(line.qty for line in kept):
        return points_earned
    would_earn = earn(kept, points_paid_value, rules, tier, rate).points
    return max(0, min(points_earned, points_earned - would_earn))
