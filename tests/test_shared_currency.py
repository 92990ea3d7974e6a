"""Sales in another currency (docs/contract.md "Sales in another currency"): the rate's text,
the conversion, and earning on the converted amount."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.currency import parse_conversion, to_brand
from shared.engine import Line, Payment, earn, points_to_reverse, price_sale
from test_shared_engine import FAST, lines, make_rules, rule_sets, tiers_of, with_qty


@pytest.mark.parametrize(
    ("currency", "rate", "fields"),
    [
        ("eur", "4.9750", ["currency"]),
        ("EURO", "4.9750", ["currency"]),
        ("EUR", "4.975", []),
        ("EUR", "0", ["rate"]),
        ("EUR", "0.000000", ["rate"]),
        ("EUR", "-1", ["rate"]),
        ("EUR", "1e3", ["rate"]),
        ("EUR", "4.1234567", ["rate"]),
        ("EUR", 4.975, ["rate"]),
        ("EUR", None, ["rate"]),
        (None, "4.9750", ["currency"]),
        ("usd", "4,97", ["currency", "rate"]),
    ],
)
def test_currency_and_rate_are_checked(currency, rate, fields) -> None:
    conversion, problems = parse_conversion(currency, rate)
    assert [name for name, _ in problems] == fields
    assert (conversion is None) == bool(fields)


def test_no_currency_is_the_brand_currency() -> None:
    assert parse_conversion(None, None) == (None, [])


@pytest.mark.parametrize(
    ("amount", "rate", "converted"),
    [(10000, "4.9750", 49750), (201, "4.9750", 999), (1, "0.5", 0), (3, "0.333333", 0), (12345, "1", 12345)],
)
def test_conversion_rounds_down(amount, rate, converted) -> None:
    conversion, _ = parse_conversion("EUR", rate)
    assert conversion.to_brand(amount) == converted


@pytest.mark.parametrize(
    ("price", "rate", "eligible", "points", "original"),
    [
        # 100.00 EUR at 4.9750 is 497.50 in the brand currency: 49 points at 1 per 10.00.
        (10000, "4.9750", 49750, 49, 10000),
        # 20.10 EUR is 99.99: not yet 10 points.
        (2010, "4.9750", 9999, 9, 2010),
        (2011, "4.9750", 10004, 10, 2011),
    ],
)
def test_points_are_earned_on_the_converted_amount(price, rate, eligible, points, original) -> None:
    conversion, _ = parse_conversion("EUR", rate)
    got = earn([Line("A1", 1, price)], 0, make_rules(), None, conversion.rate)
    assert (got.eligible_amount, got.points, got.original_eligible) == (eligible, points, original)


def test_points_do_not_pay_a_foreign_sale() -> None:
    rules = make_rules()
    _, problems = price_sale([Line("A1", 1, 1000)], [Payment("cash", amount=900), Payment("points", points=100)],
                             rules, spendable=1000, tier=None, rate=Fraction(5))
    assert "currency_not_payable_with_points" in [p.code for p in problems]
    quote, problems = price_sale([Line("A1", 1, 1000)], [Payment("cash", amount=1000)], rules, spendable=1000,
                                 tier=None, rate=Fraction(5))
    assert problems == [] and quote.max_points_redeemable == 0 and quote.total == 1000


rates = st.builds(lambda whole, frac: f"{whole}.{frac:04d}", st.integers(0, 20), st.integers(0, 9999)).filter(
    lambda text: Fraction(text) > 0)


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), max_size=6), rate=rates)
@FAST
def test_a_foreign_sale_never_earns_negative_points(data, rules, basket, rate) -> None:
    got = earn(basket, 0, rules, data.draw(tiers_of(rules)), Fraction(rate))
    assert min(got.eligible_amount, got.spend_points, got.item_points, got.tier_points) >= 0
    assert got.eligible_amount == to_brand(got.original_eligible, Fraction(rate))


@given(data=st.data(), rules=rule_sets(), sold=st.lists(lines(), min_size=1, max_size=5), rate=rates)
@FAST
def test_returning_a_foreign_sale_reverses_exactly_what_it_earned(data, rules, sold, rate) -> None:
    tier = data.draw(tiers_of(rules))
    earned = earn(sold, 0, rules, tier, Fraction(rate)).points
    nothing_kept = [with_qty(line, 0) for line in sold]
    assert points_to_reverse(nothing_kept, 0, earned, rules, tier, Fraction(rate)) == earned
    assert points_to_reverse(sold, 0, earned, rules, tier, Fraction(rate)) == 0


@pytest.mark.parametrize("method", ["wallet", "gift_card", "voucher"])
def test_stored_value_never_pays_a_sale_in_another_currency(method):
    lines = [Line("A", 1, 1000)]
    payment = Payment(method, amount=1000, code=None if method == "wallet" else "CODE1234")
    _, problems = price_sale(lines, [payment], make_rules(), spendable=0, tier=None, rate=Fraction(49750, 10000))
    assert "currency_not_payable_with_stored_value" in [p.code for p in problems]
    _, problems = price_sale(lines, [payment], make_rules(), spendable=0, tier=None)
    assert "currency_not_payable_with_stored_value" not in [p.code for p in problems]
