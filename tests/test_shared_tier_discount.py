"""The tier discount: a line-level discount of the customer's tier, in the total and in earning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.engine import Line, basket_total, earn, price_sale, tier_discount
from shared.rules import Tier
from test_shared_engine import FAST, cash, lines, make_rules, points, rule_sets, tiers_of

TIERS = [{"name": "Basic", "threshold": 0}, {"name": "Silver", "threshold": 50000, "discount_percent": 5},
         {"name": "Gold", "threshold": 200000, "discount_percent": 10}]


@pytest.mark.parametrize(
    ("pct", "line", "expected"),
    [
        (5, Line("A1", 2, 1250), 125),  # 5 % of 12.50 × 2 = 1.25
        (10, Line("A1", 1, 999), 99),  # 10 % of 9.99 = 0.999, rounded down
        (10, Line("A1", 2, 1250, discount=500), 200),  # after the line's own discount: 10 % of 20.00
        (5, Line("A1", 1, 19), 0),  # 0.95 of a minor unit rounds down to nothing
        (33, Line("A1", 3, 1000), 990),
        (100, Line("A1", 1, 1234), 1234),
        (0, Line("A1", 4, 2500), 0),
        (10, Line("GIFT1", 1, 0, reward=True), 0),  # reward lines are never discounted
    ],
)
def test_tier_discount_of_a_line(pct, line, expected) -> None:
    assert tier_discount(line, Tier("Silver", 1, discount_percent=pct)) == expected


def test_a_silver_sale_totals_after_the_tier_discount_and_payments_must_match_it() -> None:
    rules = make_rules(tiers=TIERS)
    basket = [Line("A1", 2, 1250), Line("B1", 1, 999, discount=99)]
    quote, problems = price_sale(basket, [cash(2375 + 855)], rules, spendable=0, tier=rules.tier("Silver"))
    assert (problems, quote.tier_discounts, quote.tier_discount, quote.total) == ([], (125, 45), 170, 2500 + 900 - 170)
    _, short = price_sale(basket, [cash(3400)], rules, spendable=0, tier=rules.tier("Silver"))
    assert [p.code for p in short] == ["payment_mismatch"]


def test_eligible_spend_is_after_the_tier_discount_unless_discounted_lines_are_excluded() -> None:
    silver = make_rules(tiers=TIERS).tier("Silver")
    basket = [Line("A1", 1, 10000), Line("GIFT1", 1, 0, reward=True)]
    assert earn(basket, 0, make_rules(tiers=TIERS), silver).eligible_amount == 9500
    excluding = make_rules(tiers=TIERS, earn={"exclude_discounted": True})
    assert earn(basket, 0, excluding, silver).eligible_amount == 0
    assert earn(basket, 0, excluding, excluding.tier("Basic")).eligible_amount == 10000


def test_points_may_pay_their_share_of_the_discounted_total() -> None:
    rules = make_rules(tiers=TIERS, redeem={"max_share_percent": 50})
    quote, _ = price_sale([Line("A1", 1, 10000)], None, rules, spendable=10**6, tier=rules.tier("Gold"))
    assert (quote.total, quote.max_points_redeemable) == (9000, 4500)


# -- properties ------------------------------------------------------------------------------


@given(rules=rule_sets(), line=lines(), pct=st.integers(0, 100), reward=st.booleans())
@FAST
def test_a_tier_discount_is_never_negative_nor_more_than_the_line(rules, line, pct, reward) -> None:
    if reward:
        line = Line("R1", 1, 0, reward=True)
    got = tier_discount(line, Tier("T", 0, discount_percent=pct))
    assert 0 <= got <= line.total
    assert got == 0 or not reward


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=6))
@FAST
def test_the_total_is_the_lines_less_their_discounts_and_tier_discounts(data, rules, basket) -> None:
    tier = data.draw(tiers_of(rules))
    quote, _ = price_sale(basket, None, rules, spendable=None, tier=tier)
    assert len(quote.tier_discounts) == len(basket)
    gross = sum(line.qty * line.unit_price for line in basket)
    assert quote.total == gross - sum(line.discount for line in basket) - quote.tier_discount
    assert quote.total == basket_total(basket, tier)


@given(rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=6), paid=st.integers(0, 10**5),
       spendable=st.integers(0, 10**5))
@FAST
def test_a_zero_percent_tier_changes_nothing(rules, basket, paid, spendable) -> None:
    plain = Tier("Plain", 0)
    payments = [cash(max(0, basket_total(basket) - paid)), points(paid)] if paid else [cash(basket_total(basket))]
    with_tier = price_sale(basket, payments, rules, spendable=spendable, tier=plain)
    without = price_sale(basket, payments, rules, spendable=spendable, tier=None)
    assert with_tier == without
    assert with_tier[0].tier_discount == 0
