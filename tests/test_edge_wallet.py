"""The wallet (e-purse) at the till API of a real edge: loads, the ceiling, paying, types,
converting points, returns — and every refusal writes nothing."""

from __future__ import annotations

import copy
import json
import sqlite3

import pytest

from conftest import DEMO_RULES, sale_body
from edge import box as boxes

WALLET = {"ceiling": 15000, "offline_cap": 5000,
          "types": [{"name": "KDO", "amount": 5000, "category": "pants"}, {"name": "FREE"}]}


@pytest.fixture
def edge_dir(tmp_path):
    """A standalone edge whose rules have a wallet: ceiling 150.00 (seed B), two types."""
    document = json.loads(DEMO_RULES.read_text())
    document["wallet"] = copy.deepcopy(WALLET)
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", document)
    return data


def load(till, customer_id, amount, **extra):
    return till.post(f"/api/v1/customers/{customer_id}/wallet/loads", json={"amount": amount, **extra})


def wallet_of(till, customer_id):
    return till.get(f"/api/v1/customers/{customer_id}").json["wallet"]


def log_kinds(edge_dir):
    with sqlite3.connect(edge_dir / "edge.db") as db:
        return [kind for (kind,) in db.execute("SELECT kind FROM logentry ORDER BY seq")]


def test_a_load_answers_the_new_balance_and_the_customer_shows_it(till, customer):
    assert wallet_of(till, customer["id"])["balance"] == 0
    response = load(till, customer["id"], 4000)
    assert response.status_code == 201, response.json
    assert response.json["amount"] == 4000
    assert response.json["wallet"]["balance"] == 4000
    assert response.json["customer"]["wallet"]["balance"] == 4000
    assert load(till, customer["id"], 2500).json["wallet"]["balance"] == 6500
    assert wallet_of(till, customer["id"])["balance"] == 6500
    found = till.get(f"/api/v1/customers/lookup?card={customer['card_number']}").json
    assert found["wallet"]["balance"] == 6500


@pytest.mark.parametrize("loads, refused", [
    ((15000,), 1),          # up to the ceiling of 150.00 is fine; one more cent is not
    ((10000, 5000), 1),
    ((14999,), 2),
])
def test_a_load_past_the_ceiling_is_refused_and_writes_nothing(till, customer, edge_dir, loads, refused):
    for amount in loads:
        assert load(till, customer["id"], amount).status_code == 201
    before = log_kinds(edge_dir)
    response = load(till, customer["id"], refused)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "wallet_ceiling_exceeded"
    assert response.json["error"]["details"]["ceiling"] == 15000
    assert log_kinds(edge_dir) == before
    assert wallet_of(till, customer["id"])["balance"] == sum(loads)


@pytest.mark.parametrize("body, path", [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"amount": "10"}, "amount"),
    ({"amount": 10.5}, "amount"),
    ({}, "amount"),
    ({"amount": 100, "colour": "red"}, "colour"),
])
def test_bad_load_bodies_are_validation_errors(till, customer, body, path):
    response = till.post(f"/api/v1/customers/{customer['id']}/wallet/loads", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert path in [p["path"] for p in response.json["error"]["details"]["problems"]]


def test_loading_an_unknown_customer_is_404(till):
    assert load(till, "no-such-customer", 100).status_code == 404


def test_the_wallet_pays_a_sale_and_too_little_is_insufficient_wallet(till, customer, edge_dir):
    load(till, customer["id"], 3000)
    paid = till.post("/api/v1/sales", json=sale_body(customer["id"], payments=[
        {"method": "wallet", "amount": 2000}, {"method": "cash", "amount": 500}]))
    assert paid.status_code == 201, paid.json
    assert paid.json["customer"]["wallet"]["balance"] == 1000
    assert paid.json["points_earned"] == 2  # wallet money earns like cash: 25.00 → 2 points
    before = log_kinds(edge_dir)
    refused = till.post("/api/v1/sales", json=sale_body(customer["id"], payments=[
        {"method": "wallet", "amount": 1500}, {"method": "cash", "amount": 1000}]))
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "insufficient_wallet"
    assert log_kinds(edge_dir) == before
    assert wallet_of(till, customer["id"])["balance"] == 1000


def test_an_anonymous_sale_cannot_be_paid_from_a_wallet(till):
    response = till.post("/api/v1/sales", json=sale_body(payments=[{"method": "wallet", "amount": 2500}]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "customer_required"


def test_a_typed_load_has_its_fixed_amount_and_pays_only_its_category(till, customer):
    fixed = load(till, customer["id"], 4000, type="KDO")
    assert fixed.status_code == 422 and fixed.json["error"]["code"] == "wallet_amount_fixed"
    assert load(till, customer["id"], 100, type="NOPE").json["error"]["code"] == "unknown_wallet_type"
    assert load(till, customer["id"], 5000, type="KDO").status_code == 201
    assert wallet_of(till, customer["id"])["pockets"] == [{"category": "pants", "balance": 5000}]
    shirts = [{"sku": "S1", "qty": 1, "unit_price": 3000, "category": "shirts"}]
    refused = till.post("/api/v1/sales", json=sale_body(customer["id"], lines=shirts,
                                                        payments=[{"method": "wallet", "amount": 3000}]))
    assert refused.status_code == 422 and refused.json["error"]["code"] == "insufficient_wallet"
    mixed = shirts + [{"sku": "P1", "qty": 1, "unit_price": 4000, "category": "pants"}]
    paid = till.post("/api/v1/sales", json=sale_body(customer["id"], lines=mixed, payments=[
        {"method": "wallet", "amount": 4000}, {"method": "cash", "amount": 3000}]))
    assert paid.status_code == 201, paid.json
    assert paid.json["customer"]["wallet"]["pockets"] == [{"category": "pants", "balance": 1000}]


def test_a_free_load_of_a_type_takes_any_amount(till, customer):
    assert load(till, customer["id"], 1234, type="FREE").json["wallet"]["balance"] == 1234


def test_a_full_return_recredits_the_wallet_part_of_the_payment(till, customer):
    load(till, customer["id"], 2000)
    lines = [{"sku": "A1", "qty": 2, "unit_price": 1250}]
    sale = till.post("/api/v1/sales", json=sale_body(customer["id"], lines=lines, payments=[
        {"method": "wallet", "amount": 1500}, {"method": "cash", "amount": 1000}])).json
    assert sale["customer"]["wallet"]["balance"] == 500
    first = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]}).json
    assert first["amount_refunded"] == 1250 and first["wallet_refunded"] == 1250
    second = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]}).json
    assert second["wallet_refunded"] == 250  # the rest of the 15.00 the wallet paid; 10.00 back in cash
    assert second["customer"]["wallet"]["balance"] == 2000
    recorded = till.get(f"/api/v1/sales/{sale['id']}").json["returns"]
    assert sorted(r["wallet_refunded"] for r in recorded) == [250, 1250]


