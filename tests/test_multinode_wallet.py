"""Central and two edges as real processes: one wallet filled at one shop (points converted,
money loaded), spent online with a hold at the other, then at both while central is down.
The overdraft is an exception at central and the exposure stays within each shop's offline
allowance."""

from __future__ import annotations

import pytest

from test_multinode import two_shops, wait_for

CAP = 6000
RULES = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 10, "max_share_percent": 100, "min_balance": 0, "offline_cap": 80},
    "tiers": [{"name": "Basic", "threshold": 0}],
    "wallet": {"ceiling": 15000, "offline_cap": CAP},  # seed B: a wallet holds at most 150.00
}


def wallet_sale(customer_id: str, amount: int, sku: str = "A1") -> dict:
    return {"customer_id": customer_id, "lines": [{"sku": sku, "qty": 1, "unit_price": amount}],
            "payments": [{"method": "wallet", "amount": amount}]}


@pytest.fixture
def brand(tmp_path):
    yield from two_shops(tmp_path, RULES)


def balance_at(edge, customer_id: str) -> int:
    return edge.get(f"/customers/{customer_id}").json()["wallet"]["balance"]


def test_a_wallet_spent_at_two_offline_shops_is_an_overdraft_within_the_allowance(brand):
    central, (a, b) = brand
    customer = a.post("/customers", {"first_name": "Maria", "last_name": "Ionescu"}).json()
    cid = customer["id"]
    earned = a.post("/sales", {"customer_id": cid, "lines": [{"sku": "E1", "qty": 1, "unit_price": 10000}],
                               "payments": [{"method": "cash", "amount": 10000}]})
    assert earned.json()["points_earned"] == 10
    converted = a.post(f"/customers/{cid}/wallet/conversions", {"points": 10})  # held at central, then written
    assert converted.status_code == 201, converted.text
    assert converted.json()["amount"] == 100 and converted.json()["customer"]["points"]["available"] == 0
    loaded = a.post(f"/customers/{cid}/wallet/loads", {"amount": 14900})
    assert loaded.status_code == 201, loaded.text
    over = a.post(f"/customers/{cid}/wallet/loads", {"amount": 1})
    assert over.status_code == 422 and over.json()["error"]["code"] == "wallet_ceiling_exceeded"
    a.wait_synced()
    wait_for(lambda: (r := b.get(f"/customers/{cid}")).ok and r.json()["wallet"]["balance"] == 15000,
             what="the wallet at B")
    assert central.api(f"/customers/{cid}").json()["points"]["available"] == 0

    # Online, central holds 70.00 at B although the offline allowance is 60.00.
    online = b.post("/sales", wallet_sale(cid, 7000))
    assert online.status_code == 201, online.text
    b.wait_synced()
    wait_for(lambda: central.api(f"/customers/{cid}").json()["wallet"] == {
        "balance": 8000, "held": 0, "pockets": [{"category": None, "balance": 8000}]}, what="the hold settled")
    wait_for(lambda: balance_at(a, cid) == 8000, what="A pulled")

    central.kill()
    # Both shops keep selling; each lets the wallet pay up to its allowance.
    assert a.post("/sales", wallet_sale(cid, CAP)).status_code == 201
    at_b = b.post("/sales", wallet_sale(cid, CAP, sku="B1"))
    assert at_b.status_code == 201, at_b.text
    refused = b.post("/sales", wallet_sale(cid, 100))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "insufficient_wallet"
    assert b.get(f"/customers/{cid}").json()["wallet"]["offline_spendable"] == 0

    central.start()
    a.wait_synced()
    b.wait_synced()
    brand_view = central.api(f"/customers/{cid}").json()
    assert brand_view["wallet"]["balance"] == 15000 - 7000 - 2 * CAP == -4000
    assert -brand_view["wallet"]["balance"] <= 2 * CAP  # exposure: at most one allowance per shop
    exceptions = central.api("/exceptions").json()
    overdrafts = [e for e in exceptions if e["kind"] == "wallet_overdraft"]
    assert len(overdrafts) == 1 and overdrafts[0]["customer_id"] == cid
    devices = {s["code"]: s["devices"][0]["id"] for s in central.api("/stores").json()}
    assert sorted(overdrafts[0]["details"]["devices"]) == sorted(devices.values())
    assert not [e for e in exceptions if e["kind"] == "recalculation_mismatch"]
    for edge in (a, b):
        wait_for(lambda: balance_at(edge, cid) == -4000, what="the edge shows the brand-wide wallet")

    # A full return at B gives the wallet back what B's offline sale took from it.
    returned = b.post(f"/sales/{at_b.json()['id']}/returns", {"lines": [{"sku": "B1", "qty": 1}]}).json()
    assert returned["amount_refunded"] == returned["wallet_refunded"] == CAP
    b.wait_synced()
    assert central.api(f"/customers/{cid}").json()["wallet"]["balance"] == -4000 + CAP
    wait_for(lambda: balance_at(a, cid) == -4000 + CAP, what="A sees the re-credit")
    assert not [e for e in central.api("/exceptions").json() if e["kind"] == "recalculation_mismatch"]
