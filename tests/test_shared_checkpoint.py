"""Properties of balance checkpoints (shared.checkpoint): carrying a fold forward from a
checkpoint gives exactly what folding the whole history gives, at any later time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.accounts import Account, offline_spendable
from shared.checkpoint import checkpoint
from shared.ledger import EARN, EPOCH, REDEEM, REVERSE, Holdings, Lot, Movement, balance
from shared.rules import DEFAULT_DOCUMENT, parse_rules

T0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
RULES = parse_rules(DEFAULT_DOCUMENT)[0]


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@st.composite
def histories(draw):
    """Movements in the order a shop records them: earns that mature after a delay and may
    expire, redemptions, and reversals of earlier earns; dates mostly rising, sometimes not."""
    movements: list[Movement] = []
    clock = 0
    for n in range(draw(st.integers(0, 14))):
        clock += draw(st.integers(-3, 40))
        kind = draw(st.sampled_from([EARN, EARN, REDEEM, REVERSE]))
        earns = [m for m in movements if m.kind == EARN]
        if kind == EARN:
            delay = draw(st.sampled_from([0, 0, 5, 30]))
            life = draw(st.sampled_from([None, None, 20, 90]))
            start = minutes(clock + delay)
            movements.append(Movement(EARN, draw(st.integers(1, 50)), minutes(clock), f"s{n}:earn",
                                      available_at=start, expires_at=start + timedelta(minutes=life) if life else None))
        elif kind == REDEEM:
            movements.append(Movement(REDEEM, -draw(st.integers(1, 60)), minutes(clock), f"s{n}:redeem"))
        elif earns:
            target = draw(st.sampled_from(earns))
            movements.append(Movement(REVERSE, -draw(st.integers(1, target.points)), minutes(clock), f"r{n}:reverse",
                                      lot=target.ref))
    return movements


central = st.one_of(st.none(), st.builds(
    lambda lots, debt: Holdings(tuple(Lot(f"c{i}", p, minutes(d), minutes(d + life) if life else None)
                                      for i, (p, d, life) in enumerate(lots)), debt),
    st.lists(st.tuples(st.integers(1, 80), st.integers(-30, 60), st.sampled_from([None, 15, 200])), max_size=3),
    st.integers(0, 40)))


def starts(movements: list[Movement]) -> dict[str, datetime]:
    return {m.ref: m.available_at or m.at for m in movements if m.points > 0}


def scratch(held: Holdings | None, movements: list[Movement]) -> Account:
    return Account(held, list(movements))


@given(central=central, history=histories(), split=st.integers(0, 14), wait=st.integers(0, 60),
       later=st.lists(st.integers(0, 400), min_size=1, max_size=4))
@settings(max_examples=600, deadline=None)
def test_a_fold_from_a_checkpoint_equals_the_fold_from_scratch(central, history, split, wait, later):
    """Whatever the history, wherever the checkpoint, at every later moment: the same balance,
    the same points spent here, and a new checkpoint that carries on just as well."""
    before, after = history[:split], history[split:]
    last = max((m.at for m in before), default=T0)
    at = last + timedelta(minutes=wait)
    whole_before = scratch(central, before)
    taken = whole_before.checkpoint(at)
    assert taken is not None
    assert taken.balance == whole_before.points(at)
    whole = scratch(central, history)
    for offset in sorted(later):
        now = at + timedelta(minutes=offset)
        resumed = Account(None, list(after), since=taken, starts=starts(history), refold=lambda: whole)
        assert resumed.points(now) == whole.points(now)
        assert resumed.spent_here() == whole.spent_here()
        assert offline_spendable(resumed, RULES, now) == offline_spendable(whole, RULES, now)
        carried = taken.advance(after, now, starts(history))
        if carried is not None:  # carried forward without the history: it must be exact
            assert carried.balance == balance((central.movements() if central else []) + history, now)
            assert carried.spent == whole.spent_here()
            again = Account(None, [], since=carried, refold=lambda: whole)
            for more in (0, 7, 45, 500):
                assert again.points(now + timedelta(minutes=more)) == whole.points(now + timedelta(minutes=more))


def test_a_long_history_is_carried_forward_without_folding_it():
    """A loyal customer's many sales: each new sale advances the last checkpoint (no refold),
    and the balance is the fold of everything."""
    history = [Movement(EARN, 3, minutes(n), f"s{n}:earn", available_at=minutes(n)) for n in range(2000)]

    def refold():
        raise AssertionError("folded the whole history")

    taken = checkpoint(history[:1], minutes(0), 0)
    for n in range(1, 2000):
        taken = Account(None, [history[n]], since=taken, refold=refold).checkpoint(minutes(n))
    assert taken.balance == balance(history, minutes(2000))
    assert taken.available == 6000


def test_points_mature_and_expire_on_their_dates_after_a_checkpoint():
    """A checkpoint taken while points are pending, then read after they matured and after
    they expired, tells what a full fold tells (it refolds at each horizon)."""
    earn = Movement(EARN, 40, minutes(0), "s:earn", available_at=minutes(60), expires_at=minutes(120))
    taken = checkpoint([earn], minutes(1), 0)
    assert taken.horizon == minutes(60)
    whole = Account(None, [earn])
    resumed = Account(None, [], since=taken, refold=lambda: whole)
    assert resumed.points(minutes(30)).pending == 40
    assert resumed.points(minutes(61)).available == 40
    assert resumed.points(minutes(121)) == balance([earn], minutes(121))
    assert resumed.points(minutes(121)).available == 0


def test_a_clock_set_back_takes_no_checkpoint():
    """A movement dated after the moment of the fold would be left out of it for good."""
    assert checkpoint([Movement(EARN, 5, minutes(10), "e")], minutes(5), 0) is None
    assert checkpoint([Movement(EARN, 5, EPOCH, "e")], minutes(5), 0) is not None


def test_a_return_of_points_still_pending_takes_them_from_the_pending_points():
    """A reversal cancels its own lot first, pending or not: after a checkpoint, the pending
    points go down, not the spendable ones."""
    earn = Movement(EARN, 40, minutes(0), "s:earn", available_at=minutes(60))
    cash = Movement(EARN, 10, minutes(0), "t:earn", available_at=minutes(0))
    back = Movement(REVERSE, -15, minutes(5), "r:reverse", lot="s:earn")
    taken = checkpoint([earn, cash], minutes(1), 0)
    whole = Account(None, [earn, cash, back])
    resumed = Account(None, [back], since=taken, starts=starts([earn, cash]), refold=lambda: whole)
    assert resumed.points(minutes(10)) == whole.points(minutes(10))
    assert (resumed.points(minutes(10)).available, resumed.points(minutes(10)).pending) == (10, 25)
