"""``fidelis-central jobs run``: expiry recorded once per lot, sent to the shops, the liability
report still reconciled; the customer's ``expiring`` list; the feed compacted (its own tests:
test_central_feed_compaction.py). Entries go through real signed pushes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from central import jobs
from test_central_liability import _check_sums, _report, autumn  # noqa: F401  (fixture)


def _expired_items(edge) -> list[dict]:
    response = edge.pull()
    assert response.status_code == 200, response.json
    return [item["body"] for item in response.json["items"] if item["kind"] == jobs.POINTS_EXPIRED]


def test_the_job_records_what_expired_once_and_tells_every_shop(central, autumn, run_central):
    # Ana earned 30 points expiring 15 October and spent 12 of them on 20 September.
    october = _report(central, "2026-10")
    north = central.edge("S001")

    done = run_central("jobs", "run", "--json", env={"FIDELIS_DATABASE_URL": central.url})
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert first["expiry"] == {"lots": 1, "points": 18, "customers": 1} and first["feed"]["compacted"] > 0
    again = run_central("jobs", "run", "--json", env={"FIDELIS_DATABASE_URL": central.url})
    assert json.loads(again.stdout) == {"expiry": {"lots": 0, "points": 0, "customers": 0}, "feed": {"compacted": 0}}

    lapsed = _expired_items(north)
    assert [(body["customer_id"], [lot["points"] for lot in body["lots"]]) for body in lapsed] == [(autumn["ana"], [18])]
    assert lapsed[0]["lots"][0]["at"] == "2026-10-15T12:00:00.000Z"
    assert jobs.expired_of(autumn["ana"]) == [{"lot": lapsed[0]["lots"][0]["lot"], "points": 18,
                                               "at": "2026-10-15T12:00:00.000Z"}]
    # Recording changes no balance: the report is the same and still reconciles.
    after = _report(central, "2026-10")
    del after["refreshed_at"], october["refreshed_at"]  # the figures follow the feed the job wrote to
    assert after == october and after["reconciled"] and after["expired"] == 18
    _check_sums(after)
    assert central.customer(autumn["ana"])["points"]["available"] == 4


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _earn(edge, customer_id: str, price: int, expires: datetime) -> None:
    body = edge.sale_body(customer_id, [{"sku": "A1", "qty": 1, "unit_price": price, "discount": 0}])
    edge.append("sale.completed", {**body, "expires_at": _stamp(expires)})


def test_expiry_is_recorded_only_once_its_moment_has_passed(central, edge):
    ana = edge.register()
    now = central.clock()
    _earn(edge, ana, 30000, now + timedelta(days=1))
    assert edge.push().status_code == 200
    assert jobs.run(now)["expiry"]["lots"] == 0
    assert jobs.run(now + timedelta(days=2))["expiry"] == {"lots": 1, "points": 30, "customers": 1}


def test_the_customer_shows_what_expires_within_90_days(central, edge):
    ana = edge.register()
    now = central.clock()
    for price, days in ((10000, 10), (20000, 10), (30000, 80), (40000, 120)):
        _earn(edge, ana, price, now + timedelta(days=days))
    assert edge.push().status_code == 200
    assert central.customer(ana)["expiring"] == [{"points": 30, "at": _stamp(now + timedelta(days=10))},
                                                 {"points": 30, "at": _stamp(now + timedelta(days=80))}]
