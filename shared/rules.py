"""The rules document (docs/contract.md "Rules document"): parsing, validation, selection.

``parse_rules`` never raises on bad input: it returns every problem it finds, so the rim can
answer with one 422 listing them all. A valid document becomes an immutable ``RuleSet``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Iterable, Mapping, Sequence

from . import giftcards, vouchers
from .enrolment import Window, parse_window
from .money import Points, parse_rate
from .times import parse_time
from .wallet import WalletRules, read_wallet

EXPIRY_POLICIES = ("never", "end_of_month", "end_of_year", "after_days")
TIER_PERIODS = ("lifetime", "rolling_12_months")
"""What qualifying spend decides a tier: all of it, or the last 365 days'."""
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # the change log's text rule (sync/bodies.py)

DEFAULT_DOCUMENT: dict[str, Any] = {
    "earn": {"rate": "0.1", "exclude_discounted": False, "exclude_categories": [], "per_item": {}},
    "accrual": {"delay_days": 0},
    "expiry": {"policy": "never"},
    "redeem": {
        "point_value": 1,
        "max_share_percent": 100,
        "min_balance": 0,
        "require_cash_line": False,
        "offline_cap": 5000,
    },
    "tiers": [{"name": "Basic", "threshold": 0, "discount_percent": 0, "extra_earn_percent": 0}],
    "tier_qualification": {"period": "lifetime"},
    "rewards": [],
    "one_reward_per_sale": True,
}
"""A complete, valid document: 1 point per 10.00, points worth one minor unit each."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a JSON path) and what."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: int
    discount_percent: int = 0
    extra_earn_percent: int = 0


@dataclass(frozen=True)
class Reward:
    sku: str
    name: str
    cost: Points


@dataclass(frozen=True)
class RuleSet:
    """A validated rules document. ``version`` is 0 for rules made locally on an edge."""

    earn_rate: Fraction
    exclude_discounted: bool
    exclude_categories: frozenset[str]
    per_item: Mapping[str, int]
    accrual_delay_days: int | None
    accrual_day_of_next_month: int | None
    expiry_policy: str
    expiry_days: int | None
    point_value: int
    max_share_percent: int
    min_balance: Points
    require_cash_line: bool
    offline_cap: Points
    tiers: tuple[Tier, ...]
    rewards: tuple[Reward, ...]
    one_reward_per_sale: bool
    effective_from: datetime | None = None
    tier_period: str = "lifetime"
    gift_card_valid_days: int = giftcards.DEFAULT_VALID_DAYS
    vouchers_at_sale: vouchers.AtSale = vouchers.AtSale()
    vouchers_welcome: vouchers.Welcome | None = None
    vouchers_birthday: vouchers.Welcome | None = None
    enrolment: Window | None = None  # who earns: shared.enrolment
    version: int = 0
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    wallet: WalletRules = field(default_factory=WalletRules)  # ``shared.wallet``

    def reward(self, sku: str) -> Reward | None:
        """The catalogue reward with this SKU, if any."""
        return next((r for r in self.rewards if r.sku == sku), None)

    def tier(self, name: str | None) -> Tier | None:
        """The tier with this name, if any."""
        return next((t for t in self.tiers if t.name == name), None)

    def tier_for_spend(self, qualifying_spend: int) -> Tier | None:
        """The highest tier whose threshold the qualifying spend has reached."""
        reached = [t for t in self.tiers if t.threshold <= qualifying_spend]
        return reached[-1] if reached else None


class _Checker:
    """Collects problems while reading a nested document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def section(self, doc: Mapping, key: str, allowed: Iterable[str]) -> Mapping:
        value = doc.get(key, DEFAULT_DOCUMENT[key])
        if not isinstance(value, dict):
            self.fail(key, "must be an object")
            return {}
        for extra in sorted(set(value) - set(allowed)):
            self.fail(f"{key}.{extra}", "unknown field")
        return value

    def integer(self, value: Any, path: str, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be an integer")
            return low
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.fail(path, f"must be {bound}")
        return value

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return False
        return value

    def text(self, value: Any, path: str, max_length: int = 200) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be a non-empty string")
            return ""
        if len(value) > max_length:
            self.fail(path, f"must be at most {max_length} characters")
        if _CONTROL.search(value):  # tier names travel in change-log entries, which refuse these
            self.fail(path, "must not contain control characters or lone surrogates")
        return value


_TOP_LEVEL = ("effective_from", "wallet", "enrolment") + tuple(DEFAULT_DOCUMENT) + ("gift_cards", "vouchers")


def parse_rules(document: Any, *, version: int = 0) -> tuple[RuleSet | None, list[Problem]]:
    """Validate a rules document; return ``(RuleSet, [])`` or ``(None, problems)``.

    Sections that are absent take their values from ``DEFAULT_DOCUMENT``.
    """
    check = _Checker()
    if not isinstance(document, dict):
        return None, [Problem("$", "a rules document must be a JSON object")]
    for extra in sorted(set(document) - set(_TOP_LEVEL)):
        check.fail(extra, "unknown field")

    effective_from = None
    if document.get("effective_from") is not None:
        try:
            effective_from = parse_time(document["effective_from"])
        except ValueError:
            check.fail("effective_from", "must be an RFC 3339 time with an offset, e.g. 2026-12-01T00:00:00Z")

    earn = check.section(document, "earn", ("rate", "exclude_discounted", "exclude_categories", "per_item"))
    rate = Fraction(0)
    try:
        rate = parse_rate(earn.get("rate", DEFAULT_DOCUMENT["earn"]["rate"]))
    except ValueError:
        check.fail("earn.rate", 'must be a non-negative decimal string such as "0.1"')
    exclude_discounted = check.boolean(earn.get("exclude_discounted", False), "earn.exclude_discounted")
    categories = earn.get("exclude_categories", [])
    if not isinstance(categories, list):
        check.fail("earn.exclude_categories", "must be a list of category names")
        categories = []
    for i, name in enumerate(categories):
        check.text(name, f"earn.exclude_categories[{i}]")
    per_item = earn.get("per_item", {})
    if not isinstance(per_item, dict):
        check.fail("earn.per_item", "must be an object mapping SKU to points per unit")
        per_item = {}
    for sku, points in per_item.items():
        check.integer(points, f"earn.per_item.{sku}", 0, 1_000_000)

    accrual = check.section(document, "accrual", ("delay_days", "day_of_next_month"))
    delay_days = day_of_next_month = None
    if "delay_days" in accrual and "day_of_next_month" in accrual:
        check.fail("accrual", "give either delay_days or day_of_next_month, not both")
    elif "day_of_next_month" in accrual:
        day_of_next_month = check.integer(accrual["day_of_next_month"], "accrual.day_of_next_month", 1, 28)
    else:
        delay_days = check.integer(accrual.get("delay_days", 0), "accrual.delay_days", 0, 3650)

    expiry = check.section(document, "expiry", ("policy", "days"))
    policy = expiry.get("policy", "never")
    expiry_days = None
    if policy not in EXPIRY_POLICIES:
        check.fail("expiry.policy", f"must be one of {', '.join(EXPIRY_POLICIES)}")
    if policy == "after_days":
        expiry_days = check.integer(expiry.get("days"), "expiry.days", 1, 36500)
    elif "days" in expiry:
        check.fail("expiry.days", "only allowed with policy after_days")

    redeem = check.section(document, "redeem", DEFAULT_DOCUMENT["redeem"])
    defaults = DEFAULT_DOCUMENT["redeem"]
    point_value = check.integer(redeem.get("point_value", defaults["point_value"]), "redeem.point_value", 1, 1_000_000)
    max_share = check.integer(
        redeem.get("max_share_percent", defaults["max_share_percent"]), "redeem.max_share_percent", 0, 100
    )
    min_balance = check.integer(redeem.get("min_balance", 0), "redeem.min_balance", 0)
    require_cash = check.boolean(redeem.get("require_cash_line", False), "redeem.require_cash_line")
    offline_cap = check.integer(redeem.get("offline_cap", defaults["offline_cap"]), "redeem.offline_cap", 0)

    tiers = _parse_tiers(document.get("tiers", DEFAULT_DOCUMENT["tiers"]), check)
    qualification = check.section(document, "tier_qualification", ("period",))
    tier_period = qualification.get("period", "lifetime")
    if tier_period not in TIER_PERIODS:
        check.fail("tier_qualification.period", f"must be one of {', '.join(TIER_PERIODS)}")
    rewards = _parse_rewards(document.get("rewards", []), check)
    one_reward = check.boolean(document.get("one_reward_per_sale", True), "one_reward_per_sale")
    wallet = read_wallet(document.get("wallet"), check)
    gift_card_days = giftcards.valid_days(document.get("gift_cards", {}), check)
    at_sale = vouchers.parse_vouchers(document.get("vouchers", {}), check)
    welcome = vouchers.parse_welcome(document.get("vouchers"), check)
    birthday = vouchers.parse_welcome(document.get("vouchers"), check, "birthday")
    enrolment, found = parse_window(document.get("enrolment"))
    for path, message in found:
        check.fail(path, message)

    if check.problems:
        return None, check.problems
    return (
        RuleSet(
            earn_rate=rate,
            exclude_discounted=exclude_discounted,
            exclude_categories=frozenset(categories),
            per_item=dict(per_item),
            accrual_delay_days=delay_days,
            accrual_day_of_next_month=day_of_next_month,
            expiry_policy=policy,
            expiry_days=expiry_days,
            point_value=point_value,
            max_share_percent=max_share,
            min_balance=min_balance,
            require_cash_line=require_cash,
            offline_cap=offline_cap,
            tiers=tiers,
            rewards=rewards,
            one_reward_per_sale=one_reward,
            effective_from=effective_from,
            tier_period=tier_period,
            gift_card_valid_days=gift_card_days,
            vouchers_at_sale=at_sale,
            vouchers_welcome=welcome,
            vouchers_birthday=birthday,
            enrolment=enrolment,
            version=version,
            document=document,
            wallet=wallet,
        ),
        [],
    )


def _parse_tiers(raw: Any, check: _Checker) -> tuple[Tier, ...]:
    if not isinstance(raw, list):
        check.fail("tiers", "must be a list")
        return ()
    tiers: list[Tier] = []
    for i, item in enumerate(raw):
        path = f"tiers[{i}]"
        if not isinstance(item, dict):
            check.fail(path, "must be an object")
            continue
        for extra in sorted(set(item) - {"name", "threshold", "discount_percent", "extra_earn_percent"}):
            check.fail(f"{path}.{extra}", "unknown field")
        tiers.append(
            Tier(
                name=check.text(item.get("name"), f"{path}.name", 60),
                threshold=check.integer(item.get("threshold"), f"{path}.threshold", 0),
                discount_percent=check.integer(item.get("discount_percent", 0), f"{path}.discount_percent", 0, 100),
                extra_earn_percent=check.integer(
                    item.get("extra_earn_percent", 0), f"{path}.extra_earn_percent", 0, 1000
                ),
            )
        )
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        check.fail("tiers", "tier names must be unique")
    thresholds = [t.threshold for t in tiers]
    if thresholds and thresholds[0] != 0:
        check.fail("tiers[0].threshold", "the first tier is the default tier and must have threshold 0")
    if any(b <= a for a, b in zip(thresholds, thresholds[1:])):
        check.fail("tiers", "thresholds must be strictly increasing")
    return tuple(tiers)


def _parse_rewards(raw: Any, check: _Checker) -> tuple[Reward, ...]:
    if not isinstance(raw, list):
        check.fail("rewards", "must be a list")
        return ()
    rewards: list[Reward] = []
    for i, item in enumerate(raw):
        path = f"rewards[{i}]"
        if not isinstance(item, dict):
            check.fail(path, "must be an object")
            continue
        for extra in sorted(set(item) - {"sku", "name", "cost"}):
            check.fail(f"{path}.{extra}", "unknown field")
        rewards.append(
            Reward(
                sku=check.text(item.get("sku"), f"{path}.sku", 64),
                name=check.text(item.get("name"), f"{path}.name", 120),
                cost=check.integer(item.get("cost"), f"{path}.cost", 1),
            )
        )
    skus = [r.sku for r in rewards]
    if len(set(skus)) != len(skus):
        check.fail("rewards", "reward SKUs must be unique")
    return tuple(rewards)


def rules_in_effect(versions: Sequence[RuleSet], now: datetime) -> RuleSet | None:
    """The version in force at ``now``: the latest ``effective_from`` not after ``now``.

    A version without ``effective_from`` is in force from the beginning of time; among
    versions with the same start the highest version number wins.
    """
    started = [r for r in versions if r.effective_from is None or r.effective_from <= now]
    if not started:
        return None
    return max(started, key=lambda r: (r.effective_from or datetime.min.replace(tzinfo=now.tzinfo), r.version))
