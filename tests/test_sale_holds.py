"""A sale the edge refuses leaves no hold at central, and the till sees the edge's own reason.

A real central and a real edge run as processes on loopback; the till speaks HTTP to the edge,
and central's customer view (``held``) shows what the authorizations still reserve.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from nodes import CentralNode, EdgeNode

RULES = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 1, "max_share_percent": 50, "min_balance": 0, "offline_cap": 5000},
    "tiers": [{"name": "Basic", "threshold": 0}],
    "rewards": [{"sku": "GIFT1", "name": "Tote bag", "cost": 100}, {"sku": "GIFT2", "name": "Umbrella", "cost": 400}],
    "one_reward_per_sale": True,
}
BALANCE = 1000


def wait_for(predicate, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """One central and one provisioned edge, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("holds")
    central = CentralNode(root / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    edge = EdgeNode(root / "S001", central.url, central.enrolment_token("S001"))
    yield central, edge
    edge.stop()
    central.stop()


@pytest.fixture
def member(shop) -> dict:
    """A customer of their own with ``BALANCE`` points that central knows about."""
    central, edge = shop
    customer = edge.post("/customers", {"first_name": "Ioana", "last_name": "Marin"}).json()
    earned = edge.post("/sales", {"customer_id": customer["id"], "lines": [{"sku": "A1", "qty": 1,
                                  "unit_price": BALANCE * 1000}], "payments": [{"method": "cash",
                                  "amount": BALANCE * 1000}]})
    assert earned.json()["points_earned"] == BALANCE, earned.text
    edge.wait_synced()
    wait_for(lambda: central.api(f"/customers/{customer['id']}").json()["points"]["available"] == BALANCE,
             what="central to apply the earning sale")
    return customer


def held_at_central(central: CentralNode, customer_id: str) -> int:
    view = central.api(f"/customers/{customer_id}")
    assert view.status_code == 200, view.text
    return view.json()["held"]


def sale(customer_id: str, lines: list[dict], payments: list[dict]) -> dict:
    return {"customer_id": customer_id, "lines": lines, "payments": payments}


A1 = {"sku": "A1", "qty": 1, "unit_price": 2000}
GIFT1 = {"sku": "GIFT1", "qty": 1, "unit_price": 0, "reward": True}
GIFT2 = {"sku": "GIFT2", "qty": 1, "unit_price": 0, "reward": True}
GIFT9 = {"sku": "GIFT9", "qty": 1, "unit_price": 0, "reward": True}

REFUSALS = {
    # points 300 + cash 100 do not pay a 20.00 line
    "payment_mismatch": ([A1], [{"method": "points", "points": 300}, {"method": "cash", "amount": 100}]),
    # two rewards in one sale, both affordable
    "reward_limit_exceeded": ([GIFT1, GIFT2, A1], [{"method": "cash", "amount": 2000}]),
    # points may pay at most 50 % of the sale: 7.50 of 15.00, within the balance
    "redeem_limit_exceeded": ([dict(A1, unit_price=1500)], [{"method": "points", "points": 900},
                                                            {"method": "cash", "amount": 600}]),
    # more than the customer has, as the edge knows it
    "insufficient_points": ([dict(A1, unit_price=4000)], [{"method": "points", "points": BALANCE + 1},
                                                          {"method": "cash", "amount": 4000 - BALANCE - 1}]),
    # a reward that is not in the catalogue, in a sale that also spends points
    "unknown_reward": ([GIFT9, A1], [{"method": "points", "points": 100}, {"method": "cash", "amount": 1900}]),
}


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_a_refused_sale_reaches_the_till_with_its_code_and_holds_nothing(shop, member, code):
    central, edge = shop
    lines, payments = REFUSALS[code]
    response = edge.post("/sales", sale(member["id"], lines, payments))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert held_at_central(central, member["id"]) == 0
    # Nothing was spent: the whole balance is still there for the next sale.
    assert edge.get(f"/customers/{member['id']}").json()["points"]["available"] == BALANCE


def test_an_online_sale_may_spend_most_of_the_balance(shop, member):
    central, edge = shop
    response = edge.post("/sales", sale(member["id"], [dict(A1, unit_price=2 * BALANCE)],
                                        [{"method": "points", "points": BALANCE}, {"method": "cash", "amount": BALANCE}]))
    assert response.status_code == 201, response.text
    assert response.json()["points_redeemed"] == BALANCE
    edge.wait_synced()
    view = central.api(f"/customers/{member['id']}").json()
    assert (view["points"]["available"], view["held"]) == (response.json()["points_earned"], 0)


def test_a_commit_that_fails_after_authorization_releases_the_hold(shop, member):
    central, edge = shop
    database = sqlite3.connect(edge.data_dir / "edge.db")
    database.execute("CREATE TRIGGER full_disk BEFORE INSERT ON sale "
                     "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    database.commit()
    try:
        response = edge.post("/sales", sale(member["id"], [A1], [{"method": "points", "points": 500},
                                                                 {"method": "cash", "amount": 1500}]))
    finally:
        database.execute("DROP TRIGGER full_disk")
        database.commit()
        database.close()
    assert response.status_code == 500, response.text
    assert response.json()["error"]["code"] == "internal_error"
    assert held_at_central(central, member["id"]) == 0
    again = edge.post("/sales", sale(member["id"], [A1], [{"method": "points", "points": 500},
                                                          {"method": "cash", "amount": 1500}]))
    assert again.status_code == 201, again.text


def test_points_and_wallet_money_made_moments_ago_at_this_shop_spend_online_before_the_sync_loop_pushes(shop):
    """Central is the judge of a balance only once it has the shop's entries: the edge pushes
    what it had not yet before taking central's refusal as final."""
    central, _ = shop
    central.store("S002", "Side street")
    root = central.workdir.parent / "S002"
    quiet = EdgeNode(root, central.url, central.enrolment_token("S002"), sync_interval=3600)
    try:
        customer = quiet.post("/customers", {"first_name": "Dan", "last_name": "Pop"}).json()
        assert quiet.sync().returncode == 0  # central knows the customer, with no points yet
        earned = quiet.post("/sales", {"customer_id": customer["id"], "lines": [{"sku": "A1", "qty": 1,
                                       "unit_price": 200_000}], "payments": [{"method": "cash", "amount": 200_000}]})
        assert earned.json()["points_earned"] == 200
        loaded = quiet.post(f"/customers/{customer['id']}/wallet/loads", {"amount": 5000})
        assert loaded.status_code == 201, loaded.text
        assert quiet.status()["pending_entries"] == 2  # neither is at central yet

        spent = quiet.post("/sales", {"customer_id": customer["id"], "lines": [{"sku": "A1", "qty": 1, "unit_price": 10000}],
                                      "payments": [{"method": "points", "points": 100}, {"method": "wallet", "amount": 5000},
                                                   {"method": "cash", "amount": 4900}]})
        assert spent.status_code == 201, spent.text
        assert quiet.status()["pending_entries"] == 1  # the two before it went to central first
        assert central.api(f"/customers/{customer['id']}").json()["held"] == 100  # central's hold, online
    finally:
        quiet.stop()
