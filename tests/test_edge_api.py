"""The till API as a till uses it: customers, quotes, sales, returns, errors."""

from __future__ import annotations

import pytest

from conftest import sale_body
from edge.models import Customer, LogEntry, PointMovement, Sale, SaleReturn


def snapshot():
    """Row counts a refused request must leave untouched."""
    return tuple(m.select().count() for m in (Customer, Sale, SaleReturn, PointMovement, LogEntry))


def earn(till, customer_id, amount):
    """Commit a cash sale of ``amount`` for the customer; return the response JSON."""
    response = till.post("/api/v1/sales", json=sale_body(customer_id, [{"sku": "A1", "qty": 1, "unit_price": amount}]))
    assert response.status_code == 201, response.json
    return response.json


def test_health_needs_no_key_but_everything_else_does(app, till):
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/health").json == {"status": "ok"}
    for path in ("/api/v1/status", "/api/v1/customers/x", "/api/v1/openapi.json", "/api/v1/sales/x"):
        response = anonymous.get(path)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    wrong = anonymous.get("/api/v1/status", headers={"Authorization": "Bearer ftk_wrong"})
    assert wrong.status_code == 401
    assert till.get("/api/v1/status").status_code == 200


def test_register_and_find_a_customer_by_card_phone_and_email(till, customer):
    assert customer["tier"] == "Basic"
    assert customer["points"] == {"available": 0, "pending": 0, "offline_spendable": 0}
    assert len(customer["card_number"]) == 13
    for query in (f"card={customer['card_number']}", "phone=%2B40721000111", "email=ANA@example.com"):
        found = till.get(f"/api/v1/customers/lookup?{query}")
        assert found.status_code == 200, query
        assert found.json["id"] == customer["id"]
    assert till.get(f"/api/v1/customers/{customer['id']}").json["email"] == "ana@example.com"


def test_unknown_customer_is_404(till):
    for path in ("/api/v1/customers/lookup?card=9999", "/api/v1/customers/nope"):
        response = till.get(path)
        assert response.status_code == 404
        assert response.json["error"]["code"] == "customer_not_found"


def test_a_card_in_use_is_409_and_writes_nothing(till, customer):
    before = snapshot()
    response = till.post("/api/v1/customers", json={"first_name": "B", "last_name": "C",
                                                    "card_number": customer["card_number"]})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "card_in_use"
    assert snapshot() == before


