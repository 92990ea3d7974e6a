"""Central and two shops as real processes: a gift card and a voucher known everywhere, each
spent at two shops while central is down: the second use of each is an exception at central."""

from __future__ import annotations

import pytest

from test_multinode import cash_sale, two_shops, wait_for

RULES = {
    "earn": {"rate": "0.1"},
    "tiers": [{"name": "Basic", "threshold": 0}],
    "gift_cards": {"valid_days": 365},
    "vouchers": {"at_sale": {"tiers": [{"from": 5000, "amount": 500}, {"from": 10000, "amount": 1000},
                                       {"from": 15000, "amount": 1500}], "valid_days": 30}},
}


def paid_by(method: str, code: str, amount: int) -> dict:
    return {"lines": [{"sku": "A1", "qty": 1, "unit_price": amount}],
            "payments": [{"method": method, "code": code, "amount": amount}]}


@pytest.fixture
def brand(tmp_path):
    yield from two_shops(tmp_path, RULES)


def test_a_gift_card_and_a_voucher_spent_at_two_offline_shops_are_exceptions_at_central(brand):
    central, (a, b) = brand
    wait_for(lambda: a.status()["rules_version"] == 1 and b.status()["rules_version"] == 1, what="rules at both")
    card = a.post("/gift-cards", {"amount": 4000})
    assert card.status_code == 201, card.text
    code = card.json()["code"]
    customer = a.post("/customers", {"first_name": "Maria", "last_name": "Ionescu"}).json()
    sale = a.post("/sales", cash_sale(customer["id"], 12000)).json()
    [voucher] = sale["vouchers_issued"]
    assert voucher["amount"] == 1000
    a.wait_synced()

    # Both reach the other shop through central's feed.
    assert b.sync().returncode == 0
    wait_for(lambda: b.get(f"/gift-cards/{code}").status_code == 200, what="card at B")
    assert b.get(f"/gift-cards/{code}").json()["status"] == "active"
    # Central derived the same voucher from the sale: no recalculation mismatch.
    assert [e for e in central.api("/exceptions").json() if e["kind"] == "recalculation_mismatch"] == []

    central.kill()
    for shop in (a, b):
        spent = shop.post("/sales", paid_by("gift_card", code, 4000))
        assert spent.status_code == 201, spent.text
    first_voucher = a.post("/sales", paid_by("voucher", voucher["code"], 1000))
    assert first_voucher.status_code == 201, first_voucher.text
    second_voucher = b.post("/sales", paid_by("voucher", voucher["code"], 1000))
    assert second_voucher.status_code == 201, second_voucher.text
    again = a.post("/sales", paid_by("gift_card", code, 100))
    assert again.status_code == 422 and again.json()["error"]["code"] == "gift_card_used"

    central.start()
    a.wait_synced()
    b.wait_synced()
    kinds = [e["kind"] for e in central.api("/exceptions").json()]
    assert kinds.count("gift_card_double_use") == 1
    assert kinds.count("voucher_double_use") == 1
    assert "recalculation_mismatch" not in kinds
    wait_for(lambda: b.get(f"/gift-cards/{code}").json()["status"] == "used", what="card used at B")
