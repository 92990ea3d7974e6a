"""Lot outcomes (``shared.ledger.outcome``): what the brand's figures are built from.

The liability report and the dashboard never fold a customer at each moment they show; they
add up each lot's outcome. These properties say that the sums give exactly what folding the
whole history at that moment would.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.ledger import EARN, REDEEM, Movement, balance, outcome
from test_shared_ledger import BASE, FAST, schedules, t


def _expired_by(result, now):
    return sum(lot.left for lot in result.lots if lot.expires_at is not None and lot.expires_at <= now)


@given(moves=schedules())
@FAST
def test_what_the_lots_end_with_less_the_debt_is_the_sum_of_the_ledger(moves) -> None:
    result = outcome(moves)
    assert result.debt >= 0
    assert all(0 <= lot.left and 0 <= lot.repaid and lot.left + lot.repaid <= lot.points for lot in result.lots)
    assert sum(lot.left for lot in result.lots) - result.debt == sum(m.points for m in moves)


@given(moves=schedules(), days=st.integers(0, 200))
@FAST
def test_points_expired_at_any_moment_are_what_the_expired_lots_were_left_with(moves, days) -> None:
    """Also before the last movement: a lot's outcome depends on nothing after it expires."""
    now = BASE + timedelta(days=days)
    assert balance(moves, now).expired == _expired_by(outcome(moves), now)


@given(moves=schedules(), days=st.integers(0, 200))
@FAST
def test_a_balance_is_the_movements_so_far_less_what_has_expired(moves, days) -> None:
    """The identity the liability report reconciles: outstanding = movements − expired."""
    now = BASE + timedelta(days=days)
    got = balance(moves, now)
    so_far = sum(m.points for m in moves if m.at <= now)
    assert got.available + got.pending == so_far - _expired_by(outcome(moves), now)


@given(moves=schedules(), days=st.integers(91, 300))
@FAST
def test_after_the_last_movement_the_outcomes_give_spendable_and_pending_points(moves, days) -> None:
    now = BASE + timedelta(days=days)
    result = outcome(moves)
    live = [lot for lot in result.lots if lot.expires_at is None or lot.expires_at > now]
    pending = [lot for lot in live if lot.available_at > now]
    got = balance(moves, now)
    assert got.pending == sum(lot.left + lot.repaid for lot in pending)
    assert got.available == (sum(lot.left for lot in live if lot.available_at <= now) - result.debt
                             - sum(lot.repaid for lot in pending))


def test_a_lot_spent_in_part_expires_with_what_is_left_and_a_later_debit_takes_nothing_from_it() -> None:
    moves = [Movement(EARN, 100, t(2026, 1, 5), "a", t(2026, 1, 5), t(2026, 2, 1)),
             Movement(REDEEM, -30, t(2026, 1, 20), "r1"),
             Movement(REDEEM, -50, t(2026, 3, 1), "r2")]
    result = outcome(moves)
    assert [(lot.ref, lot.left) for lot in result.lots] == [("a", 70)]
    assert result.debt == 50


def test_a_pending_lot_repays_a_debt_when_it_becomes_available() -> None:
    moves = [Movement(REDEEM, -20, t(2026, 1, 2), "r"),
             Movement(EARN, 50, t(2026, 1, 3), "a", t(2026, 1, 17), None)]
    result = outcome(moves)
    assert [(lot.left, lot.repaid) for lot in result.lots] == [(30, 20)]
    assert result.debt == 0
    assert balance(moves, t(2026, 1, 10)).pending == 50  # left + repaid while still pending