@pytest.mark.parametrize(
    "body, path",
    [
        ({"first_name": "", "last_name": "X"}, "first_name"),
        ({"first_name": "A", "last_name": "X", "email": "not-an-email"}, "email"),
        ({"first_name": "A", "last_name": "X", "birth_date": "1990-02-30"}, "birth_date"),
        ({"first_name": "A", "last_name": "X", "birth_date": "2999-01-01"}, "birth_date"),
        ({"first_name": "A", "last_name": "X", "phone": "12"}, "phone"),
        ({"first_name": "A" * 101, "last_name": "X"}, "first_name"),
        ({"first_name": 5, "last_name": "X"}, "first_name"),
        ({"first_name": "A", "last_name": "X", "shoe": 42}, "shoe"),
    ],
)
def test_bad_registration_fields_are_422_with_the_field_named(till, body, path):
    before = snapshot()
    response = till.post("/api/v1/customers", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert path in [p["path"] for p in response.json["error"]["details"]["problems"]]
    assert snapshot() == before


def test_every_problem_is_listed_at_once(till):
    response = till.post("/api/v1/sales", json={"lines": [{"sku": "", "qty": 0, "unit_price": -1}], "payments": "x"})
    paths = {p["path"] for p in response.json["error"]["details"]["problems"]}
    assert {"lines[0].sku", "lines[0].qty", "lines[0].unit_price", "payments"} <= paths


def test_seed_example_sale_earns_one_point_per_ten(till, customer):
    # 1 point per 10.00 (seed B): 25.00 earns 2, then 100.00 earns 10.
    first = earn(till, customer["id"], 2500)
    assert first["points_earned"] == 2
    assert first["customer"]["points"]["available"] == 2
    second = earn(till, customer["id"], 10000)
    assert second["points_earned"] == 10
    assert second["customer"]["points"]["available"] == 12
    assert till.get(f"/api/v1/sales/{second['id']}").json["points_earned"] == 10


def test_quote_lists_rewards_and_what_can_be_redeemed(till, customer):
    earn(till, customer["id"], 20000)  # 20 points
    body = {"customer_id": customer["id"], "lines": [{"sku": "BAG1", "qty": 2, "unit_price": 3000}]}
    quote = till.post("/api/v1/baskets/quote", json=body).json
    assert quote["total"] == 6000
    assert quote["eligible_amount"] == 6000
    assert quote["points_to_earn"] == 6 + 2 * 5  # spend points + per-item points
    assert quote["max_points_redeemable"] == 20  # balance, under the 50% share cap of 3000
    assert {r["sku"]: r["affordable"] for r in quote["rewards"]} == {"GIFT1": False, "GIFT2": False}


def test_points_pay_part_of_a_sale_and_are_not_earned_on(till, customer):
    earn(till, customer["id"], 40000)  # 40 points, each worth 0.10 under the demo rules
    body = sale_body(customer["id"], [{"sku": "A1", "qty": 1, "unit_price": 5000}],
                     [{"method": "cash", "amount": 4800}, {"method": "points", "points": 20}])
    sale = till.post("/api/v1/sales", json=body)
    assert sale.status_code == 201, sale.json
    assert sale.json["points_redeemed"] == 20
    assert sale.json["points_earned"] == 4  # floor(48.00 × 0.1): the 2.00 paid in points earns nothing
    assert sale.json["customer"]["points"]["available"] == 40 - 20 + 4


def test_a_reward_costs_points_and_only_one_per_sale(till, customer):
    earn(till, customer["id"], 200000)  # 200 points, tier Gold reached after it
    reward = {"sku": "GIFT1", "qty": 1, "unit_price": 0, "reward": True}
    ok = till.post("/api/v1/sales", json=sale_body(customer["id"], [reward, {"sku": "A1", "qty": 1, "unit_price": 100}],
                                                   [{"method": "cash", "amount": 90}]))  # Gold: 10 % off
    assert ok.status_code == 201, ok.json
    assert ok.json["points_redeemed"] == 100
    before = snapshot()
    two = till.post("/api/v1/sales", json=sale_body(customer["id"], [reward, dict(reward, sku="GIFT2")]))
    assert two.status_code == 422
    assert two.json["error"]["code"] == "reward_limit_exceeded"
    assert snapshot() == before


@pytest.mark.parametrize(
    "payments, code",
    [
        ([{"method": "cash", "amount": 100}], "payment_mismatch"),
        ([{"method": "cash", "amount": 2000}, {"method": "points", "points": 50}], "insufficient_points"),
    ],
)
def test_business_refusals_write_nothing(till, customer, payments, code):
    before = snapshot()
    response = till.post("/api/v1/sales", json=sale_body(customer["id"], [{"sku": "A1", "qty": 1, "unit_price": 2500}],
                                                         payments))
    assert response.status_code == 422
    assert response.json["error"]["code"] == code
    assert snapshot() == before


def test_the_share_cap_is_redeem_limit_exceeded(till, customer):
    earn(till, customer["id"], 100000)
    before = snapshot()
    body = sale_body(customer["id"], [{"sku": "A1", "qty": 1, "unit_price": 1000}], [{"method": "points", "points": 100}])
    response = till.post("/api/v1/sales", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "redeem_limit_exceeded"  # demo rules: points pay at most 50 %
    assert snapshot() == before


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"{not json", 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b'{"lines": [{"sku": "A1", "qty": 1, "unit_price": 12.5}], "payments": []}', 422, "validation_error"),
        (b'{"lines": [{"sku": "A1", "qty": -1, "unit_price": 100}], "payments": []}', 422, "validation_error"),
        (b'{"lines": [{"sku": "A1", "qty": 0, "unit_price": 100}], "payments": []}', 422, "validation_error"),
        (b'{"lines": [{"sku": "A1", "qty": "1", "unit_price": 100}], "payments": []}', 422, "validation_error"),
        (b'{"lines": [{"sku": "A1", "qty": 1, "unit_price": -5}], "payments": []}', 422, "validation_error"),
        (b'{"lines": [], "payments": []}', 422, "validation_error"),
        (b'[1, 2]', 422, "validation_error"),
        (b'{"customer_id": "nobody", "lines": [{"sku": "A1", "qty": 1, "unit_price": 100}],'
         b' "payments": [{"method": "cash", "amount": 100}]}', 404, "customer_not_found"),
    ],
)
def test_malformed_sales_are_refused_and_write_nothing(till, raw, status, code):
    before = snapshot()
    response = till.client.post("/api/v1/sales", data=raw, content_type="application/json",
                                headers={"Authorization": f"Bearer {till.key}"})
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert set(response.json["error"]) == {"code", "message", "details"}
    assert snapshot() == before


