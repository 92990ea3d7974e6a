"""Properties of the offline allowance (shared.accounts): bounded by the balance and the cap."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.accounts import Account, offline_spendable
from shared.ledger import EARN, EPOCH, REDEEM, Holdings, Lot, Movement, balance
from shared.rules import DEFAULT_DOCUMENT, parse_rules

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
FAST = settings(max_examples=200, deadline=None)


def rules_with_cap(cap: int):
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    document["redeem"]["offline_cap"] = cap
    return parse_rules(document)[0]


holdings = st.builds(
    lambda lots, debt: Holdings(tuple(Lot(f"l{i}", p, NOW - timedelta(days=d), None) for i, (p, d) in enumerate(lots)),
                                debt),
    st.lists(st.tuples(st.integers(1, 500), st.integers(-5, 30)), max_size=4),
    st.integers(0, 300),
)


@given(central=holdings, cap=st.integers(0, 1000), spends=st.lists(st.integers(1, 400), max_size=12))
@FAST
def test_one_shop_offline_never_lets_more_than_the_cap_go(central, cap, spends):
    """A shop that keeps spending what it allows adds at most ``offline_cap`` to central's word,
    and never spends below zero of the balance it knows."""
    rules = rules_with_cap(cap)
    account = Account(central)
    spent = 0
    for n, wanted in enumerate(spends):
        allowed = offline_spendable(account, rules, NOW)
        assert 0 <= allowed <= max(0, account.points(NOW).available)
        take = min(wanted, allowed)
        if take:
            account.local.append(Movement(REDEEM, -take, NOW - timedelta(seconds=len(spends) - n), f"s{n}"))
            spent += take
    assert spent <= cap
    assert account.spent_here() == spent


@given(central=holdings, earned=st.integers(1, 500))
@FAST
def test_points_earned_here_add_to_what_central_said(central, earned):
    before = Account(central).points(NOW)
    after = Account(central, [Movement(EARN, earned, NOW - timedelta(minutes=1), "e")]).points(NOW)
    assert after.available == before.available + earned


@given(local=st.lists(st.integers(-200, 300).filter(bool), max_size=8))
@FAST
def test_a_standalone_shop_folds_its_own_movements(local):
    movements = [Movement(EARN if p > 0 else REDEEM, p, NOW - timedelta(hours=len(local) - i), f"m{i}")
                 for i, p in enumerate(local)]
    assert Account(None, movements).points(NOW) == balance(movements, NOW)


def test_the_cap_counts_what_central_has_not_seen_not_each_sale():
    rules = rules_with_cap(80)
    account = Account(Holdings((Lot("a", 200, EPOCH, None),), 0))
    assert offline_spendable(account, rules, NOW) == 80
    account.local.append(Movement(REDEEM, -50, NOW - timedelta(minutes=2), "s1"))
    assert offline_spendable(account, rules, NOW) == 30
