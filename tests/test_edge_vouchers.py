"""Vouchers at the till: issued by tiers of the sale's total, printed, spent once, voided by a
full return. The tier tables are seed B's: from 50/100/150.00, 5/10/15 % or 5/10/15.00."""

from __future__ import annotations

import copy
import json

import pytest

from conftest import DEMO_RULES, TillClient, sale_body
from conftest_devices import tcp_printer, wait_for  # noqa: F401  (fixture)
from edge import box as boxes
from edge import tills
from edge.app import create_app
from edge.models import LogEntry, Sale, Voucher
from edge.peripherals import init_peripherals
from shared.times import parse_time

PERCENT = [{"from": 5000, "percent": 5}, {"from": 10000, "percent": 10}, {"from": 15000, "percent": 15}]
AMOUNT = [{"from": 5000, "amount": 500}, {"from": 10000, "amount": 1000}, {"from": 15000, "amount": 1500}]
RULES = {**json.loads(DEMO_RULES.read_text()), "vouchers": {"at_sale": {"tiers": PERCENT, "valid_days": 30}}}


def make_edge(tmp_path, at_sale: dict) -> TillClient:
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", {**copy.deepcopy(RULES), "vouchers": {"at_sale": at_sale}})
    app = create_app(data, {"TESTING": True})
    return TillClient(app.test_client(), tills.add(app.extensions["fidelis_edge"], "till-1")[1])


@pytest.fixture
def edge_dir(tmp_path):
    data = tmp_path / "edge"
    boxes.initialise(data, "S001", copy.deepcopy(RULES))
    return data


def buy(till, amount: int, payments: list | None = None, customer_id: str | None = None):
    return till.post("/api/v1/sales", json=sale_body(customer_id, [{"sku": "A1", "qty": 1, "unit_price": amount}],
                                                     payments))


def snapshot():
    return tuple(m.select().count() for m in (Voucher, Sale, LogEntry))


@pytest.mark.parametrize("tiers", [PERCENT, AMOUNT], ids=["percent", "amount"])
@pytest.mark.parametrize("total, percent_voucher, amount_voucher", [
    (4999, None, None), (5000, 250, 500), (9999, 499, 500), (10000, 1000, 1000), (14999, 1499, 1000),
    (15000, 2250, 1500), (40000, 6000, 1500),
])
def test_a_sale_issues_the_voucher_of_the_highest_tier_its_total_reaches(tmp_path, tiers, total, percent_voucher,
                                                                           amount_voucher):
    till = make_edge(tmp_path, {"tiers": tiers, "valid_days": 30})
    expected = percent_voucher if tiers is PERCENT else amount_voucher
    sale = buy(till, total)
    assert sale.status_code == 201, sale.json
    issued = sale.json["vouchers_issued"]
    assert [v["amount"] for v in issued] == ([expected] if expected else [])
    if issued:
        days = (parse_time(issued[0]["expires_at"]) - parse_time(sale.json["created_at"])).days
        assert days in (29, 30)
        assert till.get(f"/api/v1/sales/{sale.json['id']}").json["vouchers_issued"] == issued
        entry = json.loads(LogEntry.select().order_by(LogEntry.seq.desc()).first().line)
        assert entry["body"]["vouchers_issued"] == issued


def test_a_voucher_pays_once_and_a_second_use_is_voucher_invalid(till):
    voucher = buy(till, 10000).json["vouchers_issued"][0]
    assert voucher["amount"] == 1000
    paid = buy(till, 3000, [{"method": "voucher", "code": voucher["code"], "amount": 1000},
                            {"method": "cash", "amount": 2000}])
    assert paid.status_code == 201, paid.json
    assert paid.json["vouchers_issued"] == []  # 30.00 reaches no tier
    before = snapshot()
    again = buy(till, 1000, [{"method": "voucher", "code": voucher["code"], "amount": 1000}])
    assert again.status_code == 422 and again.json["error"]["code"] == "voucher_invalid"
    assert snapshot() == before


@pytest.mark.parametrize("problem", ["unknown", "over_value", "expired", "out_of_scope"])
def test_a_voucher_that_cannot_pay_is_voucher_invalid_and_writes_nothing(till, problem):
    voucher = buy(till, 10000).json["vouchers_issued"][0]
    code, amount = voucher["code"], 1000
    if problem == "unknown":
        code = "VNOSUCH"
    elif problem == "over_value":
        amount = 1001
    elif problem == "expired":
        Voucher.update(expires_at="2020-01-01T00:00:00.000Z").where(Voucher.code == code).execute()
    else:
        Voucher.update(stores=json.dumps(["S002"])).where(Voucher.code == code).execute()
    before = snapshot()
    response = buy(till, 2000, [{"method": "voucher", "code": code, "amount": amount},
                                {"method": "cash", "amount": 2000 - amount}])
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "voucher_invalid"
    assert snapshot() == before