def test_returns_reverse_the_points_of_the_returned_lines(till, customer):
    lines = [{"sku": "A1", "qty": 2, "unit_price": 2500}, {"sku": "B1", "qty": 1, "unit_price": 5000}]
    sale = till.post("/api/v1/sales", json=sale_body(customer["id"], lines)).json
    assert sale["points_earned"] == 10
    first = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
    assert first.status_code == 201, first.json
    assert first.json["points_reversed"] == 10 - 7  # the kept 75.00 would have earned 7
    assert first.json["amount_refunded"] == 2500
    rest = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}, {"sku": "B1", "qty": 1}]})
    assert rest.json["points_reversed"] == 7  # everything back: all 10 reversed in total
    assert rest.json["customer"]["points"]["available"] == 0
    assert len(till.get(f"/api/v1/sales/{sale['id']}").json["returns"]) == 2


def test_returning_more_than_was_sold_is_refused(till, customer):
    sale = till.post("/api/v1/sales", json=sale_body(customer["id"])).json
    assert till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]}).status_code == 201
    before = snapshot()
    for lines in ([{"sku": "A1", "qty": 2}], [{"sku": "ZZ", "qty": 1}]):
        over = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": lines})
        assert over.status_code == 422
        assert over.json["error"]["code"] == "return_exceeds_sale"
    assert snapshot() == before
    missing = till.post("/api/v1/sales/nope/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
    assert missing.status_code == 404


def test_idempotency_key_replays_and_conflicts(till, customer):
    headers = {"Idempotency-Key": "till-1-sale-0001"}
    body = sale_body(customer["id"])
    first = till.post("/api/v1/sales", json=body, headers=headers)
    again = till.post("/api/v1/sales", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert Sale.select().count() == 1
    other = till.post("/api/v1/sales", json=sale_body(customer["id"], [{"sku": "B", "qty": 1, "unit_price": 1}]),
                      headers=headers)
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_conflict"
    assert Sale.select().count() == 1


def test_anonymous_sales_earn_nothing_and_cannot_spend(till):
    response = till.post("/api/v1/sales", json=sale_body())
    assert response.status_code == 201
    assert response.json["points_earned"] == 0
    spend = till.post("/api/v1/sales", json=sale_body(None, payments=[{"method": "points", "points": 2500}]))
    assert spend.status_code == 422


def test_tier_upgrade_adds_extra_earn(till, customer):
    earn(till, customer["id"], 50000)  # reaches Silver (threshold 500.00)
    assert till.get(f"/api/v1/customers/{customer['id']}").json["tier"] == "Silver"
    sale = till.post("/api/v1/sales", json=sale_body(customer["id"], [{"sku": "A1", "qty": 1, "unit_price": 10000}],
                                                     [{"method": "cash", "amount": 9500}])).json  # Silver: 5 % off
    assert sale["points_earned"] == 9 + 9  # on 95.00: 9 from spend + 1 % of it as points worth 0.10
