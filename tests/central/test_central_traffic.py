"""The traffic report reads its own table, kept by the push: only accepted entries count."""

from __future__ import annotations

import uuid

from central import db, traffic


def _visits(edge, day: str, hour: int, visits: int) -> None:
    edge.append("traffic.visits", {"store": edge.store, "day": day, "hour": hour, "visits": visits})


def test_visits_and_accepted_sales_are_counted_once_per_shop_day_and_hour(central, edge):
    today = central.clock().strftime("%Y-%m-%d")
    _visits(edge, today, 9, 5)
    _visits(edge, today, 10, 3)
    edge.append("traffic.visits", {"store": edge.store, "day": today, "hour": 24, "visits": 100})  # malformed
    customer = edge.register()
    sale = edge.sell(customer)
    edge.sell(None)
    edge.append("sale.completed", {**sale})  # the same sale again: rejected as a duplicate
    edge.sell(str(uuid.uuid4()))  # an unknown customer: rejected
    pushed = edge.push()
    assert pushed.status_code == 200
    assert [r["status"] for r in pushed.json["results"]].count("rejected") == 3
    other = central.edge("S002")
    _visits(other, today, 9, 4)
    assert other.push().status_code == 200

    report = central.api("GET", f"/api/v1/traffic?from={today}&to={today}").json
    assert [(r["store"], r["visits"], r["sales"], r["conversion_bp"], r["hours"]) for r in report] == [
        ("S001", 8, 2, 2500, {"09": 5, "10": 3}), ("S002", 4, 0, 0, {"09": 4})]
    # A repeated push (a lost reply) adds nothing.
    assert {r["status"] for r in edge.push(edge.log).json["results"]} == {"duplicate"}
    assert central.api("GET", "/api/v1/traffic?store=S001").json == report[:1]
    # The migration that made the table fills it from the stored log and sales alike.
    db.execute("DELETE FROM traffic")
    traffic.backfill()
    assert central.api("GET", f"/api/v1/traffic?from={today}&to={today}").json == report


def test_filters_that_cannot_be_read_are_refused_as_on_the_dashboard(central, edge):
    edge.push()  # S001 exists
    assert central.api("GET", "/api/v1/traffic?store=S001").status_code == 200
    for query, parameter in (("store=ZZZ", "store"), ("store=S0%00", "store"), ("from=bad", "from"),
                             ("to=2026-02-30", "to")):
        response = central.api("GET", f"/api/v1/traffic?{query}")
        assert response.status_code == 400, (query, response.json)
        assert response.json["error"]["code"] == "bad_query" and response.json["error"]["details"] == {"parameter": parameter}