def test_a_shop_outside_the_scope_issues_no_voucher(tmp_path):
    till = make_edge(tmp_path, {"tiers": PERCENT, "stores": ["S002", "S003"]})
    assert buy(till, 20000).json["vouchers_issued"] == []


def test_a_full_return_voids_the_vouchers_the_sale_issued(till):
    sale = buy(till, 12000).json
    [voucher] = sale["vouchers_issued"]
    whole = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
    assert whole.status_code == 201
    assert whole.json["vouchers_voided"] == [voucher["code"]]
    refused = buy(till, 1200, [{"method": "voucher", "code": voucher["code"], "amount": 1200}])
    assert refused.status_code == 422 and refused.json["error"]["code"] == "voucher_invalid"
    assert "voided" in refused.json["error"]["message"]
    entry = json.loads(LogEntry.select().order_by(LogEntry.seq.desc()).first().line)
    assert entry["kind"] == "sale.returned" and entry["body"]["vouchers_voided"] == [voucher["code"]]


def test_a_partial_return_keeps_the_voucher(till):
    sale = till.post("/api/v1/sales", json=sale_body(None, [{"sku": "A1", "qty": 2, "unit_price": 6000}])).json
    [voucher] = sale["vouchers_issued"]
    returned = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]})
    assert returned.json["vouchers_voided"] == []
    assert buy(till, voucher["amount"], [{"method": "voucher", "code": voucher["code"],
                                          "amount": voucher["amount"]}]).status_code == 201


def test_rules_with_bad_voucher_tiers_are_refused_listing_every_problem(tmp_path):
    bad = {**copy.deepcopy(RULES), "gift_cards": {"valid_days": 0},
           "vouchers": {"at_sale": {"tiers": [{"from": 5000, "percent": 5, "amount": 500}, {"from": 100, "percent": 150}],
                                    "valid_days": "30", "colour": "red"}}}
    with pytest.raises(boxes.BoxError) as refused:
        boxes.initialise(tmp_path / "edge", "S001", bad)
    paths = {p.path for p in refused.value.problems}
    assert {"gift_cards.valid_days", "vouchers.at_sale.tiers[0]", "vouchers.at_sale.tiers[1].percent",
            "vouchers.at_sale.valid_days", "vouchers.at_sale.colour"} <= paths


def test_the_receipt_prints_the_voucher(edge_dir, tcp_printer):
    (edge_dir / "config.json").write_text(json.dumps({"printer": tcp_printer.url, "currency": "EUR"}))
    app = create_app(edge_dir, {"TESTING": True, "PERIPHERALS": {"print_retry_initial": 0.05,
                                                                  "print_retry_max": 0.2, "receipt_wait": 2.0}})
    peripherals = init_peripherals(app, app.extensions["fidelis_edge"])
    try:
        till = TillClient(app.test_client(), tills.add(app.extensions["fidelis_edge"], "till-1")[1])
        sale = buy(till, 15000).json
        assert till.post(f"/api/v1/sales/{sale['id']}/receipt").status_code == 202
        assert wait_for(lambda: any(f"Ref {sale['id']}".encode() in job for job in tcp_printer.jobs), 10)
    finally:
        peripherals.stop()
    [received] = [job for job in tcp_printer.jobs if f"Ref {sale['id']}".encode() in job]
    [voucher] = sale["vouchers_issued"]
    assert b"Vouchers" in received
    assert f"{voucher['code']}  22.50  until {voucher['expires_at'][:10]}".encode() in received


def test_a_new_customer_who_gives_an_email_gets_the_welcome_voucher(tmp_path):
    data = tmp_path / "welcome"
    boxes.initialise(data, "S001", {**copy.deepcopy(RULES), "vouchers": {"welcome": {"amount": 500, "valid_days": 60}}})
    app = create_app(data, {"TESTING": True})
    till = TillClient(app.test_client(), tills.add(app.extensions["fidelis_edge"], "till-1")[1])
    with_email = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop",
                                                      "email": "ana@example.com"})
    assert with_email.status_code == 201, with_email.json
    [voucher] = with_email.json["vouchers_issued"]
    assert voucher["amount"] == 500
    entry = json.loads(LogEntry.select().order_by(LogEntry.seq.desc()).first().line)
    assert entry["kind"] == "customer.registered" and entry["body"]["vouchers_issued"] == [voucher]
    assert (parse_time(voucher["expires_at"]) - parse_time(entry["at"])).days in (59, 60)
    without = till.post("/api/v1/customers", json={"first_name": "Ion", "last_name": "Pop"})
    assert without.json["vouchers_issued"] == []
    paid = buy(till, 500, [{"method": "voucher", "code": voucher["code"], "amount": 500}], with_email.json["id"])
    assert paid.status_code == 201, paid.json
