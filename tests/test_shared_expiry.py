"""Expiry as central records it and the customer's ``expiring`` list; the vendor seeds' examples
(docs/rules.md) as tables: levels, a 5 % bonus, pending points, expiry at month and year end."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.engine import Line, earn, price_sale
from shared.expiry import expiries, expiring
from shared.ledger import EARN, Movement, available_from, balance, expires_at, holdings, outcome
from test_shared_engine import FAST, make_rules
from test_shared_ledger import schedules

UTC = timezone.utc


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- the seeds' examples -----------------------------------------------------------------------


@pytest.mark.parametrize(("spend", "points"), [(999, 0), (1000, 1), (2550, 2), (10000, 10), (40000, 40)])
def test_one_point_per_ten(spend, points) -> None:
    assert earn([Line("A1", 1, spend)], 0, make_rules(earn={"rate": "0.1"}), None).points == points


LEVELS = [{"sku": f"L{cost}", "name": f"Level {cost}", "cost": cost} for cost in (10, 20, 30, 40)]


@pytest.mark.parametrize(("balance_", "affordable"), [(9, []), (10, ["L10"]), (25, ["L10", "L20"]),
                                                      (40, ["L10", "L20", "L30", "L40"])])
def test_reward_levels_at_10_20_30_40_points(balance_, affordable) -> None:
    quote, _ = price_sale([Line("A1", 1, 1000)], None, make_rules(rewards=LEVELS), spendable=balance_, tier=None)
    assert [r.sku for r in quote.rewards if r.affordable] == affordable


@pytest.mark.parametrize(("spend", "bonus"), [(10000, 500), (1999, 99), (0, 0)])
def test_a_five_percent_bonus_type(spend, bonus) -> None:
    # Seed F: "Bonus 5 %" credits 5 % of what is paid as points worth one minor unit each.
    rules = make_rules(earn={"rate": "0"}, redeem={"point_value": 1},
                       tiers=[{"name": "Bonus 5%", "threshold": 0, "extra_earn_percent": 5}])
    assert earn([Line("A1", 1, spend)], 0, rules, rules.tier("Bonus 5%")).points == bonus


@pytest.mark.parametrize(("moment", "pending", "available"),
                         [(at(2027, 3, 14, 9), 10, 0), (at(2027, 3, 15, 9, 59), 10, 0), (at(2027, 3, 15, 10), 0, 10)])
def test_pending_for_n_days_then_available(moment, pending, available) -> None:
    rules = make_rules(accrual={"delay_days": 14})
    sold = at(2027, 3, 1, 10)
    lot = Movement(EARN, 10, sold, "s1:earn", available_from(rules, sold), None)
    folded = balance([lot], moment)
    assert (folded.pending, folded.available) == (pending, available)


@pytest.mark.parametrize(
    ("policy", "earned", "expires"),
    [
        ("end_of_month", at(2027, 1, 31, 23, 59), at(2027, 2, 1)),
        ("end_of_month", at(2027, 2, 1), at(2027, 3, 1)),
        ("end_of_month", at(2027, 12, 15), at(2028, 1, 1)),
        ("end_of_year", at(2027, 1, 1), at(2028, 1, 1)),
        ("end_of_year", at(2027, 12, 31, 23), at(2028, 1, 1)),
    ],
)
def test_expiry_at_month_end_and_year_end(policy, earned, expires) -> None:
    rules = make_rules(expiry={"policy": policy})
    assert expires_at(rules, available_from(rules, earned)) == expires
    lot = Movement(EARN, 10, earned, "s1:earn", earned, expires_at(rules, earned))
    assert expiries([lot], expires - timedelta(microseconds=1)) == []
    assert [(e.points, e.at) for e in expiries([lot], expires)] == [(10, expires)]


# -- what the job records ---------------------------------------------------------------------


def test_spent_points_never_expire() -> None:
    lot = Movement(EARN, 30, at(2027, 1, 5), "a", at(2027, 1, 5), at(2027, 2, 1))
    spent = Movement("redeem", -12, at(2027, 1, 20), "b")
    late = Movement("redeem", -50, at(2027, 3, 1), "c")  # after the lot lapsed: a debt, not the lot
    assert [(e.lot, e.points) for e in expiries([lot, spent, late], at(2027, 4, 1))] == [("a", 18)]


@given(moves=schedules(), days=st.integers(0, 200))
@FAST
def test_expiry_takes_only_what_nothing_spent(moves, days) -> None:
    now = at(2026, 1, 1) + timedelta(days=days)
    found = expiries(moves, now)
    lots = {m.ref: m.points for m in moves if m.points > 0}
    spent_from = {lot.ref: lot.points - lot.left - lot.repaid for lot in outcome(moves).lots}
    for item in found:
        assert 0 <= item.points <= lots[item.lot] - spent_from[item.lot]
    # What the job records is exactly what the balance lets lapse, and never changes later.
    assert sum(item.points for item in found) == balance(moves, now).expired
    assert found == expiries(moves, now + timedelta(days=400))[:len(found)]


@given(moves=schedules(), days=st.integers(0, 200))
@FAST
def test_expiring_lists_the_held_points_due_within_90_days(moves, days) -> None:
    now = at(2026, 1, 1) + timedelta(days=days)
    held = holdings(moves, now)
    due = expiring(held, now)
    assert [item["at"] for item in due] == sorted({item["at"] for item in due})
    assert all(now < item["at"] <= now + timedelta(days=90) and item["points"] > 0 for item in due)
    later = balance(moves, now + timedelta(days=90)).expired - balance(moves, now).expired
    future = [m for m in moves if m.at > now]
    if not future:  # nothing spends them first: all of it lapses
        assert sum(item["points"] for item in due) == later
