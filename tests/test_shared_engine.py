"""Earning, spending and returns (docs/contract.md "Sale request", "Rules document", returns)."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.engine import Line, Payment, basket_total, earn, points_to_reverse, price_sale
from shared.rules import DEFAULT_DOCUMENT, parse_rules

FAST = settings(max_examples=100, deadline=None)


def make_rules(**sections):
    """The default document with some sections changed (dict sections are merged)."""
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key].update(value)
        else:
            document[key] = value
    rules, problems = parse_rules(document)
    assert problems == [], problems
    return rules


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def cash(amount: int) -> Payment:
    return Payment("cash", amount=amount)


def points(n: int) -> Payment:
    return Payment("points", points=n)


def sell(lines, payments, rules, spendable=10**4, tier=None):
    return price_sale(lines, payments, rules, spendable=spendable, tier=tier)


GIFT = {"sku": "GIFT1", "name": "Tote bag", "cost": 100}
MUG = {"sku": "MUG1", "name": "Mug", "cost": 60}


@pytest.mark.parametrize(("spend", "expected"), [(2500, 2), (10000, 10), (999, 0), (1000, 1), (0, 0)])
def test_one_point_per_ten(spend, expected) -> None:
    rules = make_rules(earn={"rate": "0.1"})
    quote, problems = sell([Line("A1", 1, spend)], [cash(spend)], rules, 0)
    assert (problems, quote.total, quote.points_to_earn) == ([], spend, expected)


@pytest.mark.parametrize(
    ("earn_section", "lines", "eligible", "expected"),
    [
        ({"rate": "1"}, [Line("A1", 1, 2550)], 2550, 25),
        ({"rate": "0.05"}, [Line("A1", 1, 10000)], 10000, 5),
        ({"rate": "0.05"}, [Line("A1", 1, 1999)], 1999, 0),
        # per-item points add qty x points on top of the spend points
        ({"per_item": {"SKU1": 5}}, [Line("SKU1", 3, 1000), Line("A1", 1, 1000)], 4000, 4 + 3 * 5),
        ({"exclude_discounted": True}, [Line("A1", 1, 2000), Line("B1", 1, 3000, discount=500)], 2000, 2),
        ({"exclude_discounted": False}, [Line("A1", 1, 2000), Line("B1", 1, 3000, discount=500)], 4500, 4),
        ({"exclude_categories": ["food"]}, [Line("A1", 1, 2000, category="shoes"), Line("F1", 1, 5000, category="food")],
         2000, 2),
    ],
)
def test_earning_rules(earn_section, lines, eligible, expected) -> None:
    got = earn(lines, 0, make_rules(earn=earn_section), None)
    assert (got.eligible_amount, got.points) == (eligible, expected)


def test_total_is_qty_times_price_minus_line_discount() -> None:
    quote, _ = sell([Line("A1", 2, 1250, discount=300), Line("B1", 1, 999)], None, make_rules())
    assert quote.total == 2 * 1250 - 300 + 999


@pytest.mark.parametrize(("point_value", "paid_points"), [(1, 2000), (2, 1000), (5, 400)])
def test_points_paid_are_not_eligible(point_value, paid_points) -> None:
    rules = make_rules(redeem={"point_value": point_value})
    quote, problems = sell([Line("A1", 1, 5000)], [cash(3000), points(paid_points)], rules, 10**6)
    assert problems == []
    assert (quote.eligible_amount, quote.points_to_earn, quote.points_paid) == (3000, 3, paid_points)
    # Paying more with points than the eligible lines are worth leaves eligible spend at zero, not below.
    food = make_rules(earn={"exclude_categories": ["food"]}, redeem={"point_value": point_value})
    got = earn([Line("A1", 1, 1000), Line("F1", 1, 5000, category="food")], 3000, food, None)
    assert (got.eligible_amount, got.points) == (0, 0)


def test_reward_lines_never_earn_and_cost_points() -> None:
    rules = make_rules(rewards=[GIFT], earn={"per_item": {"GIFT1": 50}})
    quote, problems = sell([Line("A1", 1, 2000), Line("GIFT1", 1, 0, reward=True)], [cash(2000)], rules, 150)
    assert problems == []
    assert (quote.points_to_earn, quote.reward_points, quote.points_redeemed) == (2, 100, 100)
    # Even a priced reward line adds nothing to eligible spend.
    priced = earn([Line("A1", 1, 2000), Line("GIFT1", 1, 5000, reward=True)], 0, rules, None)
    assert priced.eligible_amount == 2000


@pytest.mark.parametrize("claims", [[("GIFT1", 1), ("MUG1", 1)], [("GIFT1", 2)]], ids=["two_lines", "qty_two"])
def test_one_reward_per_sale(claims) -> None:
    lines = [Line("A1", 1, 2000), *(Line(sku, qty, 0, reward=True) for sku, qty in claims)]
    limited = make_rules(rewards=[GIFT, MUG], one_reward_per_sale=True)
    assert codes(sell(lines, [cash(2000)], limited)[1]) == ["reward_limit_exceeded"]
    unlimited = make_rules(rewards=[GIFT, MUG], one_reward_per_sale=False)
    assert sell(lines, [cash(2000)], unlimited)[1] == []


def test_unknown_reward() -> None:
    lines = [Line("A1", 1, 2000), Line("NOPE", 1, 0, reward=True)]
    assert codes(sell(lines, [cash(2000)], make_rules(rewards=[GIFT]))[1]) == ["unknown_reward"]


# -- spending --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point_value", "payments", "mismatch"),
    [
        (1, [cash(2000), points(500)], False), (1, [cash(2000), points(400)], True),
        (2, [cash(2000), points(250)], False), (2, [cash(2000), points(500)], True),  # 500 points = 1000
        (1, [cash(2499)], True), (1, [cash(2501)], True), (1, [cash(1000), Payment("card", amount=1500)], False),
    ],
)
def test_payment_mismatch(point_value, payments, mismatch) -> None:
    _, problems = sell([Line("A1", 1, 2500)], payments, make_rules(redeem={"point_value": point_value}))
    assert codes(problems) == (["payment_mismatch"] if mismatch else [])


ONE = [Line("A1", 1, 2500)]
TWO = [Line("A1", 1, 2000), Line("B1", 1, 500)]
WITH_GIFT = [Line("A1", 1, 2500), Line("GIFT1", 1, 0, reward=True)]


@pytest.mark.parametrize(
    ("redeem", "lines", "payments", "spendable", "expected"),
    [
        ({}, ONE, [cash(2000), points(500)], 499, ["insufficient_points"]),
        ({}, ONE, [cash(2000), points(500)], 500, []),
        # a reward and a points payment must fit the balance together
        ({}, WITH_GIFT, [cash(2000), points(500)], 599, ["insufficient_points"]),
        ({}, WITH_GIFT, [cash(2000), points(500)], 600, []),
        # min_balance: the balance needed before any redemption
        ({"min_balance": 1000}, ONE, [cash(2400), points(100)], 999, ["insufficient_points"]),
        ({"min_balance": 1000}, ONE, [cash(2400), points(100)], 1000, []),
        ({"min_balance": 1000}, ONE, [cash(2500)], 10, []),
        # max_share_percent: the most of the total points may pay
        ({"max_share_percent": 50}, ONE, [cash(1200), points(1300)], 10**4, ["redeem_limit_exceeded"]),
        ({"max_share_percent": 50}, ONE, [cash(1250), points(1250)], 10**4, []),
        ({"max_share_percent": 0}, ONE, [cash(2499), points(1)], 10**4, ["redeem_limit_exceeded"]),
        # require_cash_line: points may not pay for everything
        ({"require_cash_line": True}, TWO, [points(2500)], 10**4, ["redeem_limit_exceeded"]),
        ({"require_cash_line": True}, TWO, [cash(500), points(2000)], 10**4, []),
        ({"require_cash_line": False}, TWO, [points(2500)], 10**4, []),
        # an anonymous sale (no spendable balance) cannot spend points or claim rewards
        ({}, ONE, [cash(2000), points(500)], None, ["customer_required"]),
        ({}, WITH_GIFT, [cash(2500)], None, ["customer_required"]),
        ({}, ONE, [cash(2500)], None, []),
    ],
)
def test_spending_limits(redeem, lines, payments, spendable, expected) -> None:
    rules = make_rules(redeem=redeem, rewards=[GIFT])
    quote, problems = sell(lines, payments, rules, spendable)
    assert codes(problems) == expected
    if spendable is None or spendable < rules.min_balance:
        assert quote.max_points_redeemable == 0


@pytest.mark.parametrize(("spendable", "affordable"), [(None, False), (99, False), (100, True)])
def test_reward_offers_say_what_the_customer_can_afford(spendable, affordable) -> None:
    quote, _ = sell(ONE, None, make_rules(rewards=[GIFT]), spendable)
    assert [(r.sku, r.cost, r.affordable) for r in quote.rewards] == [("GIFT1", 100, affordable)]


@pytest.mark.parametrize(
    ("redeem", "spendable", "total", "rewards", "expected"),
    [
        ({}, 300, 2500, [], 300),  # the balance limits
        ({"max_share_percent": 50}, 10**4, 2500, [], 1250),  # the share cap limits
        ({"point_value": 2}, 10**4, 2501, [], 1250),  # 1250 points are worth 2500 <= 2501
        ({"point_value": 2, "max_share_percent": 10}, 10**4, 10000, [], 500),
        ({}, 300, 2500, ["GIFT1"], 200),  # the reward in the basket is paid first
        ({}, 0, 2500, [], 0),
    ],
)
def test_max_points_redeemable(redeem, spendable, total, rewards, expected) -> None:
    rules = make_rules(redeem=redeem, rewards=[GIFT])
    lines = [Line("A1", 1, total)] + [Line(sku, 1, 0, reward=True) for sku in rewards]
    assert sell(lines, None, rules, spendable)[0].max_points_redeemable == expected


@pytest.mark.parametrize(("pct", "point_value", "extra"), [(10, 1, 250), (10, 5, 50), (0, 1, 0), (33, 1, 825)])
def test_tier_extra_earn(pct, point_value, extra) -> None:
    tiers = [{"name": "Basic", "threshold": 0}, {"name": "Gold", "threshold": 1, "extra_earn_percent": pct}]
    rules = make_rules(redeem={"point_value": point_value}, tiers=tiers)
    got = earn([Line("A1", 1, 2500)], 0, rules, rules.tier("Gold"))
    assert got.tier_points == extra  # floor(2500 * pct / 100 / point_value)
    assert got.points == 2 + extra


# -- returns ---------------------------------------------------------------------------------


def test_points_to_reverse() -> None:
    rules = make_rules(earn={"per_item": {"A1": 5}})
    sold = [Line("A1", 2, 1500), Line("B1", 1, 1000)]
    for paid_value, earned in ((0, 4 + 10), (1000, 3 + 10)):
        assert earn(sold, paid_value, rules, None).points == earned
        assert points_to_reverse([], paid_value, earned, rules, None) == earned
        assert points_to_reverse([Line("A1", 0, 1500), Line("B1", 0, 1000)], paid_value, earned, rules, None) == earned
        assert points_to_reverse(sold, paid_value, earned, rules, None) == 0
        kept = [Line("A1", 1, 1500), Line("B1", 1, 1000)]
        kept_earn = (2500 - paid_value) // 1000 + 5  # 1 point per 10.00, plus 5 for the kept A1
        assert points_to_reverse(kept, paid_value, earned, rules, None) == earned - kept_earn


def test_points_to_reverse_never_exceeds_what_was_earned() -> None:
    # The sale recorded fewer points than its kept lines would earn now: nothing to take back.
    assert points_to_reverse([Line("A1", 1, 50000)], 0, 3, make_rules(), None) == 0
    assert points_to_reverse([], 0, 3, make_rules(), None) == 3


# -- properties ------------------------------------------------------------------------------

SKUS = ["A1", "A2", "B1"]
CATEGORIES = [None, "shoes", "food", "bags"]


@st.composite
def documents(draw, cash_line=st.booleans()):
    """Valid rules documents."""
    thresholds = [0, *sorted(draw(st.sets(st.integers(1, 10**6), max_size=2)))]
    tiers = [{"name": f"T{t}", "threshold": t, "extra_earn_percent": draw(st.integers(0, 50)),
              "discount_percent": draw(st.sampled_from([0, 5, 10, 33, 100]))} for t in thresholds]
    reward_skus = draw(st.lists(st.sampled_from(["R1", "R2", "R3"]), unique=True, max_size=3))
    accrual = draw(st.sampled_from(["delay_days", "day_of_next_month"]))
    return {
        "earn": {"rate": f"{draw(st.integers(0, 3))}.{draw(st.integers(0, 99)):02d}",
                 "exclude_discounted": draw(st.booleans()),
                 "exclude_categories": draw(st.lists(st.sampled_from(CATEGORIES[1:]), unique=True)),
                 "per_item": draw(st.dictionaries(st.sampled_from(SKUS), st.integers(0, 20)))},
        "accrual": {accrual: draw(st.integers(1, 28))},
        "expiry": {"policy": draw(st.sampled_from(["never", "end_of_month", "end_of_year"]))},
        "redeem": {"point_value": draw(st.integers(1, 5)), "max_share_percent": draw(st.integers(0, 100)),
                   "min_balance": draw(st.integers(0, 500)), "require_cash_line": draw(cash_line),
                   "offline_cap": draw(st.integers(0, 10**4))},
        "tiers": tiers,
        "rewards": [{"sku": s, "name": s, "cost": draw(st.integers(1, 500))} for s in reward_skus],
        "one_reward_per_sale": draw(st.booleans()),
    }


@st.composite
def rule_sets(draw, cash_line=st.booleans()):
    rules, problems = parse_rules(draw(documents(cash_line)))
    assert problems == []
    return rules


@st.composite
def lines(draw):
    """A paid line whose discount is a whole amount per unit, so part of it can be returned."""
    qty = draw(st.integers(1, 5))
    unit_price = draw(st.integers(0, 20000))
    unit_discount = draw(st.integers(0, unit_price))
    return Line(draw(st.sampled_from(SKUS)), qty, unit_price, qty * unit_discount, draw(st.sampled_from(CATEGORIES)))


def with_qty(line: Line, qty: int) -> Line:
    return Line(line.sku, qty, line.unit_price, qty * (line.discount // line.qty), line.category, line.reward)


tiers_of = lambda rules: st.sampled_from([None, *rules.tiers])  # noqa: E731


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), max_size=6), paid=st.integers(0, 10**6))
@FAST
def test_earning_is_never_negative(data, rules, basket, paid) -> None:
    got = earn(basket, paid, rules, data.draw(tiers_of(rules)))
    assert min(got.eligible_amount, got.spend_points, got.item_points, got.tier_points) >= 0


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), max_size=6), extra=lines(),
       paid=st.integers(0, 10**5))
@FAST
def test_adding_a_line_never_reduces_points(data, rules, basket, extra, paid) -> None:
    tier = data.draw(tiers_of(rules))
    assert earn([*basket, extra], paid, rules, tier).points >= earn(basket, paid, rules, tier).points


@given(data=st.data(), rules=rule_sets(), sold=st.lists(lines(), min_size=1, max_size=5), paid=st.integers(0, 10**4))
@FAST
def test_reversal_is_bounded_and_grows_with_what_is_returned(data, rules, sold, paid) -> None:
    tier = data.draw(tiers_of(rules))
    earned = earn(sold, paid, rules, tier).points
    returned = [data.draw(st.integers(0, line.qty)) for line in sold]
    more = [data.draw(st.integers(r, line.qty)) for r, line in zip(returned, sold)]
    reversals = [
        points_to_reverse([with_qty(line, line.qty - r) for line, r in zip(sold, back)], paid, earned, rules, tier)
        for back in ([0] * len(sold), returned, more, [line.qty for line in sold])
    ]
    assert (reversals[0], reversals[-1]) == (0, earned)
    assert all(0 <= r <= earned for r in reversals) and reversals == sorted(reversals)


@given(data=st.data(), rules=rule_sets(cash_line=st.just(False)), basket=st.lists(lines(), min_size=1, max_size=5),
       spendable=st.integers(0, 10**5))
@FAST
def test_a_sale_within_every_limit_has_no_problems(data, rules, basket, spendable) -> None:
    tier = data.draw(tiers_of(rules))
    total = basket_total(basket, tier)
    can_redeem = spendable >= rules.min_balance
    affordable = [r for r in rules.rewards if can_redeem and r.cost <= spendable]
    claimed = data.draw(st.lists(st.sampled_from(affordable), max_size=1)) if affordable else []
    reward_points = sum(r.cost for r in claimed)
    share_cap = total * rules.max_share_percent // 100
    most = min(spendable - reward_points, share_cap // rules.point_value) if can_redeem else 0
    spent = data.draw(st.integers(0, most))
    payments = [cash(total - spent * rules.point_value)] + ([points(spent)] if spent else [])
    sale = [*basket, *(Line(r.sku, 1, 0, reward=True) for r in claimed)]
    quote, problems = sell(sale, payments, rules, spendable, tier)
    assert problems == []
    assert spent <= quote.max_points_redeemable
    assert quote.points_redeemed == spent + reward_points


@given(rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=5),
       spendable=st.one_of(st.none(), st.integers(0, 10**5)))
@FAST
def test_max_points_redeemable_is_exactly_the_limit(rules, basket, spendable) -> None:
    quote, _ = sell(basket, None, rules, spendable)
    best = quote.max_points_redeemable
    if best:
        assert sell(basket, [cash(quote.total - best * rules.point_value), points(best)], rules, spendable)[1] == []
    over = [cash(quote.total - (best + 1) * rules.point_value), points(best + 1)]
    refused = set(codes(sell(basket, over, rules, spendable)[1]))
    assert refused & {"insufficient_points", "redeem_limit_exceeded", "customer_required"}


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), max_size=5),
       spendable=st.one_of(st.none(), st.integers(0, 10**5)))
@FAST
def test_a_quote_never_reports_payment_mismatch(data, rules, basket, spendable) -> None:
    chosen = data.draw(st.lists(st.sampled_from(rules.rewards), max_size=2)) if rules.rewards else []
    _, problems = sell([*basket, *(Line(r.sku, 1, 0, reward=True) for r in chosen)], None, rules, spendable)
    assert "payment_mismatch" not in codes(problems)
