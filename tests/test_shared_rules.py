"""The rules document: validation that lists every problem, and choosing the version in force."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from shared.rules import DEFAULT_DOCUMENT, parse_rules, rules_in_effect

UTC = timezone.utc

# The example from docs/contract.md "Rules document", verbatim.
CONTRACT_EXAMPLE = {
    "effective_from": "2026-12-01T00:00:00Z",
    "earn": {"rate": "0.1", "exclude_discounted": False, "exclude_categories": [], "per_item": {"SKU1": 5}},
    "accrual": {"delay_days": 0},
    "expiry": {"policy": "never"},
    "redeem": {"point_value": 1, "max_share_percent": 100, "min_balance": 0,
               "require_cash_line": False, "offline_cap": 5000},
    "tiers": [{"name": "Basic", "threshold": 0, "discount_percent": 0, "extra_earn_percent": 0}],
    "rewards": [{"sku": "GIFT1", "name": "Tote bag", "cost": 100}],
    "one_reward_per_sale": True,
}


def doc(**changes) -> dict:
    """A deep copy of the contract example with top-level sections replaced."""
    document = copy.deepcopy(CONTRACT_EXAMPLE)
    document.update(copy.deepcopy(changes))
    return document


def ruleset(version: int, effective_from: str | None):
    document = doc()
    if effective_from is None:
        del document["effective_from"]
    else:
        document["effective_from"] = effective_from
    rules, problems = parse_rules(document, version=version)
    assert problems == []
    return rules


def test_default_document_parses() -> None:
    rules, problems = parse_rules(copy.deepcopy(DEFAULT_DOCUMENT))
    assert problems == []
    assert rules.earn_rate == Fraction(1, 10)
    assert rules.point_value == 1
    assert rules.expiry_policy == "never"
    assert rules.effective_from is None


def test_contract_example_parses_into_its_values() -> None:
    rules, problems = parse_rules(doc(), version=7)
    assert problems == []
    assert rules.version == 7
    assert rules.effective_from == datetime(2026, 12, 1, tzinfo=UTC)
    assert rules.earn_rate == Fraction(1, 10)
    assert dict(rules.per_item) == {"SKU1": 5}
    assert rules.accrual_delay_days == 0 and rules.accrual_day_of_next_month is None
    assert (rules.max_share_percent, rules.min_balance, rules.offline_cap) == (100, 0, 5000)
    assert rules.require_cash_line is False
    assert [t.name for t in rules.tiers] == ["Basic"]
    assert rules.reward("GIFT1").cost == 100
    assert rules.reward("NOPE") is None
    assert rules.one_reward_per_sale is True


def test_absent_sections_take_the_defaults() -> None:
    rules, problems = parse_rules({"earn": {"rate": "0.2"}})
    assert problems == []
    assert rules.earn_rate == Fraction(1, 5)
    assert rules.point_value == DEFAULT_DOCUMENT["redeem"]["point_value"]
    assert rules.offline_cap == DEFAULT_DOCUMENT["redeem"]["offline_cap"]


def test_every_problem_is_listed_at_once() -> None:
    bad = doc(
        effective_from="2026-12-01T00:00:00",  # naive: no offset
        earn={"rate": 0.1},  # a float, not a decimal string
        accrual={"delay_days": 3, "day_of_next_month": 5},
        expiry={"policy": "after_days"},  # days missing
        redeem={"point_value": 1, "max_share_percent": 150},
        tiers=[
            {"name": "Basic", "threshold": 0},
            {"name": "Silver", "threshold": 50000},
            {"name": "Gold", "threshold": 50000},
        ],
        rewards=[{"sku": "GIFT1", "name": "Tote bag", "cost": 100}, {"sku": "GIFT1", "name": "Mug", "cost": 50}],
        colour="blue",
    )
    rules, problems = parse_rules(bad)
    assert rules is None
    paths = sorted(p.path for p in problems)
    assert paths == sorted(
        [
            "effective_from",
            "earn.rate",
            "accrual",
            "expiry.days",
            "redeem.max_share_percent",
            "tiers",
            "rewards",
            "colour",
        ]
    )
    assert all(p.message for p in problems)
    assert all(set(p.as_dict()) == {"path", "message"} for p in problems)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"earn": {"rate": "-0.1"}}, "earn.rate"),
        ({"earn": {"rate": "1e3"}}, "earn.rate"),
        ({"earn": {"rate": "0.1", "per_item": {"SKU1": -1}}}, "earn.per_item.SKU1"),
        ({"earn": {"rate": "0.1", "exclude_discounted": "yes"}}, "earn.exclude_discounted"),
        ({"earn": {"rate": "0.1", "bonus": 1}}, "earn.bonus"),
        ({"accrual": {"day_of_next_month": 31}}, "accrual.day_of_next_month"),
        ({"expiry": {"policy": "sometimes"}}, "expiry.policy"),
        ({"expiry": {"policy": "never", "days": 30}}, "expiry.days"),
        ({"redeem": {"point_value": 0}}, "redeem.point_value"),
        ({"redeem": {"min_balance": True}}, "redeem.min_balance"),
        ({"tiers": [{"name": "Basic", "threshold": 100}]}, "tiers[0].threshold"),
        ({"tiers": [{"name": "Basic", "threshold": 0}, {"name": "Basic", "threshold": 10}]}, "tiers"),
        ({"rewards": [{"sku": "G", "name": "Mug", "cost": 0}]}, "rewards[0].cost"),
        ({"one_reward_per_sale": 1}, "one_reward_per_sale"),
        ({"effective_from": "tomorrow"}, "effective_from"),
    ],
)
def test_single_mistakes_are_reported_at_their_path(changes, path) -> None:
    rules, problems = parse_rules(doc(**changes))
    assert rules is None
    assert [p.path for p in problems] == [path]


@pytest.mark.parametrize("document", [None, [], "rules", 42])
def test_a_document_that_is_not_an_object_is_refused(document) -> None:
    rules, problems = parse_rules(document)
    assert rules is None
    assert len(problems) == 1


def test_effective_from_with_an_offset_is_read_as_utc() -> None:
    rules, problems = parse_rules(doc(effective_from="2026-12-01T01:00:00+01:00"))
    assert problems == []
    assert rules.effective_from == datetime(2026, 12, 1, tzinfo=UTC)


# -- choosing the version in force ---------------------------------------------------------


def test_latest_started_version_is_in_force() -> None:
    v1 = ruleset(1, "2026-01-01T00:00:00Z")
    v2 = ruleset(2, "2026-06-01T00:00:00Z")
    v3 = ruleset(3, "2026-12-01T00:00:00Z")
    versions = [v3, v1, v2]
    assert rules_in_effect(versions, datetime(2026, 3, 1, tzinfo=UTC)) is v1
    assert rules_in_effect(versions, datetime(2026, 7, 1, tzinfo=UTC)) is v2
    assert rules_in_effect(versions, datetime(2027, 1, 1, tzinfo=UTC)) is v3


def test_switches_exactly_at_effective_from() -> None:
    v1 = ruleset(1, "2026-01-01T00:00:00Z")
    v2 = ruleset(2, "2026-12-01T00:00:00Z")
    switch = datetime(2026, 12, 1, tzinfo=UTC)
    assert rules_in_effect([v1, v2], switch - timedelta(microseconds=1)) is v1
    assert rules_in_effect([v1, v2], switch) is v2


def test_future_versions_are_ignored() -> None:
    v1 = ruleset(1, "2026-12-01T00:00:00Z")
    assert rules_in_effect([v1], datetime(2026, 11, 30, tzinfo=UTC)) is None
    v0 = ruleset(5, None)
    # A higher version number does not matter if it has not started yet.
    v9 = ruleset(9, "2030-01-01T00:00:00Z")
    assert rules_in_effect([v9, v0], datetime(2026, 11, 30, tzinfo=UTC)) is v0


def test_same_start_higher_version_wins() -> None:
    a = ruleset(4, "2026-06-01T00:00:00Z")
    b = ruleset(6, "2026-06-01T00:00:00Z")
    now = datetime(2026, 7, 1, tzinfo=UTC)
    assert rules_in_effect([a, b], now) is b
    assert rules_in_effect([b, a], now) is b


def test_no_effective_from_means_from_the_beginning() -> None:
    base = ruleset(8, None)
    dated = ruleset(2, "2026-06-01T00:00:00Z")
    assert rules_in_effect([base], datetime(1990, 1, 1, tzinfo=UTC)) is base
    # A dated version that has started is later than "the beginning", whatever its number.
    assert rules_in_effect([base, dated], datetime(2026, 7, 1, tzinfo=UTC)) is dated
    assert rules_in_effect([base, dated], datetime(2026, 5, 1, tzinfo=UTC)) is base
    assert rules_in_effect([ruleset(1, None), base], datetime(2026, 5, 1, tzinfo=UTC)) is base


def test_now_in_another_offset_is_the_same_instant() -> None:
    v1 = ruleset(1, "2026-01-01T00:00:00Z")
    v2 = ruleset(2, "2026-12-01T00:00:00Z")
    paris = timezone(timedelta(hours=1))
    # 00:30 in Paris on 1 December is still 30 November in UTC.
    assert rules_in_effect([v1, v2], datetime(2026, 12, 1, 0, 30, tzinfo=paris)) is v1
    assert rules_in_effect([v1, v2], datetime(2026, 12, 1, 1, 0, tzinfo=paris)) is v2


def test_no_versions_means_no_rules() -> None:
    assert rules_in_effect([], datetime(2026, 1, 1, tzinfo=UTC)) is None


# -- tiers ---------------------------------------------------------------------------------


def test_tier_for_spend_picks_the_highest_reached_threshold() -> None:
    rules, problems = parse_rules(
        doc(
            tiers=[
                {"name": "Basic", "threshold": 0},
                {"name": "Silver", "threshold": 50000, "extra_earn_percent": 10},
                {"name": "Gold", "threshold": 200000, "extra_earn_percent": 25},
            ]
        )
    )
    assert problems == []
    assert rules.tier_for_spend(0).name == "Basic"
    assert rules.tier_for_spend(49999).name == "Basic"
    assert rules.tier_for_spend(50000).name == "Silver"
    assert rules.tier_for_spend(199999).name == "Silver"
    assert rules.tier_for_spend(200000).name == "Gold"
    assert rules.tier_for_spend(10**9).name == "Gold"
    assert rules.tier("Gold").extra_earn_percent == 25
    assert rules.tier("Platinum") is None
