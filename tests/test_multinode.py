"""Central and two edges as real processes: offline selling, double spending, convergence."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from nodes import CentralNode, EdgeNode

RULES = {
    "earn": {"rate": "0.1"},
    "redeem": {"point_value": 1, "max_share_percent": 100, "min_balance": 0, "offline_cap": 80},
    "tiers": [{"name": "Basic", "threshold": 0}],
}


def cash_sale(customer_id: str, amount: int) -> dict:
    return {"customer_id": customer_id, "lines": [{"sku": "A1", "qty": 1, "unit_price": amount}],
            "payments": [{"method": "cash", "amount": amount}]}


def points_sale(customer_id: str, points: int) -> dict:
    return {"customer_id": customer_id, "lines": [{"sku": "B1", "qty": 1, "unit_price": points}],
            "payments": [{"method": "points", "points": points}]}


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def two_shops(tmp_path, rules: dict):
    """Central with shops S001 and S002, each with an enrolled edge, under ``rules`` (version 1)."""
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.store("S002", "Station")
    assert central.publish(rules) == 1
    edges = [EdgeNode(tmp_path / code, central.url, central.enrolment_token(code)) for code in ("S001", "S002")]
    yield central, edges
    for edge in edges:
        edge.stop()
    central.stop()


@pytest.fixture
def brand(tmp_path):
    yield from two_shops(tmp_path, RULES)


def test_offline_double_spend_is_bounded_recorded_and_converges(brand):
    central, (a, b) = brand
    customer = a.post("/customers", {"first_name": "Maria", "last_name": "Ionescu"}).json()
    assert a.post("/sales", cash_sale(customer["id"], 200000)).json()["points_earned"] == 200
    a.wait_synced()

    # The customer registered at A is found at B, with the brand-wide balance.
    seen = wait_for(lambda: (r := b.get(f"/customers/{customer['id']}")).ok and r.json(), what="customer at B")
    assert seen["card_number"] == customer["card_number"]
    wait_for(lambda: b.get(f"/customers/{customer['id']}").json()["points"]["available"] == 200, what="balance at B")

    # Online, central authorizes 90 points at B although the offline cap is 80.
    online = b.post("/sales", points_sale(customer["id"], 90))
    assert online.status_code == 201, online.text
    b.wait_synced()
    wait_for(lambda: b.get(f"/customers/{customer['id']}").json()["points"]["available"] == 110, what="B pulled")
    wait_for(lambda: a.get(f"/customers/{customer['id']}").json()["points"]["available"] == 110, what="A pulled")

    central.kill()
    # Both shops keep selling; each lets the customer spend up to the offline cap.
    assert a.post("/sales", points_sale(customer["id"], 80)).status_code == 201
    assert b.post("/sales", points_sale(customer["id"], 80)).status_code == 201
    over_cap = b.post("/sales", points_sale(customer["id"], 1))
    assert over_cap.status_code == 422 and over_cap.json()["error"]["code"] == "insufficient_points"
    assert a.post("/sales", cash_sale(customer["id"], 20000)).json()["points_earned"] == 20
    assert a.status()["pending_entries"] > 0 and b.status()["pending_entries"] > 0

    central.start()
    a.wait_synced()
    b.wait_synced()
    expected = 200 - 90 - 80 - 80 + 20  # earned − spent, exactly: the goods have left
    brand_view = central.api(f"/customers/{customer['id']}").json()
    assert brand_view["points"]["available"] == expected == -30
    assert brand_view["balance_negative"] is True
    kinds = [(e["kind"], e.get("customer_id")) for e in central.api("/exceptions").json()]
    assert ("overdraft", customer["id"]) in kinds
    for edge in (a, b):
        wait_for(lambda: edge.get(f"/customers/{customer['id']}").json()["points"]["available"] == expected,
                 what="edge shows the brand-wide balance")
        assert edge.get(f"/customers/{customer['id']}").json()["balance_negative"] is True

    stores = {s["code"]: s for s in central.api("/stores").json()}
    for edge, code in ((a, "S001"), (b, "S002")):
        device = stores[code]["devices"][0]
        assert device["acked_seq"] == edge.status()["log_head"]["seq"]


def test_future_rules_apply_at_their_time_even_offline(brand):
    central, (a, _) = brand
    from datetime import datetime, timedelta, timezone

    start = (datetime.now(timezone.utc) + timedelta(seconds=20)).replace(microsecond=0)
    doubled = {**RULES, "earn": {"rate": "0.2"}, "effective_from": start.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert central.publish(doubled) == 2
    a.wait_synced()
    wait_for(lambda: a.status()["rules_version"] == 1 and a.sync().returncode == 0, what="pull of version 2")
    customer = a.post("/customers", {"first_name": "Time", "last_name": "Traveller"}).json()
    before = a.post("/sales", cash_sale(customer["id"], 10000)).json()
    assert (before["rules_version"], before["points_earned"]) == (1, 10)
    central.kill()
    wait_for(lambda: datetime.now(timezone.utc) > start + timedelta(seconds=0.5), timeout=40, what="effective time")
    after = a.post("/sales", cash_sale(customer["id"], 10000)).json()
    assert (after["rules_version"], after["points_earned"]) == (2, 20)


def test_a_revoked_device_is_refused_and_doctor_says_so(brand):
    central, (a, b) = brand
    device = a.status()["device_id"]
    central.cli("device", "revoke", "--id", device)
    a.post("/customers", {"first_name": "After", "last_name": "Revocation"})
    result = a.sync()
    assert result.returncode != 0 and "revoked" in result.stderr.lower()
    doctor = subprocess.run([a.edge, "doctor", "--data-dir", str(a.data_dir)], capture_output=True, text=True)
    assert doctor.returncode != 0 and "REVOKED" in doctor.stdout
    assert b.sync().returncode == 0  # the other shop is unaffected
    # The shop keeps selling: revocation stops sync, never the till.
    assert a.post("/customers", {"first_name": "Still", "last_name": "Selling"}).status_code == 201


def test_a_rewritten_history_is_a_fork_that_freezes_the_device(brand, tmp_path):
    central, (a, _) = brand
    a.wait_synced()
    a.stop()
    copy = tmp_path / "restored"
    shutil.copytree(a.data_dir, copy)
    # The original sells and syncs; the stale copy sells something else at the same seq.
    a.start()
    a.post("/customers", {"first_name": "Original", "last_name": "History"})
    a.wait_synced()
    a.stop()
    stale = subprocess.run([a.edge, "till", "add", "--name", "other", "--data-dir", str(copy)],
                           capture_output=True, text=True)
    assert stale.returncode == 0
    result = subprocess.run([a.edge, "sync", "--data-dir", str(copy)], capture_output=True, text=True)
    assert result.returncode != 0 and "fork" in result.stderr.lower()
    forks = [e for e in central.api("/exceptions").json() if e["kind"] == "fork"]
    assert [e["device_id"] for e in forks] == [a.status()["device_id"]]
    # Frozen: even the original box can no longer push until head office resolves it.
    a.start()
    a.post("/customers", {"first_name": "Blocked", "last_name": "ByFork"})
    frozen = a.sync()
    assert frozen.returncode != 0 and ("frozen" in frozen.stderr or "fork" in frozen.stderr)
