"""Central and an edge as real processes: head office's care reaches the shop at its next sync."""

from __future__ import annotations

import pytest
import requests

from nodes import CentralNode, EdgeNode
from test_multinode import cash_sale, wait_for

RULES = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 1, "max_share_percent": 100, "min_balance": 0, "offline_cap": 5000},
    "tiers": [{"name": "Basic", "threshold": 0}, {"name": "Silver", "threshold": 500000}],
}


@pytest.fixture
def shop(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    edge = EdgeNode(tmp_path / "S001", central.url, central.enrolment_token("S001"))
    yield central, edge
    edge.stop()
    central.stop()


def _at_central(central: CentralNode, method: str, path: str, body: dict) -> dict:
    response = requests.request(method, f"{central.url}/api/v1{path}", json=body, timeout=10,
                                headers={"Authorization": f"Bearer {central.token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def _customer(edge: EdgeNode, first: str, card: str, spend: int) -> dict:
    made = edge.post("/customers", {"first_name": first, "last_name": "Pop", "card_number": card})
    assert made.status_code == 201, made.text
    assert edge.post("/sales", cash_sale(made.json()["id"], spend)).status_code == 201
    return made.json()


def test_an_edge_shows_a_correction_a_merge_and_a_blocked_card_after_its_next_sync(shop):
    central, edge = shop
    maria = _customer(edge, "Maria", "2600000000011", 100000)  # 100 points
    kept = _customer(edge, "Ana", "2600000000028", 200000)  # 200 points
    twin = _customer(edge, "Anna", "2600000000035", 50000)  # 50 points, the same person
    lost = _customer(edge, "Ion", "2600000000042", 70000)  # 70 points, then loses the card
    edge.wait_synced()

    _at_central(central, "POST", f"/customers/{maria['id']}/adjustments", {"points": 25, "reason": "Late delivery"})
    merged = _at_central(central, "POST", "/customers/merge", {"keep": kept["id"], "absorb": twin["id"]})
    assert merged["points"]["available"] == 250
    _at_central(central, "POST", f"/customers/{lost['id']}/card", {"card_number": "2600000000059"})
    _at_central(central, "PUT", f"/customers/{maria['id']}/tier", {"tier": "Silver", "locked": True})

    # The correction: the shop sees the new balance and the tier head office locked.
    # (Each act is its own feed item: a sync may bring the correction before the tier.)
    wait_for(lambda: edge.get(f"/customers/{maria['id']}").json()["points"]["available"] == 125, what="correction")
    wait_for(lambda: edge.get(f"/customers/{maria['id']}").json()["tier"] == "Silver", what="locked tier")
    assert edge.get(f"/customers/{maria['id']}").json()["tier_locked"] is True
    # The merge: the absorbed card and id find the kept customer, holding the points of both.
    wait_for(lambda: edge.get("/customers/lookup?card=2600000000035").json()["id"] == kept["id"], what="merge")
    assert edge.get("/customers/lookup?card=2600000000035").json()["points"]["available"] == 250
    assert edge.get(f"/customers/{twin['id']}").json()["id"] == kept["id"]
    # The lost card: refused at the till; the new one finds the customer and the points.
    wait_for(lambda: edge.get("/customers/lookup?card=2600000000042").status_code == 409, what="blocked card")
    refused = edge.post("/sales", {**cash_sale(lost["id"], 1000), "customer_id": None, "card_number": "2600000000042"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "card_blocked"
    replaced = edge.get("/customers/lookup?card=2600000000059").json()
    assert replaced["id"] == lost["id"] and replaced["points"]["available"] == 70

    # Selling on the merged card at the shop lands on the kept customer at central too.
    sold = edge.post("/sales", {**cash_sale(kept["id"], 10000), "customer_id": None, "card_number": "2600000000035"})
    assert sold.status_code == 201 and sold.json()["customer"]["id"] == kept["id"]
    edge.wait_synced()
    assert central.api(f"/customers/{kept['id']}").json()["points"]["available"] == 260