def test_points_convert_to_wallet_credit_at_point_value(till, customer, edge_dir):
    till.post("/api/v1/sales", json=sale_body(customer["id"], lines=[{"sku": "A1", "qty": 1, "unit_price": 10000}]))
    assert till.get(f"/api/v1/customers/{customer['id']}").json["points"]["available"] == 10
    response = till.post(f"/api/v1/customers/{customer['id']}/wallet/conversions", json={"points": 6})
    assert response.status_code == 201, response.json
    assert response.json["amount"] == 60  # demo rules: a point is worth 0.10
    assert response.json["customer"]["points"]["available"] == 4
    assert response.json["wallet"]["balance"] == 60
    before = log_kinds(edge_dir)
    refused = till.post(f"/api/v1/customers/{customer['id']}/wallet/conversions", json={"points": 5})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "insufficient_points"
    assert log_kinds(edge_dir) == before
    assert log_kinds(edge_dir)[-1] == "wallet.converted"


def test_a_conversion_past_the_ceiling_is_refused(till, customer):
    load(till, customer["id"], 15000)
    till.post("/api/v1/sales", json=sale_body(customer["id"], lines=[{"sku": "A1", "qty": 1, "unit_price": 1000}]))
    response = till.post(f"/api/v1/customers/{customer['id']}/wallet/conversions", json={"points": 1})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "wallet_ceiling_exceeded"


def test_offline_the_wallet_spends_only_its_allowance(till, customer):
    """A standalone edge never heard from central: what it lets go is bounded by wallet.offline_cap."""
    load(till, customer["id"], 15000)
    assert wallet_of(till, customer["id"])["offline_spendable"] == 5000
    over = till.post("/api/v1/sales", json=sale_body(
        customer["id"], lines=[{"sku": "A1", "qty": 1, "unit_price": 6000}],
        payments=[{"method": "wallet", "amount": 6000}]))
    assert over.status_code == 422 and over.json["error"]["code"] == "insufficient_wallet"
    assert over.json["error"]["details"]["spendable"] == 5000
    ok = till.post("/api/v1/sales", json=sale_body(customer["id"], lines=[{"sku": "A1", "qty": 1, "unit_price": 5000}],
                                                   payments=[{"method": "wallet", "amount": 5000}]))
    assert ok.status_code == 201
    assert ok.json["customer"]["wallet"] == {"balance": 10000, "offline_spendable": 0,
                                             "pockets": [{"category": None, "balance": 10000}]}


def test_wallet_entries_are_in_the_signed_log(till, customer, edge_dir):
    load(till, customer["id"], 1000)
    till.post("/api/v1/sales", json=sale_body(customer["id"], payments=[
        {"method": "wallet", "amount": 1000}, {"method": "cash", "amount": 1500}]))
    with sqlite3.connect(edge_dir / "edge.db") as db:
        lines = [json.loads(line) for (line,) in db.execute("SELECT line FROM logentry ORDER BY seq")]
    loaded = next(e for e in lines if e["kind"] == "wallet.loaded")
    assert loaded["body"]["amount"] == 1000 and loaded["body"]["customer_id"] == customer["id"]
    sold = [e for e in lines if e["kind"] == "sale.completed"][-1]
    assert sold["body"]["wallet"] == [{"category": None, "amount": 1000}]
