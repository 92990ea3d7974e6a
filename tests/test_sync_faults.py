"""Sync through a proxy that drops, repeats, delays and cuts traffic, and kills central.

Whatever the network does, central must end with exactly the ledger the edge's unique
entries describe: nothing lost, nothing applied twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

from faultproxy import FaultProxy, random_plan
from nodes import CentralNode, EdgeNode
from test_multinode import RULES, cash_sale, points_sale


def expected_balances(export_lines: list[str]) -> dict[str, int]:
    """The fold of the unique entries: earned − spent − reversed, per customer."""
    balances: dict[str, int] = defaultdict(int)
    seen = set()
    for line in export_lines:
        entry = json.loads(line)
        assert entry["id"] not in seen
        seen.add(entry["id"])
        body = entry["body"]
        if entry["kind"] == "sale.completed" and body["customer_id"]:
            balances[body["customer_id"]] += body["points_earned"] - body["points_paid"] - body["reward_points"]
        elif entry["kind"] == "sale.returned" and body["customer_id"]:
            balances[body["customer_id"]] -= body["points_reversed"]
    return dict(balances)


def test_faulty_network_and_dying_central_converge_exactly(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    restarting = threading.Lock()

    def kill_and_restart() -> None:
        if not restarting.acquire(blocking=False):
            return
        central.kill()

        def later():
            time.sleep(0.3)
            central.start()
            restarting.release()

        threading.Thread(target=later, daemon=True).start()

    proxy = FaultProxy(central.url, on_kill=kill_and_restart)
    edge = EdgeNode(tmp_path / "edge", proxy.url, central.enrolment_token("S001"), sync_interval=0.1)
    try:
        # Every fault happens to a push at least once, in this order; then faults at random.
        scripted = ["drop_response", "duplicate", "kill_after", "drop_request", "kill_before", "delay"]
        randomly = random_plan(11, {"pass": 12, "drop_request": 1, "drop_response": 1, "duplicate": 1,
                                    "delay": 1, "kill_before": 0.2, "kill_after": 0.2})

        def plan(method: str, path: str) -> str:
            if path.startswith("/sync/v1/push") and scripted:
                return scripted.pop(0)
            return randomly(method, path)

        proxy.plan = plan
        customers = [edge.post("/customers", {"first_name": f"C{i}", "last_name": "Fault"}).json()["id"]
                     for i in range(3)]
        for n in range(150):
            if n >= 45 and not scripted:
                break
            customer = customers[n % 3]
            sale = edge.post("/sales", cash_sale(customer, 1000 + 37 * n)).json()
            if n % 7 == 3:
                assert edge.post(f"/sales/{sale['id']}/returns", {"lines": [{"sku": "A1", "qty": 1}]}).ok
            if n % 9 == 5:
                spend = edge.post("/sales", points_sale(customer, 5))
                assert spend.status_code in (201, 422), spend.text
            time.sleep(0.15)  # let the sync loop push between sales, through the faults
        proxy.plan = lambda method, path: "pass"
        with restarting:
            pass  # central is up again
        edge.wait_synced(timeout=60)
        assert not scripted, f"faults never exercised: {scripted}"

        lines = edge.export()
        expected = expected_balances(lines)
        for customer in customers:
            assert central.api(f"/customers/{customer}").json()["points"]["available"] == expected.get(customer, 0)
        device = edge.status()["device_id"]
        assert central.api(f"/devices/{device}/log").text.splitlines() == lines
        # A second sync after everything is acknowledged changes nothing.
        before = central.api("/stores").json()
        assert edge.sync().returncode == 0
        assert central.api("/stores").json()[0]["devices"][0]["acked_seq"] == before[0]["devices"][0]["acked_seq"]
    finally:
        edge.stop()
        proxy.stop()
        central.stop()
