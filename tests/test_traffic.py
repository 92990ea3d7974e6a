"""People counter at a shop → traffic entries → central's traffic and conversion report."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import serial

from conftest_devices import SocatPair
from nodes import CentralNode, EdgeNode
from test_multinode import RULES, cash_sale, wait_for


def test_counted_visits_reach_central_with_the_conversion_rate(tmp_path):
    central = CentralNode(tmp_path / "central")
    central.store("S001", "Main street")
    central.publish(RULES)
    pair = SocatPair(tmp_path).start()
    edge = EdgeNode(tmp_path / "edge", central.url, central.enrolment_token("S001"))
    try:
        edge.stop()
        (edge.data_dir / "config.json").write_text(json.dumps(
            {"counter": f"serial://{pair.a}", "traffic_flush_seconds": 0.2, "timezone": "UTC"}))
        edge.start()
        with serial.Serial(pair.b, timeout=1) as counter:
            counter.write(b"IN\r\n" * 3 + b"OUT\r\n" + b"5\r\n")  # 3 + 0 + 5 passes
            counter.flush()
        customer = edge.post("/customers", {"first_name": "Vi", "last_name": "Sitor"}).json()
        for amount in (1000, 2000):
            assert edge.post("/sales", cash_sale(customer["id"], amount)).status_code == 201
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")

        def report():
            edge.sync()
            rows = central.api(f"/traffic?store=S001&from={today}&to={today}").json()
            return rows if rows and rows[0]["visits"] == 8 else None

        rows = wait_for(report, what="visits at central")
        assert [(r["store"], r["day"], r["visits"], r["sales"]) for r in rows] == [("S001", today, 8, 2)]
        assert rows[0]["conversion_bp"] == 2500  # 2 sales ÷ 8 visits = 25.00 %
        assert sum(rows[0]["hours"].values()) == 8
        for query in ("from=yesterday", "to=2026-13-99"):
            bad = central.api(f"/traffic?{query}")
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_query"  # as the dashboard
    finally:
        edge.stop()
        pair.stop()
        central.stop()
