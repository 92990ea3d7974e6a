"""Customers reach the shops that need them: central and edges as real processes.

A shop keeps the customers seen there and asks central about a card it does not know; an
offline shop still lets an unknown card earn, and central links the sale to the card's
customer; a new shop in a brand with many customers does not download them.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from edge import syncer
from nodes import EdgeNode
from test_multinode import RULES, cash_sale, points_sale, two_shops, wait_for


@pytest.fixture
def brand(tmp_path):
    yield from two_shops(tmp_path, RULES)


def card_sale(card: str, amount: int) -> dict:
    return {"card_number": card, "lines": [{"sku": "A1", "qty": 1, "unit_price": amount}],
            "payments": [{"method": "cash", "amount": amount}]}


def customers_held(edge: EdgeNode) -> int:
    with sqlite3.connect(edge.data_dir / "edge.db") as db:
        return db.execute("SELECT COUNT(*) FROM customer").fetchone()[0]


def test_registered_at_one_shop_looked_up_and_sold_at_another_online(brand):
    central, (a, b) = brand
    ana = a.post("/customers", {"first_name": "Ana", "last_name": "Pop"}).json()
    assert a.post("/sales", cash_sale(ana["id"], 200000)).status_code == 201
    a.wait_synced()
    b.wait_synced()
    assert customers_held(b) == 0  # S002 was not sent S001's customer

    started = time.monotonic()
    found = b.get(f"/customers/lookup?card={ana['card_number']}")
    assert found.status_code == 200, found.text
    assert time.monotonic() - started < 1.5
    assert (found.json()["id"], found.json()["points"]["available"]) == (ana["id"], 200)

    # Online, B spends through central's authorization and earns on the same customer.
    spent = b.post("/sales", {**points_sale(ana["id"], 50)})
    assert spent.status_code == 201, spent.text
    assert b.post("/sales", card_sale(ana["card_number"], 10000)).json()["points_earned"] == 10
    b.wait_synced()
    assert central.api(f"/customers/{ana['id']}").json()["points"]["available"] == 160
    # Later changes reach both shops that know the customer.
    assert a.post("/sales", cash_sale(ana["id"], 40000)).status_code == 201
    a.wait_synced()
    for edge in (a, b):
        wait_for(lambda: edge.get(f"/customers/{ana['id']}").json()["points"]["available"] == 200,
                 what="both shops see the brand-wide balance")
    assert customers_held(b) == 1


def test_an_unknown_card_at_an_offline_shop_earns_and_is_linked_at_central(brand):
    central, (a, b) = brand
    ana = a.post("/customers", {"first_name": "Ana", "last_name": "Pop"}).json()
    assert a.post("/sales", cash_sale(ana["id"], 100000)).status_code == 201
    a.wait_synced()

    central.kill()
    card = ana["card_number"]
    lookup = b.get(f"/customers/lookup?card={card}")
    assert lookup.status_code == 404 and lookup.json()["error"]["details"] == {"central_reachable": False}
    sold = b.post("/sales", card_sale(card, 30000))
    assert sold.status_code == 201, sold.text
    assert sold.json()["points_earned"] == 30
    provisional = sold.json()["customer"]
    assert provisional["provisional"] is True and provisional["points"]["offline_spendable"] == 0
    # It earns offline, and spends nothing until central has linked it.
    refused = b.post("/sales", {**points_sale(provisional["id"], 10)})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "insufficient_points"
    assert b.post("/sales", card_sale(card, 20000)).json()["customer"]["id"] == provisional["id"]

    central.start()
    b.wait_synced()
    # Central put both sales on the card's customer: no second customer, no lost points.
    assert central.api(f"/customers/{ana['id']}").json()["points"]["available"] == 150
    assert central.api(f"/customers?card={card}").json()["id"] == ana["id"]
    assert central.api(f"/customers/{provisional['id']}").json()["id"] == ana["id"]  # linked, not a second one
    assert central.api("/exceptions").json() == []
    # B learns the link: the card and the provisional id both find the customer now.
    wait_for(lambda: b.get(f"/customers/lookup?card={card}").json()["id"] == ana["id"], what="link at B")
    linked = b.get(f"/customers/{provisional['id']}").json()
    assert (linked["id"], linked["provisional"], linked["points"]["available"]) == (ana["id"], False, 150)
    assert b.post("/sales", points_sale(ana["id"], 40)).status_code == 201
    b.wait_synced()
    assert central.api(f"/customers/{ana['id']}").json()["points"]["available"] == 110


def test_a_new_shop_in_a_brand_with_many_customers_does_not_download_them_and_a_spare_box_downloads_its_own(brand, tmp_path):
    central, (a, _) = brand
    cards = [a.post("/customers", {"first_name": f"C{n}", "last_name": "Many"}).json()["card_number"]
             for n in range(150)]
    a.wait_synced()
    central.store("S003", "Airport")
    started = time.monotonic()
    new = EdgeNode(tmp_path / "S003", central.url, central.enrolment_token("S003"))
    try:
        new.wait_synced()
        assert new.status()["rules_version"] == 1
        assert customers_held(new) == 0
        sold = new.post("/sales", card_sale(cards[77], 10000))
        assert sold.status_code == 201, sold.text
        assert sold.json()["customer"]["first_name"] == "C77"
        assert time.monotonic() - started < 60
        assert customers_held(new) == 1
    finally:
        new.stop()
    # A replacement box for S001 takes all 150 of its shop's customers, over several pages.
    spare = EdgeNode(tmp_path / "S001-spare", central.url, central.enrolment_token("S001"))
    try:
        spare.wait_synced()
        assert customers_held(spare) == 150 > syncer.PULL_PAGE
        found = spare.get(f"/customers/lookup?card={cards[149]}")
        assert found.status_code == 200 and found.json()["first_name"] == "C149"
    finally:
        spare.stop()
