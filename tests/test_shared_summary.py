"""The running summary's short cut (shared.summary) always agrees with the full fold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ledger import Movement, balance
from shared.summary import Summary
from shared.times import format_time

NOW = datetime(2030, 6, 15, 12, tzinfo=timezone.utc)

movement = st.tuples(
    st.sampled_from(["earn", "redeem"]),
    st.integers(1, 500),
    st.integers(-40, 5),                            # at, in days from NOW
    st.one_of(st.none(), st.integers(-40, 20)),     # available_at offset
    st.one_of(st.none(), st.integers(-30, 60)),     # expires_at offset
)


@settings(max_examples=300, deadline=None)
@given(st.lists(movement, max_size=12))
def test_the_short_cut_answers_only_what_the_fold_would(raw):
    summary, movements = Summary(), []
    for n, (kind, points, at_days, available_days, expires_days) in enumerate(raw):
        at = NOW + timedelta(days=at_days)
        if kind == "earn":
            available = at + timedelta(days=available_days) if available_days is not None else None
            expires = (available or at) + timedelta(days=expires_days) if expires_days is not None else None
            m = Movement("earn", points, at, f"m{n}", available, expires)
        else:
            m = Movement("redeem", -points, at, f"m{n}")
        movements.append(m)
        summary.add(m.points, format_time(m.at), format_time(m.available_at) if m.available_at else None,
                    format_time(m.expires_at) if m.expires_at else None)
    quick = summary.holdings(format_time(NOW))
    if quick is not None:
        got, folded = quick.balance(NOW), balance(movements, NOW)
        assert (got.available, got.pending) == (folded.available, folded.pending)
    else:  # the short cut declines only when something lies ahead or can expire
        assert any(m.at > NOW or (m.available_at and m.available_at > NOW) or m.expires_at for m in movements)
