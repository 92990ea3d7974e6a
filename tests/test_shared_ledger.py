"""Ledger maths (docs/design.md §2, §6): balances folded from movements, FIFO lots, accrual and expiry."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ledger import (
    ADJUST,
    EARN,
    REDEEM,
    REVERSE,
    Balance,
    Holdings,
    Lot,
    Movement,
    available_from,
    balance,
    expires_at,
    holdings,
)
from shared.rules import DEFAULT_DOCUMENT, parse_rules

UTC = timezone.utc
FAST = settings(max_examples=150, deadline=None)


def t(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def make_rules(accrual=None, expiry=None):
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    document["accrual"] = accrual or {"delay_days": 0}
    document["expiry"] = expiry or {"policy": "never"}
    rules, problems = parse_rules(document)
    assert problems == [], problems
    return rules


NEVER = make_rules()
MONTHLY = make_rules(expiry={"policy": "end_of_month"})


def earned(ref: str, points: int, when: datetime, rules=NEVER) -> Movement:
    """An earn movement with its dates worked out the way the rules say."""
    start = available_from(rules, when)
    return Movement(EARN, points, when, ref, available_at=start, expires_at=expires_at(rules, start))


def spent(ref: str, points: int, when: datetime, kind: str = REDEEM, lot: str | None = None) -> Movement:
    return Movement(kind, -points, when, ref, lot=lot)


# -- accrual and expiry dates ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accrual", "when", "expected"),
    [
        ({"delay_days": 0}, t(2026, 1, 20, 10), t(2026, 1, 20, 10)),
        ({"delay_days": 14}, t(2026, 1, 20, 10), t(2026, 2, 3, 10)),
        ({"day_of_next_month": 5}, t(2026, 1, 31, 15), t(2026, 2, 5)),
        ({"day_of_next_month": 5}, t(2026, 12, 15, 9), t(2027, 1, 5)),  # December -> next January
        ({"day_of_next_month": 1}, t(2026, 2, 28, 23, 59), t(2026, 3, 1)),
        ({"day_of_next_month": 28}, t(2026, 1, 1), t(2026, 2, 28)),
        # 00:30 on 1 February in Paris is still January in UTC.
        ({"day_of_next_month": 5}, datetime(2026, 2, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), t(2026, 2, 5)),
    ],
)
def test_available_from(accrual, when, expected) -> None:
    assert available_from(make_rules(accrual=accrual), when) == expected


@pytest.mark.parametrize(
    ("expiry", "start", "expected"),
    [
        ({"policy": "end_of_month"}, t(2026, 12, 15, 10), t(2027, 1, 1)),
        ({"policy": "end_of_month"}, t(2026, 1, 31, 23, 59), t(2026, 2, 1)),
        ({"policy": "end_of_month"}, t(2026, 2, 1), t(2026, 3, 1)),
        ({"policy": "end_of_year"}, t(2026, 3, 10, 8), t(2027, 1, 1)),
        ({"policy": "end_of_year"}, t(2026, 12, 31, 23, 59), t(2027, 1, 1)),
        ({"policy": "after_days", "days": 30}, t(2026, 1, 10, 12), t(2026, 2, 9, 12)),
        ({"policy": "never"}, t(2026, 1, 10), None),
    ],
)
def test_expires_at(expiry, start, expected) -> None:
    assert expires_at(make_rules(expiry=expiry), start) == expected


@pytest.mark.parametrize(
    "policy",
    [
        "end_of_month",
        "end_of_year",
    ],
)
def test_expiry_depends_on_the_instant_not_its_offset(policy) -> None:
    rules = make_rules(expiry={"policy": policy})
    local = datetime(2026, 12, 31, 20, tzinfo=timezone(timedelta(hours=-5)))
    assert expires_at(rules, local) == expires_at(rules, local.astimezone(UTC))
    assert expires_at(rules, local) > local


# -- FIFO, debt, reversals, expiry ------------------------------------------------------------


def test_january_points_expire_on_the_first_of_february_even_with_a_later_lot() -> None:
    delayed = make_rules(accrual={"delay_days": 10}, expiry={"policy": "end_of_month"})
    moves = [
        earned("jan", 100, t(2026, 1, 10), MONTHLY),
        spent("sale", 30, t(2026, 1, 20)),
        earned("late", 100, t(2026, 1, 25), delayed),  # spendable 4 February, expires 1 March
    ]
    assert balance(moves, t(2026, 1, 31, 23, 59)) == Balance(available=70, pending=100, expired=0)
    assert balance(moves, t(2026, 2, 1)) == Balance(available=0, pending=100, expired=70)
    assert balance(moves, t(2026, 2, 5)) == Balance(available=100, pending=0, expired=70)
    assert balance(moves, t(2026, 3, 1)) == Balance(available=0, pending=0, expired=170)


def test_spending_from_two_january_lots_leaves_the_newer_one_to_expire() -> None:
    moves = [
        earned("a", 100, t(2026, 1, 5), MONTHLY),
        earned("b", 100, t(2026, 1, 20), MONTHLY),
        spent("sale", 150, t(2026, 1, 25)),
        earned("feb", 40, t(2026, 2, 3), MONTHLY),
    ]
    assert balance(moves[:3], t(2026, 1, 26)) == Balance(available=50, pending=0, expired=0)
    assert balance(moves, t(2026, 2, 4)) == Balance(available=40, pending=0, expired=50)


def test_a_debit_takes_the_oldest_expiring_lot_first() -> None:
    moves = [
        earned("forever", 100, t(2026, 1, 2), NEVER),  # older, but never expires
        earned("jan", 100, t(2026, 1, 15), MONTHLY),
        spent("sale", 120, t(2026, 1, 20)),
    ]
    # The January lot pays first, so nothing is left in it to expire.
    assert balance(moves, t(2026, 2, 2)) == Balance(available=80, pending=0, expired=0)


def test_debt_is_repaid_by_later_lots() -> None:
    moves = [earned("a", 100, t(2026, 1, 1)), spent("offline-1", 150, t(2026, 1, 5))]
    owing = balance(moves, t(2026, 1, 6))
    assert owing == Balance(available=-50, pending=0, expired=0)
    assert owing.negative
    moves.append(earned("b", 80, t(2026, 1, 10), MONTHLY))
    assert balance(moves, t(2026, 1, 11)) == Balance(available=30, pending=0, expired=0)
    # The debt came out of lot b before it could expire: only the rest expires.
    assert balance(moves, t(2026, 2, 2)) == Balance(available=0, pending=0, expired=30)
    assert not balance(moves, t(2026, 1, 11)).negative


def test_a_reversal_cancels_its_own_pending_lot() -> None:
    slow = make_rules(accrual={"delay_days": 14})
    moves = [earned("old", 100, t(2026, 1, 1)), earned("sale-1", 200, t(2026, 1, 10), slow)]
    assert balance(moves, t(2026, 1, 12)) == Balance(available=100, pending=200, expired=0)
    moves.append(spent("return-1", 80, t(2026, 1, 12), kind=REVERSE, lot="sale-1"))
    assert balance(moves, t(2026, 1, 13)) == Balance(available=100, pending=120, expired=0)
    assert balance(moves, t(2026, 1, 25)) == Balance(available=220, pending=0, expired=0)


def test_a_lot_expiring_at_t_cannot_pay_for_a_debit_at_t() -> None:
    lot = earned("jan", 100, t(2026, 1, 10), MONTHLY)
    just_before = [lot, spent("sale", 30, t(2026, 2, 1) - timedelta(seconds=1))]
    assert balance(just_before, t(2026, 2, 1)) == Balance(available=0, pending=0, expired=70)
    at_expiry = [lot, spent("sale", 30, t(2026, 2, 1))]
    assert balance(at_expiry, t(2026, 2, 1)) == Balance(available=-30, pending=0, expired=100)


def test_debits_after_now_do_not_count() -> None:
    moves = [earned("a", 100, t(2026, 1, 1)), spent("later", 40, t(2026, 3, 1))]
    assert balance(moves, t(2026, 2, 1)) == Balance(available=100, pending=0, expired=0)


def test_earnings_after_now_do_not_count() -> None:
    moves = [earned("a", 100, t(2026, 1, 1)), earned("later", 100, t(2026, 3, 1))]
    assert balance(moves, t(2026, 2, 1)) == Balance(available=100, pending=0, expired=0)


def test_simultaneous_lots_repay_debt_whatever_the_list_order() -> None:
    debt = spent("offline", 50, t(2026, 1, 5))
    expiring = Movement(EARN, 100, t(2026, 1, 10), "A", expires_at=t(2026, 2, 1))
    lasting = Movement(EARN, 100, t(2026, 1, 10), "B")
    now = t(2026, 3, 1)
    assert balance([debt, expiring, lasting], now) == balance([debt, lasting, expiring], now)


# -- properties ------------------------------------------------------------------------------

BASE = t(2026, 1, 1)


@st.composite
def schedules(draw, pending=True, expiry=True, max_size=12):
    """Movements within the first 90 days of 2026; every instant in a schedule is distinct.

    Each movement gets its own minute of the day, and accrual and expiry move whole days, so no
    two events ever share an instant.
    """
    size = draw(st.integers(0, max_size))
    minutes = draw(st.lists(st.integers(0, 1439), min_size=size, max_size=size, unique=True))
    moves: list[Movement] = []
    for i, minute in enumerate(minutes):
        when = BASE + timedelta(days=draw(st.integers(0, 90)), minutes=minute)
        amount = draw(st.integers(1, 500))
        earns = [m for m in moves if m.points > 0 and m.at < when]
        kind = draw(st.sampled_from([EARN, EARN, ADJUST, REDEEM, REVERSE, ADJUST]))
        if kind == EARN or (kind == ADJUST and draw(st.booleans())):
            start = when + timedelta(days=draw(st.integers(0, 40))) if pending else when
            ends = start + timedelta(days=draw(st.integers(1, 60))) if expiry and draw(st.booleans()) else None
            moves.append(Movement(kind, amount, when, f"m{i}", available_at=start, expires_at=ends))
        else:
            lot = draw(st.sampled_from(earns)).ref if kind == REVERSE and earns else None
            moves.append(Movement(kind, -amount, when, f"m{i}", lot=lot))
    return moves


@given(moves=schedules(pending=False, expiry=False))
@FAST
def test_balance_is_the_sum_of_the_ledger(moves) -> None:
    got = balance(moves, BASE + timedelta(days=365))
    assert got == Balance(available=sum(m.points for m in moves), pending=0, expired=0)


@given(moves=schedules(), days=st.integers(91, 200))
@FAST
def test_every_point_is_available_pending_or_expired(moves, days) -> None:
    got = balance(moves, BASE + timedelta(days=days))
    earned_total = sum(m.points for m in moves if m.points > 0)
    debited = sum(-m.points for m in moves if m.points < 0)
    assert got.pending >= 0 and got.expired >= 0
    assert got.available + got.pending + got.expired == earned_total - debited


@given(moves=schedules(), days=st.integers(0, 200), data=st.data())
@FAST
def test_the_order_of_the_list_does_not_matter(moves, days, data) -> None:
    now = BASE + timedelta(days=days)
    shuffled = data.draw(st.permutations(moves))
    assert balance(shuffled, now) == balance(moves, now)


@given(moves=schedules(expiry=False), days=st.integers(0, 200))
@FAST
def test_without_expiry_nothing_expires_and_debts_only_come_from_debits(moves, days) -> None:
    got = balance(moves, BASE + timedelta(days=days))
    assert got.expired == 0
    if all(m.points > 0 for m in moves):
        assert got.available >= 0


@given(moves=schedules(), cut=st.integers(0, 120), later=st.integers(0, 200))
@FAST
def test_holdings_carry_a_balance_forward_in_time(moves, cut, later) -> None:
    """What central sends (its holdings at ``cut``) folds, with the edge's later movements, to
    the same balance at any later time as the whole history would."""
    t0 = BASE + timedelta(days=cut)
    t1 = t0 + timedelta(days=later)
    before = [m for m in moves if m.at <= t0]
    after = [m for m in moves if m.at > t0]
    carried = holdings(before, t0).movements() + after
    whole, folded = balance(moves, t1), balance(carried, t1)
    assert (folded.available, folded.pending) == (whole.available, whole.pending)


@given(moves=schedules(), days=st.integers(0, 200))
@FAST
def test_holdings_are_the_balance_they_were_taken_from(moves, days) -> None:
    now = BASE + timedelta(days=days)
    held = holdings(moves, now)
    got = balance(moves, now)
    assert all(lot.points > 0 for lot in held.lots) and held.debt >= 0
    assert sum(lot.points for lot in held.lots if lot.available_at <= now) - held.debt == got.available
    assert sum(lot.points for lot in held.lots if lot.available_at > now) == got.pending


def test_pending_points_mature_and_expire_on_their_own_dates_once_carried() -> None:
    carried = Holdings((Lot("a", 30, t(2026, 3, 1), t(2026, 4, 1)),), debt=0).movements()
    assert balance(carried, t(2026, 2, 15)) == Balance(available=0, pending=30, expired=0)
    assert balance(carried, t(2026, 3, 1)).available == 30
    assert balance(carried, t(2026, 4, 1)).available == 0


def test_a_carried_debt_is_repaid_by_a_carried_pending_lot() -> None:
    carried = Holdings((Lot("a", 50, t(2026, 3, 1), None),), debt=20).movements()
    assert balance(carried, t(2026, 2, 1)) == Balance(available=-20, pending=50, expired=0)
    assert balance(carried, t(2026, 3, 2)).available == 30
