"""Properties of the wallet's pure core (shared.wallet) and the validation of its rules."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import wallet as purse
from shared.rules import DEFAULT_DOCUMENT, parse_rules

FAST = settings(max_examples=300, deadline=None)
CATEGORIES = st.sampled_from([None, "pants", "shoes"])
RULES = purse.WalletRules(ceiling=15000, offline_cap=5000)

acts = st.lists(st.tuples(st.sampled_from(["load", "spend"]), st.integers(1, 20000), CATEGORIES,
                          st.dictionaries(st.sampled_from(["pants", "shoes"]), st.integers(0, 20000))),
                max_size=25)


@given(acts=acts)
@FAST
def test_online_the_wallet_never_goes_below_zero_nor_past_the_ceiling(acts):
    """Loads checked against the ceiling and spends split over the pockets keep every pocket
    at or above zero, the total at or below the ceiling, and the balance the sum of the movements."""
    movements: list[purse.WalletMovement] = []
    for n, (act, amount, category, totals) in enumerate(acts):
        held = purse.pockets(movements)
        if act == "load":
            if purse.load_problem(purse.balance(movements), amount, RULES, None) is None:
                movements.append(purse.WalletMovement(purse.LOAD, amount, f"l{n}", category))
        else:
            split = purse.split_spend(amount, held, totals)
            assert (split is None) == (purse.usable(held, totals) < amount)
            for pocket, taken in (split or {}).items():
                movements.append(purse.WalletMovement(purse.SPEND, -taken, f"s{n}", pocket))
        held = purse.pockets(movements)
        assert all(value >= 0 for value in held.values())
        assert purse.balance(movements) == sum(held.values()) == sum(m.amount for m in movements)
        assert purse.balance(movements) <= RULES.ceiling


@given(amount=st.integers(1, 30000), held=st.dictionaries(CATEGORIES, st.integers(-500, 10000)),
       totals=st.dictionaries(st.sampled_from(["pants", "shoes"]), st.integers(0, 10000)))
@FAST
def test_a_category_pocket_pays_only_its_own_lines(amount, held, totals):
    split = purse.split_spend(amount, held, totals)
    if split is None:
        return
    assert sum(split.values()) == amount
    for pocket, taken in split.items():
        assert 0 < taken <= held[pocket]
        if pocket is not None:
            assert taken <= totals.get(pocket, 0)


@given(central=st.dictionaries(CATEGORIES, st.integers(-2000, 15000)),
       spends=st.lists(st.integers(1, 4000), max_size=12))
@FAST
def test_one_shop_offline_lets_at_most_its_allowance_go(central, spends):
    account = purse.WalletAccount(dict(central))
    for n, wanted in enumerate(spends):
        allowed = purse.offline_spendable(account, RULES)
        assert 0 <= allowed <= max(0, account.balance())
        take = min(wanted, allowed)
        if take:
            account.local.append(purse.WalletMovement(purse.SPEND, -take, f"s{n}"))
    assert account.spent_here() <= RULES.offline_cap


@given(paid=st.dictionaries(CATEGORIES, st.integers(1, 5000), min_size=1),
       parts=st.lists(st.integers(1, 5000), max_size=5))
@FAST
def test_returns_recredit_at_most_what_each_pocket_paid_and_a_full_return_all_of_it(paid, parts):
    total = sum(paid.values()) + 1000  # 10.00 of the sale was paid in cash
    refunded: dict = {}
    given_back = 0
    for part in parts:
        amount = min(part, total - given_back)
        split = purse.refund_split(amount, paid, refunded)
        assert sum(split.values()) <= amount
        for pocket, value in split.items():
            refunded[pocket] = refunded.get(pocket, 0) + value
        given_back += amount
    rest = purse.refund_split(total - given_back, paid, refunded)
    for pocket, value in rest.items():
        refunded[pocket] = refunded.get(pocket, 0) + value
    assert refunded == paid  # everything back: the wallet has exactly what it paid


@pytest.mark.parametrize("balance, load, code", [
    (0, 15000, None),                         # the seed's ceiling: 150.00
    (0, 15001, "wallet_ceiling_exceeded"),
    (10000, 5000, None),
    (10000, 5001, "wallet_ceiling_exceeded"),
    (-3000, 18000, None),                     # an overdraft is repaid first
])
def test_the_seed_ceiling_of_150(balance, load, code):
    problem = purse.load_problem(balance, load, purse.WalletRules(), None)
    assert (problem.code if problem else None) == code


@pytest.mark.parametrize("points, point_value, amount", [(100, 1, 100), (6, 10, 60), (0, 10, 0)])
def test_points_convert_at_point_value(points, point_value, amount):
    assert purse.conversion_amount(points, point_value) == amount


def test_the_wallet_section_is_optional_with_the_defaults():
    rules, problems = parse_rules(copy.deepcopy(DEFAULT_DOCUMENT))
    assert problems == []
    assert rules.wallet == purse.WalletRules(15000, 5000, ())


def test_a_wallet_section_is_read():
    document = {**copy.deepcopy(DEFAULT_DOCUMENT), "wallet": {
        "ceiling": 20000, "offline_cap": 1000,
        "types": [{"name": "KDO", "amount": 5000, "category": "pants"}, {"name": "Free"}]}}
    rules, problems = parse_rules(document)
    assert problems == []
    assert rules.wallet.type("KDO") == purse.WalletType("KDO", 5000, "pants")
    assert rules.wallet.type("Free") == purse.WalletType("Free", None, None)


def test_every_problem_of_a_wallet_section_is_listed():
    document = {**copy.deepcopy(DEFAULT_DOCUMENT), "wallet": {
        "ceiling": -1, "offline_cap": "50", "colour": "red",
        "types": [{"name": "", "amount": 0}, {"name": "A", "amount": 1.5, "size": 1}, {"name": "A", "category": 7},
                  "KDO", {"name": "Big", "amount": 10**6}]}}
    rules, problems = parse_rules(document)
    assert rules is None
    assert sorted(p.path for p in problems) == sorted([
        "wallet.ceiling", "wallet.offline_cap", "wallet.colour", "wallet.types[0].name", "wallet.types[0].amount",
        "wallet.types[1].amount", "wallet.types[1].size", "wallet.types[2].category", "wallet.types[3]",
        "wallet.types", "wallet.types[0].amount", "wallet.types[1].amount", "wallet.types[4].amount"])
