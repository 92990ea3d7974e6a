"""Vouchers by tiers of a sale's total and gift cards spent in full: the pure rules (seed B)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import giftcards, vouchers
from shared.engine import Line, Payment, price_sale
from shared.rules import DEFAULT_DOCUMENT, parse_rules

FAST = settings(max_examples=100, deadline=None)
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
PERCENT = [{"from": 5000, "percent": 5}, {"from": 10000, "percent": 10}, {"from": 15000, "percent": 15}]
AMOUNT = [{"from": 5000, "amount": 500}, {"from": 10000, "amount": 1000}, {"from": 15000, "amount": 1500}]


def rules_with(**sections):
    document = {**copy.deepcopy(DEFAULT_DOCUMENT), **sections}
    rules, problems = parse_rules(document)
    assert problems == [], problems
    return rules


def at_sale(tiers, **extra) -> vouchers.AtSale:
    return rules_with(vouchers={"at_sale": {"tiers": tiers, **extra}}).vouchers_at_sale


@pytest.mark.parametrize("total, by_percent, by_amount", [
    (4999, 0, 0), (5000, 250, 500), (7000, 350, 500), (10000, 1000, 1000), (12345, 1234, 1000),
    (15000, 2250, 1500), (100000, 15000, 1500),
])
def test_the_seed_tables_50_100_150_give_5_10_15_percent_or_5_10_15_00(total, by_percent, by_amount):
    for tiers, expected in ((PERCENT, by_percent), (AMOUNT, by_amount)):
        issued = vouchers.issue_at_sale("sale-1", total, at_sale(tiers), "S001", NOW)
        assert [v.amount for v in issued] == ([expected] if expected else [])


@FAST
@given(total=st.integers(0, 10**9), sale_id=st.uuids().map(str))
def test_a_percent_voucher_is_the_highest_tiers_share_of_the_total_rounded_down(total, sale_id):
    rules = at_sale(PERCENT, valid_days=30)
    issued = vouchers.issue_at_sale(sale_id, total, rules, "S001", NOW)
    reached = [t for t in PERCENT if t["from"] <= total]
    if not reached:
        assert issued == ()
        return
    [voucher] = issued
    assert voucher.amount == total * reached[-1]["percent"] // 100
    assert 0 < voucher.amount <= total
    assert voucher.expires_at == NOW + timedelta(days=30)
    # Central re-deriving the same sale reaches the very same voucher.
    assert vouchers.issue_at_sale(sale_id, total, rules, "S001", NOW) == issued


@FAST
@given(low=st.integers(0, 10**7), extra=st.integers(0, 10**7))
def test_a_bigger_sale_never_earns_a_smaller_voucher(low, extra):
    for tiers in (PERCENT, AMOUNT):
        rules = at_sale(tiers)
        small = sum(v.amount for v in vouchers.issue_at_sale("s", low, rules, "S001", NOW))
        large = sum(v.amount for v in vouchers.issue_at_sale("s", low + extra, rules, "S001", NOW))
        assert large >= small


def test_vouchers_have_a_shop_scope_and_codes_of_their_own_sale():
    scoped = at_sale(PERCENT, stores=["S002"])
    assert vouchers.issue_at_sale("s", 20000, scoped, "S001", NOW) == ()
    assert len(vouchers.issue_at_sale("s", 20000, scoped, "S002", NOW)) == 1
    assert vouchers.voucher_code("sale-a") != vouchers.voucher_code("sale-b")


@pytest.mark.parametrize("voucher, amount, store, at, problem", [
    (vouchers.Voucher("V1", 500, NOW + timedelta(days=1)), 500, "S001", NOW, None),
    (vouchers.Voucher("V1", 500, NOW + timedelta(days=1)), 501, "S001", NOW, "worth 500"),
    (vouchers.Voucher("V1", 500, NOW), 100, "S001", NOW, "expired"),
    (vouchers.Voucher("V1", 500, NOW + timedelta(days=1), status="used"), 100, "S001", NOW, "used"),
    (vouchers.Voucher("V1", 500, NOW + timedelta(days=1), status="voided"), 100, "S001", NOW, "voided"),
    (vouchers.Voucher("V1", 500, NOW + timedelta(days=1), stores=frozenset({"S002"})), 100, "S001", NOW, "shop"),
    (None, 100, "S001", NOW, "no voucher"),
])
def test_what_a_voucher_cannot_pay(voucher, amount, store, at, problem):
    found = vouchers.spend_problem(voucher, amount, store, at)
    assert (found is None) if problem is None else (problem in found)


@FAST
@given(value=st.integers(1, 10**9), paid=st.integers(0, 10**9), days=st.integers(-5, 5))
def test_a_card_pays_up_to_its_value_until_it_expires_and_the_rest_is_forfeited(value, paid, days):
    card = giftcards.GiftCard("GIFT01", value, NOW + timedelta(days=days))
    problem = giftcards.spend_problem(card, paid, NOW)
    if days <= 0:
        assert problem[0] == "gift_card_invalid"
    elif paid > value:
        assert problem[0] == "gift_card_invalid"
    else:
        assert problem is None
        assert giftcards.forfeited(value, paid) + paid == value
    used = giftcards.GiftCard("GIFT01", value, NOW + timedelta(days=1), used=True)
    assert giftcards.spend_problem(used, min(paid, value), NOW)[0] == "gift_card_used"


@FAST
@given(prices=st.lists(st.integers(0, 10**6), min_size=1, max_size=5), share=st.integers(0, 100),
       method=st.sampled_from(["gift_card", "voucher", "cash"]))
def test_no_sale_earns_negative_points_whatever_pays_it(prices, share, method):
    rules = rules_with(vouchers={"at_sale": {"tiers": PERCENT}})
    lines = [Line(f"S{i}", 1, price) for i, price in enumerate(prices)]
    total = sum(prices)
    coded = total * share // 100
    payments = [Payment(method, amount=coded, code="CODE01" if method != "cash" else None),
                Payment("cash", amount=total - coded)]
    quote, problems = price_sale(lines, payments, rules, spendable=0, tier=None)
    assert problems == []
    assert quote.points_to_earn >= 0 and quote.eligible_amount >= 0


def test_every_problem_of_the_new_sections_is_listed_with_its_path():
    document = {**copy.deepcopy(DEFAULT_DOCUMENT), "gift_cards": {"valid_days": 0, "pin": True},
                "vouchers": {"at_sale": {"tiers": [{"from": 10000, "percent": 5}, {"from": 5000, "amount": 0},
                                                   {"from": 20000}, "x"],
                                         "valid_days": 0, "stores": []},
                             "welcome": {"amount": 0, "colour": "red"}, "birthday": [], "weekly": {}}}
    rules, problems = parse_rules(document)
    assert rules is None
    assert {p.path for p in problems} == {
        "gift_cards.valid_days", "gift_cards.pin", "vouchers.birthday", "vouchers.weekly", "vouchers.at_sale.tiers[1].amount",
        "vouchers.at_sale.tiers[2]", "vouchers.at_sale.tiers[3]", "vouchers.at_sale.tiers",
        "vouchers.at_sale.valid_days", "vouchers.at_sale.stores", "vouchers.welcome.amount",
        "vouchers.welcome.colour"}


def test_only_a_new_customer_with_an_email_gets_the_welcome_voucher_in_its_shops():
    welcome = rules_with(vouchers={"welcome": {"amount": 500, "valid_days": 10, "stores": ["S001"]}}).vouchers_welcome
    [voucher] = vouchers.issue_welcome("c-1", "a@example.com", welcome, "S001", NOW)
    assert (voucher.amount, voucher.expires_at) == (500, NOW + timedelta(days=10))
    assert vouchers.issue_welcome("c-1", "a@example.com", welcome, "S001", NOW) == (voucher,)
    assert vouchers.issue_welcome("c-1", None, welcome, "S001", NOW) == ()
    assert vouchers.issue_welcome("c-1", "a@example.com", welcome, "S002", NOW) == ()
    assert vouchers.issue_welcome("c-1", "a@example.com", None, "S001", NOW) == ()


@pytest.mark.parametrize("born, day, expected", [
    ("1990-12-01", "2026-12-01", True), ("1990-12-02", "2026-12-01", False), (None, "2026-12-01", False),
    ("2000-02-29", "2027-02-28", True), ("2000-02-29", "2028-02-28", False), ("2000-02-29", "2028-02-29", True),
])
def test_birthdays_and_the_29th_of_february(born, day, expected):
    from datetime import date

    assert vouchers.is_birthday(born, date.fromisoformat(day)) is expected


def test_a_birthday_voucher_is_one_a_year():
    from datetime import date

    birthday = rules_with(vouchers={"birthday": {"amount": 1000, "valid_days": 14}}).vouchers_birthday
    [this_year] = vouchers.issue_birthday("c-1", "1990-12-01", birthday, date(2026, 12, 1), NOW)
    assert (this_year.amount, this_year.expires_at) == (1000, NOW + timedelta(days=14))
    assert vouchers.issue_birthday("c-1", "1990-12-01", birthday, date(2026, 12, 1), NOW) == (this_year,)
    [next_year] = vouchers.issue_birthday("c-1", "1990-12-01", birthday, date(2027, 12, 1), NOW)
    assert next_year.code != this_year.code


@FAST
@given(turnover=st.integers(-10**6, 10**9), visits=st.integers(0, 50), percent=st.integers(1, 100))
def test_a_turnover_voucher_needs_both_thresholds_and_never_exceeds_the_turnover(turnover, visits, percent):
    campaign = vouchers.Turnover(min_visits=2, min_turnover=10000, percent=percent)
    value = campaign.value(turnover, visits)
    if visits < 2 or turnover < 10000:
        assert value == 0
    else:
        assert value == turnover * percent // 100 and 0 <= value <= turnover
    assert vouchers.Turnover(2, 10000, amount=500).value(turnover, visits) == (500 if value or (
        visits >= 2 and turnover >= 10000) else 0)
