"""The quote says what the sale would do with vouchers and gift cards: the vouchers it would
issue (seed B's tiers: from 50/100/150.00, 5/10/15 % or 5/10/15.00) and the gift card and
voucher payments it would refuse, with the sale's own codes, writing nothing."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from conftest import DEMO_RULES, TillClient, sale_body
from edge import box as boxes
from edge import tills
from edge.app import create_app
from edge.models import GiftCard, LogEntry, Sale, Voucher

PERCENT = [{"from": 5000, "percent": 5}, {"from": 10000, "percent": 10}, {"from": 15000, "percent": 15}]
AMOUNT = [{"from": 5000, "amount": 500}, {"from": 10000, "amount": 1000}, {"from": 15000, "amount": 1500}]
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def make_edge(tmp_path, tiers: list, store: str = "S001", stores: list | None = None) -> TillClient:
    """An edge whose clock stands still, so a quote and the sale after it happen at one instant."""
    data = tmp_path / "edge"
    at_sale = {"tiers": tiers, "valid_days": 30, **({"stores": stores} if stores else {})}
    boxes.initialise(data, store, {**json.loads(DEMO_RULES.read_text()), "vouchers": {"at_sale": at_sale}})
    app = create_app(data, {"TESTING": True, "CLOCK": lambda: NOW})
    return TillClient(app.test_client(), tills.add(app.extensions["fidelis_edge"], "till-1")[1])


@pytest.fixture
def till(tmp_path):
    return make_edge(tmp_path, PERCENT)


def basket(total: int, payments: list | None = None) -> dict:
    body = sale_body(lines=[{"sku": "A1", "qty": 1, "unit_price": total}], payments=payments)
    if payments is None:
        del body["payments"]
    return body


def written():
    return tuple(m.select().count() for m in (GiftCard, Voucher, Sale, LogEntry))


@pytest.mark.parametrize("tiers", [PERCENT, AMOUNT], ids=["percent", "amount"])
@pytest.mark.parametrize("total", [4999, 5000, 9999, 10000, 14999, 15000, 40000])
def test_the_quote_previews_exactly_the_vouchers_the_sale_then_issues(tmp_path, tiers, total):
    till = make_edge(tmp_path, tiers)
    quoted = till.post("/api/v1/baskets/quote", json=basket(total))
    assert quoted.status_code == 200, quoted.json
    sale = till.post("/api/v1/sales", json=sale_body(lines=[{"sku": "A1", "qty": 1, "unit_price": total}]))
    assert sale.status_code == 201, sale.json
    issued = [{"amount": v["amount"], "expires_at": v["expires_at"]} for v in sale.json["vouchers_issued"]]
    assert quoted.json["vouchers_issued"] == issued
    assert bool(issued) == (total >= 5000)


def test_a_shop_outside_the_vouchers_scope_is_quoted_none(tmp_path):
    till = make_edge(tmp_path, PERCENT, store="S002", stores=["S001"])
    assert till.post("/api/v1/baskets/quote", json=basket(20000)).json["vouchers_issued"] == []


def test_the_quote_shows_what_a_gift_card_would_pay_and_lose_and_reserves_nothing(till):
    code = till.post("/api/v1/gift-cards", json={"amount": 3000}).json["code"]
    payments = [{"method": "gift_card", "code": code.lower(), "amount": 2000}, {"method": "cash", "amount": 500}]
    before = written()
    quoted = till.post("/api/v1/baskets/quote", json=basket(2500, payments))
    assert quoted.status_code == 200, quoted.json
    assert quoted.json["gift_cards"] == [{"code": code, "value": 3000, "paid": 2000, "forfeited": 1000}]
    assert written() == before
    assert till.get(f"/api/v1/gift-cards/{code}").json["status"] == "active"
    sale = till.post("/api/v1/sales", json=basket(2500, payments))
    assert sale.status_code == 201 and sale.json["gift_cards"] == quoted.json["gift_cards"]


def test_a_quote_without_gift_cards_says_so(till):
    assert till.post("/api/v1/baskets/quote", json=basket(2500)).json["gift_cards"] == []


def _refusals(till, problem: str) -> dict:
    if problem == "used_card":
        code = till.post("/api/v1/gift-cards", json={"amount": 1000}).json["code"]
        spent = till.post("/api/v1/sales", json=basket(1000, [{"method": "gift_card", "code": code, "amount": 1000}]))
        assert spent.status_code == 201, spent.json
        return basket(1000, [{"method": "gift_card", "code": code, "amount": 1000}])
    if problem == "unknown_card":
        return basket(1000, [{"method": "gift_card", "code": "NOSUCHCARD", "amount": 1000}])
    if problem == "used_voucher":
        voucher = till.post("/api/v1/sales", json=basket(10000, [{"method": "cash", "amount": 10000}]))
        code = voucher.json["vouchers_issued"][0]["code"]
        paid = till.post("/api/v1/sales", json=basket(1000, [{"method": "voucher", "code": code, "amount": 1000}]))
        assert paid.status_code == 201, paid.json
        return basket(1000, [{"method": "voucher", "code": code, "amount": 1000}])
    return basket(1000, [{"method": "voucher", "code": "VNOSUCHVOUCHER", "amount": 1000}])


@pytest.mark.parametrize("problem, code", [
    ("used_card", "gift_card_used"), ("unknown_card", "gift_card_invalid"),
    ("used_voucher", "voucher_invalid"), ("unknown_voucher", "voucher_invalid"),
])
def test_a_payment_the_sale_would_refuse_is_a_problem_of_the_quote_with_the_sales_code_and_nothing_is_written(till, problem, code):
    body = _refusals(till, problem)
    before = written()
    quoted = till.post("/api/v1/baskets/quote", json=body)
    assert written() == before
    sale = till.post("/api/v1/sales", json=body)
    assert written() == before
    assert quoted.status_code == 200 and sale.status_code == 422
    refused = sale.json["error"]
    assert refused["code"] == code
    assert {"code": code, "message": refused["message"], "details": refused["details"]} in quoted.json["problems"]
