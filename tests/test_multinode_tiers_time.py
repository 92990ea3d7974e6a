"""Central and two edges as real processes: tiers decided brand-wide, and points that mature
and expire on an edge's own clock while central is down."""

from __future__ import annotations

import pytest

from nodes import CentralNode, EdgeNode, ShiftedClock
from test_multinode import cash_sale, points_sale, wait_for

TIERED = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 1, "max_share_percent": 100, "min_balance": 0, "offline_cap": 1000},
    "tiers": [{"name": "Basic", "threshold": 0}, {"name": "Silver", "threshold": 50000}],
}
DATED = {
    **TIERED,
    "accrual": {"delay_days": 1},                      # spendable a day after the sale
    "expiry": {"policy": "after_days", "days": 2},     # and for two days after that
}


def _brand(tmp_path, rules: dict, env_b: dict | None = None):
    central = CentralNode(tmp_path / "central")
    for code in ("S001", "S002"):
        central.store(code, code)
    central.publish(rules)
    a = EdgeNode(tmp_path / "S001", central.url, central.enrolment_token("S001"))
    b = EdgeNode(tmp_path / "S002", central.url, central.enrolment_token("S002"), env=env_b)
    return central, a, b


@pytest.fixture
def nodes():
    started: list = []
    yield started
    for node in reversed(started):
        node.stop()


def _tier(edge: EdgeNode, customer_id: str) -> str:
    return edge.get(f"/customers/{customer_id}").json()["tier"]


def test_tiers_follow_brand_wide_spend_across_an_outage(tmp_path, nodes):
    central, a, b = _brand(tmp_path, TIERED)
    nodes += [central, a, b]
    customer = a.post("/customers", {"first_name": "Tia", "last_name": "Tier"}).json()["id"]
    assert a.post("/sales", cash_sale(customer, 30000)).status_code == 201
    a.wait_synced()
    wait_for(lambda: b.get(f"/customers/{customer}").ok, what="customer at B")

    central.kill()
    # Offline, B counts central's 300.00 plus its own 250.00: a provisional upgrade.
    sold_at_b = b.post("/sales", cash_sale(customer, 25000)).json()
    assert _tier(b, customer) == "Silver"
    assert a.post("/sales", cash_sale(customer, 1000)).status_code == 201
    assert _tier(a, customer) == "Basic"  # A has not seen B's sale

    central.start()
    a.wait_synced()
    b.wait_synced()
    assert central.api(f"/customers/{customer}").json()["tier"] == "Silver"  # 560.00 brand-wide
    wait_for(lambda: a.sync().returncode == 0 and _tier(a, customer) == "Silver", what="A learns Silver")

    # A return at B brings brand-wide spend back under the threshold: central lowers the
    # tier, and both shops follow once central has spoken.
    assert b.post(f"/sales/{sold_at_b['id']}/returns", {"lines": [{"sku": "A1", "qty": 1}]}).status_code == 201
    b.wait_synced()
    assert central.api(f"/customers/{customer}").json()["tier"] == "Basic"
    for edge in (a, b):
        wait_for(lambda: edge.sync().returncode == 0 and _tier(edge, customer) == "Basic", what="edges follow")


def test_points_mature_and_expire_on_the_edges_clock_while_central_is_down(tmp_path, nodes):
    clock = ShiftedClock(tmp_path)
    central, a, b = _brand(tmp_path, DATED, env_b=clock.env)
    nodes += [central, a, b]
    customer = a.post("/customers", {"first_name": "Pat", "last_name": "Pending"}).json()["id"]
    assert a.post("/sales", cash_sale(customer, 200000)).json()["points_earned"] == 200
    a.wait_synced()

    def points_at_b() -> dict:
        response = b.get(f"/customers/{customer}")
        return response.json()["points"] if response.ok else {}

    wait_for(lambda: points_at_b().get("pending") == 200, what="B learns of the pending lot")
    assert points_at_b()["available"] == 0

    central.kill()
    clock.shift("+25h")  # a day later, with no word from central
    assert points_at_b()["available"] == 200 and points_at_b()["pending"] == 0
    spent = b.post("/sales", points_sale(customer, 50))
    assert spent.status_code == 201, spent.text

    clock.shift("+4d")  # past the lot's expiry
    assert points_at_b()["available"] == 0
    refused = b.post("/sales", points_sale(customer, 1))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "insufficient_points"
