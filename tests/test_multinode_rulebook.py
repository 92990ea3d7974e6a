"""Central and an edge as real processes: the rulebook's features at the till and re-derived
at central with no mismatch (sales in another currency, the enrolment window)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from nodes import CentralNode, EdgeNode
from test_multinode import wait_for

SEED = {"earn": {"rate": "0.1"}}  # 1 point per 10.00


@pytest.fixture
def shop(tmp_path):
    started: list = []

    def start(rules: dict):
        central = CentralNode(tmp_path / "central")
        started.append(central)
        central.store("S001", "Main street")
        central.publish(rules)
        edge = EdgeNode(tmp_path / "S001", central.url, central.enrolment_token("S001"))
        started.append(edge)
        return central, edge

    yield start
    for node in reversed(started):
        node.stop()


def _mismatches(central: CentralNode) -> list:
    return [e for e in central.api("/exceptions").json() if e["kind"] == "recalculation_mismatch"]


def test_a_sale_in_euros_earns_on_the_converted_amount_at_the_till_and_at_central(shop):
    # Vouchers hold brand money: their tiers count the sale's total in the brand currency.
    tiers = [{"from": 5000, "percent": 5}, {"from": 20000, "percent": 10}]
    central, edge = shop({**SEED, "expiry": {"policy": "after_days", "days": 30},
                          "vouchers": {"at_sale": {"tiers": tiers}}})
    customer = edge.post("/customers", {"first_name": "Eva", "last_name": "Euro"}).json()["id"]
    basket = {"customer_id": customer, "currency": "EUR", "rate": "4.9750",
              "lines": [{"sku": "A1", "qty": 1, "unit_price": 10000}]}

    quote = edge.post("/baskets/quote", basket).json()
    assert (quote["total"], quote["eligible_amount"], quote["points_to_earn"]) == (10000, 49750, 49)
    assert (quote["converted_total"], quote["original_eligible_amount"]) == (49750, 10000)
    assert [v["amount"] for v in quote["vouchers_issued"]] == [4975]  # 10 % of 497.50, not 5 % of 100.00

    sale = edge.post("/sales", {**basket, "payments": [{"method": "cash", "amount": 10000}]})
    assert sale.status_code == 201, sale.text
    sold = sale.json()
    assert (sold["currency"], sold["rate"], sold["total"], sold["points_earned"]) == ("EUR", "4.9750", 10000, 49)
    assert [v["amount"] for v in sold["vouchers_issued"]] == [4975]
    read_back = edge.get(f"/sales/{sold['id']}").json()
    assert {name: read_back.get(name) for name in ("currency", "rate", "converted_total", "original_eligible_amount",
                                                   "vouchers_issued")} == \
        {"currency": "EUR", "rate": "4.9750", "converted_total": 49750, "original_eligible_amount": 10000,
         "vouchers_issued": sold["vouchers_issued"]}

    # Points never pay a sale in another currency; a float rate is refused, naming the field.
    refused = edge.post("/sales", {**basket, "payments": [{"method": "cash", "amount": 9000},
                                                          {"method": "points", "points": 40}]})
    assert refused.json()["error"]["code"] == "currency_not_payable_with_points"
    floated = edge.post("/sales", {**basket, "rate": 4.975, "payments": [{"method": "cash", "amount": 10000}]})
    assert (floated.status_code, floated.json()["error"]["details"]["problems"][0]["path"]) == (422, "rate")

    edge.wait_synced()
    at_central = wait_for(lambda: central.api(f"/customers/{customer}").json(), what="customer at central")
    assert at_central["points"]["available"] == 49
    assert _mismatches(central) == []
    # The 49 points lapse in 30 days: both ends list them as expiring within 90 days.
    due = edge.get(f"/customers/{customer}").json()["expiring"]
    assert [item["points"] for item in due] == [49] and due == at_central["expiring"]

    # Returning half converts at the sale's own rate: 50.00 EUR kept is 248.75, 24 points.
    half = {**basket, "lines": [{"sku": "A1", "qty": 2, "unit_price": 5000}],
            "payments": [{"method": "cash", "amount": 10000}]}
    two = edge.post("/sales", half).json()
    back = edge.post(f"/sales/{two['id']}/returns", {"lines": [{"sku": "A1", "qty": 1}]}).json()
    assert (back["amount_refunded"], back["points_reversed"]) == (5000, 49 - 24)
    edge.wait_synced()
    assert wait_for(lambda: central.api(f"/customers/{customer}").json()["points"]["available"] == 49 + 24,
                    what="the return at central")
    assert _mismatches(central) == []


def test_a_customer_registered_before_the_window_earns_nothing_until_it_opens(shop):
    today = datetime.now(timezone.utc).date()
    central, edge = shop({**SEED, "enrolment": {"from": str(today + timedelta(days=1))}})
    customer = edge.post("/customers", {"first_name": "Nia", "last_name": "Notyet"}).json()
    assert customer["card_number"]  # a card at once
    sale = {"customer_id": customer["id"], "lines": [{"sku": "A1", "qty": 1, "unit_price": 10000}],
            "payments": [{"method": "cash", "amount": 10000}]}
    assert edge.post("/baskets/quote", sale).json()["points_to_earn"] == 0
    assert edge.post("/sales", sale).json()["points_earned"] == 0

    # Head office opens the window today: the same customer earns from the next sale on.
    central.publish({**SEED, "enrolment": {"from": str(today - timedelta(days=1)),
                                           "until": str(today + timedelta(days=30))}})
    wait_for(lambda: edge.post("/baskets/quote", sale).json()["rules_version"] == 2, what="version 2 at the edge")
    assert edge.post("/sales", sale).json()["points_earned"] == 10
    edge.wait_synced()
    assert wait_for(lambda: central.api(f"/customers/{customer['id']}").json()["points"]["available"] == 10,
                    what="the sales at central")
    assert _mismatches(central) == []


def _issue_vip(central: CentralNode, customer_id: str, **body) -> requests.Response:
    return requests.post(f"{central.url}/api/v1/customers/{customer_id}/vip", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {central.token}"})


def test_a_vip_card_gives_its_discount_at_the_till_and_central_agrees(shop):
    central, edge = shop({**SEED, "tiers": [{"name": "Basic", "threshold": 0, "discount_percent": 5}]})
    vera = edge.post("/customers", {"first_name": "Vera", "last_name": "Vip"}).json()["id"]
    other = edge.post("/customers", {"first_name": "Otto", "last_name": "Other"}).json()["id"]
    edge.wait_synced()
    until = str(datetime.now(timezone.utc).date() + timedelta(days=30))
    issued = _issue_vip(central, vera, code="#VIP#0042", discount_percent=15, until=until)
    assert issued.status_code == 201, issued.text
    assert issued.json() == {"customer_id": vera, "code": "#VIP#0042", "discount_percent": 15, "until": until}
    assert _issue_vip(central, other, code="#VIP#0042", discount_percent=5, until=until).status_code == 409

    # The card alone names its customer; 15 % beats the tier's 5 %, never both.
    basket = {"vip_code": "#VIP#0042", "lines": [{"sku": "A1", "qty": 1, "unit_price": 10000}]}
    quote = wait_for(lambda: (reply := edge.post("/baskets/quote", basket)).ok and reply.json(), what="the card at the edge")
    assert (quote["total"], quote["tier_discount"], quote["points_to_earn"]) == (8500, 1500, 8)
    sale = edge.post("/sales", {**basket, "payments": [{"method": "cash", "amount": 8500}]})
    assert sale.status_code == 201, sale.text
    assert (sale.json()["customer_id"], sale.json()["vip"]) == (vera, {"code": "#VIP#0042", "discount_percent": 15})
    # Someone else's card is refused and nothing is written.
    refused = edge.post("/sales", {**basket, "customer_id": other, "payments": [{"method": "cash", "amount": 8500}]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "vip_card_invalid")

    edge.wait_synced()
    assert wait_for(lambda: central.api(f"/customers/{vera}").json()["points"]["available"] == 8, what="the sale")
    assert _mismatches(central) == []
