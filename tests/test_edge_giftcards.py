"""Gift cards at the till: sell, look up, spend in full once, refuse what cannot pay."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from conftest import DEMO_RULES, sale_body
from edge import box as boxes
from edge.app import create_app
from edge.models import GiftCard, LogEntry, Sale
from shared.times import parse_time

RULES = {**json.loads(DEMO_RULES.read_text()), "gift_cards": {"valid_days": 90}}


@pytest.fixture
def edge_dir(tmp_path):
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", copy.deepcopy(RULES))
    return data


def snapshot():
    return tuple(m.select().count() for m in (GiftCard, Sale, LogEntry))


def paid_with(card: str, amount: int, basket_total: int = 2500, cash: int | None = None) -> dict:
    payments = [{"method": "gift_card", "code": card, "amount": amount}]
    if cash is None:
        cash = basket_total - amount
    if cash:
        payments.append({"method": "cash", "amount": cash})
    return sale_body(payments=payments)


def test_a_card_sold_without_a_code_gets_one_and_expires_after_valid_days(till):
    before = datetime.now(timezone.utc)
    response = till.post("/api/v1/gift-cards", json={"amount": 5000})
    assert response.status_code == 201, response.json
    card = response.json
    assert (card["amount"], card["status"]) == (5000, "active")
    assert len(card["code"]) == 16 and card["code"].isalnum() and card["code"].isupper()
    expires = parse_time(card["expires_at"])
    assert before + timedelta(days=90) - timedelta(seconds=2) <= expires <= before + timedelta(days=90, seconds=5)
    assert till.get(f"/api/v1/gift-cards/{card['code']}").json == card
    entry = json.loads(LogEntry.select().order_by(LogEntry.seq.desc()).first().line)
    assert entry["kind"] == "gift_card.issued"
    assert {k: entry["body"][k] for k in ("code", "amount", "expires_at")} == \
        {k: card[k] for k in ("code", "amount", "expires_at")}


def test_a_card_with_its_own_code_is_found_in_any_case_and_a_taken_code_is_409(till):
    assert till.post("/api/v1/gift-cards", json={"amount": 2000, "code": "gift2026abc"}).json["code"] == "GIFT2026ABC"
    assert till.get("/api/v1/gift-cards/gift2026abc").json["amount"] == 2000
    before = snapshot()
    again = till.post("/api/v1/gift-cards", json={"amount": 100, "code": "GIFT2026ABC"})
    assert again.status_code == 409 and again.json["error"]["code"] == "gift_card_exists"
    assert snapshot() == before


@pytest.mark.parametrize("body, path", [
    ({}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": 12.5}, "amount"),
    ({"amount": 100, "code": "no spaces"}, "code"),
    ({"amount": 100, "code": "ABC"}, "code"),
    ({"amount": 100, "pin": "1234"}, "pin"),
])
def test_a_bad_card_request_is_422_naming_the_field(till, body, path):
    before = snapshot()
    response = till.post("/api/v1/gift-cards", json=body)
    assert response.status_code == 422
    assert path in [p["path"] for p in response.json["error"]["details"]["problems"]]
    assert snapshot() == before


def test_an_unknown_card_is_404(till):
    response = till.get("/api/v1/gift-cards/NOSUCHCARD")
    assert response.status_code == 404 and response.json["error"]["code"] == "gift_card_not_found"


def test_a_card_pays_once_and_what_the_sale_did_not_take_is_forfeited(till):
    code = till.post("/api/v1/gift-cards", json={"amount": 3000}).json["code"]
    sale = till.post("/api/v1/sales", json=paid_with(code, 2000, cash=500))
    assert sale.status_code == 201, sale.json
    assert sale.json["gift_cards"] == [{"code": code, "value": 3000, "paid": 2000, "forfeited": 1000}]
    assert {"method": "gift_card", "code": code, "amount": 2000} in sale.json["payments"]
    assert till.get(f"/api/v1/sales/{sale.json['id']}").json["gift_cards"] == sale.json["gift_cards"]
    assert till.get(f"/api/v1/gift-cards/{code}").json["status"] == "used"

    before = snapshot()
    again = till.post("/api/v1/sales", json=paid_with(code, 100))
    assert again.status_code == 422 and again.json["error"]["code"] == "gift_card_used"
    assert snapshot() == before


def test_a_card_code_typed_in_lower_case_pays(till):
    code = till.post("/api/v1/gift-cards", json={"amount": 2500}).json["code"]
    sale = till.post("/api/v1/sales", json=paid_with(code.lower(), 2500))
    assert sale.status_code == 201, sale.json
    assert sale.json["gift_cards"][0]["forfeited"] == 0


@pytest.mark.parametrize("problem", ["unknown", "over_value", "expired"])
def test_a_card_that_cannot_pay_is_gift_card_invalid_and_writes_nothing(till, problem):
    code = till.post("/api/v1/gift-cards", json={"amount": 1000}).json["code"]
    amount = 1000
    if problem == "unknown":
        code = "NOSUCHCARD"
    elif problem == "over_value":
        amount = 1001
    else:
        GiftCard.update(expires_at="2020-01-01T00:00:00.000Z").where(GiftCard.code == code).execute()
    before = snapshot()
    response = till.post("/api/v1/sales", json=paid_with(code, amount))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "gift_card_invalid"
    assert snapshot() == before
    if problem == "expired":
        assert till.get(f"/api/v1/gift-cards/{code}").json["status"] == "expired"


@pytest.mark.parametrize("payment, path", [
    ({"method": "gift_card", "amount": 2500}, "payments[0].code"),
    ({"method": "cash", "amount": 2500, "code": "ABCDEF"}, "payments[0].code"),
    ({"method": "gift_card", "code": "ABCDEF"}, "payments[0].amount"),
])
def test_a_gift_card_payment_must_name_its_card(till, payment, path):
    response = till.post("/api/v1/sales", json=sale_body(payments=[payment]))
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"
    assert path in [p["path"] for p in response.json["error"]["details"]["problems"]]


def test_a_full_return_refunds_the_sale_but_leaves_the_card_used(till):
    code = till.post("/api/v1/gift-cards", json={"amount": 2500}).json["code"]
    sale = till.post("/api/v1/sales", json=paid_with(code, 2500)).json
    returned = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 2}]})
    assert returned.status_code == 201, returned.json
    assert returned.json["amount_refunded"] == 2500
    assert till.get(f"/api/v1/gift-cards/{code}").json["status"] == "used"
