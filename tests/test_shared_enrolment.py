"""The enrolment window (docs/rules.md "The enrolment window"): who earns, from when, and the
rules document's check of the section."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.enrolment import Window, earns
from shared.rules import parse_rules

UTC = timezone.utc
WINDOW = Window(date(2027, 1, 1), date(2027, 6, 30))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("registered", "sold", "expected"),
    [
        ("2027-03-10T09:00:00", "2027-03-10T09:05:00", True),   # registered inside: earns at once
        ("2027-06-30T23:59:00", "2027-07-02T10:00:00", True),   # the last day counts; enrolled ones keep earning
        ("2026-12-20T10:00:00", "2026-12-24T10:00:00", False),  # registered before: nothing until the window opens
        ("2026-12-20T10:00:00", "2027-01-01T00:00:00", True),   # … and earns from its first day
        ("2027-07-01T00:00:00", "2027-07-01T10:00:00", False),  # registered after: a card, no points
        ("2027-07-01T00:00:00", "2028-01-01T10:00:00", False),
    ],
)
def test_who_earns_under_the_window(registered, sold, expected) -> None:
    assert WINDOW.earns(at(registered), at(sold)) is expected


def test_no_window_or_open_bounds_earn_as_always() -> None:
    assert earns(None, at("2030-01-01T00:00:00"), at("2030-01-01T00:00:00"))
    assert Window(None, date(2027, 6, 30)).earns(at("2020-01-01T00:00:00"), at("2020-01-01T00:00:01"))
    assert Window(date(2027, 1, 1), None).earns(at("2031-01-01T00:00:00"), at("2031-01-01T00:00:01"))


def test_the_section_is_checked_with_every_problem_listed() -> None:
    _, problems = parse_rules({"enrolment": {"from": "2027-02-30", "until": 20270630, "to": "x"}})
    assert sorted(p.path for p in problems) == ["enrolment.from", "enrolment.to", "enrolment.until"]
    _, problems = parse_rules({"enrolment": {"from": "2027-07-01", "until": "2027-06-30"}})
    assert [(p.path, p.message) for p in problems] == [("enrolment.until", "must not be before enrolment.from")]
    _, problems = parse_rules({"enrolment": "2027"})
    assert [p.path for p in problems] == ["enrolment"]
    rules, problems = parse_rules({"enrolment": {"from": "2027-01-01", "until": "2027-06-30"}})
    assert problems == [] and rules.enrolment == WINDOW


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@given(registered=moments, first=moments, later=moments)
def test_once_a_customer_earns_every_later_sale_earns(registered, first, later) -> None:
    first, later = sorted((max(first, registered), max(later, registered)))
    if WINDOW.earns(registered, first):
        assert WINDOW.earns(registered, later)
