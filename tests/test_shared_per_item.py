"""When per-item points change (docs/rules.md "Per-item points change on the 1st of a month")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.per_item import (
    Publication,
    changes_added,
    is_month_start,
    next_month_start,
    per_item_changes,
    schedule_problems,
)

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NOW = at("2026-11-20T10:00:00")  # when the versions below are published, unless a test says otherwise
V1 = Publication(1, at("2026-12-01T00:00:00"), {"BAG1": 5})
V2 = Publication(2, at("2027-01-01T00:00:00"), {"BAG1": 7})


def test_is_month_start() -> None:
    assert is_month_start(at("2030-01-01T00:00:00"))
    assert is_month_start(datetime(2030, 3, 1, 1, tzinfo=timezone(timedelta(hours=1))))  # 00:00 UTC
    assert not is_month_start(datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    assert not is_month_start(at("2030-01-02T00:00:00"))


@pytest.mark.parametrize(("moment", "expected"), [
    ("2026-12-15T10:30:00", "2027-01-01T00:00:00"),
    ("2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ("2027-01-31T23:59:59", "2027-02-01T00:00:00"),
    ("2028-02-29T12:00:00", "2028-03-01T00:00:00"),
])
def test_next_month_start(moment: str, expected: str) -> None:
    assert next_month_start(at(moment)) == at(expected)


def test_a_version_repeating_a_later_table_mid_month_changes_points_mid_month() -> None:
    # The reported case: v3 from Dec 15 repeats v2's table, so BAG1 goes 5 -> 7 on Dec 15.
    v3 = Publication(3, at("2026-12-15T00:00:00"), {"BAG1": 7})
    (change,) = changes_added([V1, V2], v3, NOW)
    assert (change.at, change.before, change.after) == (at("2026-12-15T00:00:00"), V1, v3)
    (problem,) = schedule_problems([V1, V2], v3, NOW)
    assert problem.path == "earn.per_item"
    assert "2026-12-15T00:00:00.000Z" in problem.message and "version 1" in problem.message
    assert "1st of a month" in problem.message and "2027-01-01T00:00:00.000Z" in problem.message


def test_a_mid_month_version_keeping_the_table_in_force_is_accepted() -> None:
    # v3 keeps v1's table until v2 takes over on Jan 1: the only change stays on Jan 1.
    v3 = Publication(3, at("2026-12-15T00:00:00"), {"BAG1": 5})
    assert schedule_problems([V1, V2], v3, NOW) == []
    assert [c.at for c in per_item_changes([V1, V2, v3])] == [at("2027-01-01T00:00:00")]


def test_a_later_version_mid_month_is_named() -> None:
    # v2 changes only the rate on Dec 20; a new Dec 1 table would change again on Dec 20.
    v1 = Publication(1, at("2026-11-01T00:00:00"), {"BAG1": 5})
    v2 = Publication(2, at("2026-12-20T00:00:00"), {"BAG1": 5})
    v3 = Publication(3, at("2026-12-01T00:00:00"), {"BAG1": 7})
    (problem,) = schedule_problems([v1, v2], v3, NOW)
    assert "2026-12-20T00:00:00.000Z" in problem.message and "version 2" in problem.message


def test_the_same_start_replaces_the_lower_version() -> None:
    # Among versions starting together the highest number is in force: v3 replaces V1 outright.
    v3 = Publication(3, V1.effective_from, {"BAG1": 9})
    assert schedule_problems([V1, V2], v3, NOW) == []
    assert [(c.before.version, c.after.version) for c in per_item_changes([V1, V2, v3])] == [(3, 2)]


def test_a_sku_at_zero_points_is_no_change() -> None:
    v3 = Publication(3, at("2026-12-15T00:00:00"), {"BAG1": 5, "HAT": 0})
    assert schedule_problems([V1, V2], v3, NOW) == []


def test_the_first_version_may_start_any_time() -> None:
    assert schedule_problems([], Publication(1, at("2026-12-15T09:41:00"), {"BAG1": 5}), NOW) == []


def test_an_irregular_change_already_published_is_not_blamed_on_the_next_version() -> None:
    # Accepted before the rule looked past the previous version: Dec 15, 5 -> 7.
    old = [V1, V2, Publication(3, at("2026-12-15T00:00:00"), {"BAG1": 7})]
    assert schedule_problems(old, Publication(4, at("2027-02-01T00:00:00"), {"BAG1": 8}), NOW) == []
    assert schedule_problems(old, Publication(4, at("2026-12-20T00:00:00"), {"BAG1": 8}), NOW) != []


def test_a_version_starting_in_the_past_changes_the_table_when_published() -> None:
    # Published on Dec 20 "from Dec 1": sales since Dec 1 keep v1's table, so BAG1 changes on Dec 20.
    now = at("2026-12-20T09:00:00")
    v2 = Publication(2, at("2026-12-01T00:00:00"), {"BAG1": 7})
    (problem,) = schedule_problems([V1], v2, now)
    assert "2026-12-20T09:00:00.000Z" in problem.message and "as soon as it is published" in problem.message
    assert schedule_problems([V1], Publication(2, at("2026-12-01T00:00:00"), {"BAG1": 5}), now) == []
    assert schedule_problems([V1], v2, at("2027-01-01T00:00:00")) == []  # published on the 1st itself


def test_a_version_starting_now_replaces_the_table_in_force_now() -> None:
    # Without effective_from a version starts when it is published, even at V1's own start.
    v2 = Publication(2, V1.effective_from, {"BAG1": 7})
    assert schedule_problems([V1], v2, V1.effective_from) == []  # the 1st: allowed
    mid_month = Publication(1, at("2026-12-03T08:00:00"), {"BAG1": 5})
    (problem,) = schedule_problems([mid_month], Publication(2, mid_month.effective_from, {"BAG1": 7}),
                                   mid_month.effective_from)
    assert "2026-12-03T08:00:00.000Z" in problem.message


# --- property: accepted publications only ever change per-item points on the 1st -------------

# A few instants on and off month starts, so that collisions and orderings are frequent.
INSTANTS = [at(t) for t in ("2026-11-01T00:00:00", "2026-11-17T08:00:00", "2026-12-01T00:00:00",
                            "2026-12-15T00:00:00", "2026-12-31T23:59:59", "2027-01-01T00:00:00",
                            "2027-01-01T00:00:01", "2027-02-01T00:00:00")]
TABLES = [{}, {"BAG1": 5}, {"BAG1": 7}, {"BAG1": 5, "HAT": 2}, {"BAG1": 5, "HAT": 0}]
# (published at, effective_from or None for "when published", per-item table)
attempts = st.lists(
    st.tuples(st.sampled_from(INSTANTS), st.none() | st.sampled_from(INSTANTS), st.sampled_from(TABLES)),
    max_size=12,
).map(lambda items: sorted(items, key=lambda item: item[0]))  # stable: time only moves forward


def _experienced(accepted: list[tuple[datetime, Publication]], moment: datetime):
    # Independent of shared.per_item: what an edge prices with at ``moment``, knowing only the
    # versions published by then, each picked as shared.rules.rules_in_effect picks it.
    started = [p for published_at, p in accepted if published_at <= moment and p.effective_from <= moment]
    if not started:
        return None
    current = max(started, key=lambda p: (p.effective_from, p.version))
    return {sku: points for sku, points in current.per_item.items() if points}


@given(attempts)
def test_accepted_publications_change_per_item_points_only_on_the_first(tries) -> None:
    accepted: list[tuple[datetime, Publication]] = []
    for published_at, start, table in tries:
        candidate = Publication(len(accepted) + 1, start or published_at, table)
        if not schedule_problems([p for _, p in accepted], candidate, published_at):
            accepted.append((published_at, candidate))
    tick = timedelta(microseconds=1)
    moments = {p.effective_from for _, p in accepted} | {published_at for published_at, _ in accepted}
    for moment in moments:
        before, after = _experienced(accepted, moment - tick), _experienced(accepted, moment)
        if before is not None and before != after:
            assert is_month_start(moment), (moment, before, after)


@given(attempts, st.sampled_from(INSTANTS), st.sampled_from(INSTANTS), st.sampled_from(TABLES))
def test_a_refusal_names_each_new_mid_month_change(tries, now, start, table) -> None:
    published = [Publication(n, s or p, t) for n, (p, s, t) in enumerate(tries, 1)]
    candidate = Publication(len(published) + 1, start, table)
    problems = schedule_problems(published, candidate, now)
    added = changes_added(published, candidate, now)
    assert len(problems) == len(added)
    assert all(p.path == "earn.per_item" and not is_month_start(c.at) and c.at >= now
               for p, c in zip(problems, added))
