"""The monthly points-liability report: opening to closing by store, reconciled to members' balances.

Entries go through real signed pushes; the report is read through the JSON API.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from central import db, positions

UTC = timezone.utc


def _spend(amount: int) -> list[dict]:
    return [{"sku": "A1", "qty": 1, "unit_price": amount, "discount": 0}]


def _at(central, *parts: int) -> None:
    central.clock.now = datetime(*parts, tzinfo=UTC)


def _report(central, month: str) -> dict:
    response = central.api("GET", f"/api/v1/reports/liability?month={month}")
    assert response.status_code == 200, response.json
    return response.json


def _check_sums(report: dict) -> None:
    for figures in [report, *report["by_store"]]:
        assert figures["closing"] == (figures["opening"] + figures["issued"] + figures["adjusted"]
                                      - figures["redeemed"] - figures["expired"] - figures["reversed"])
    for figure in ("opening", "issued", "adjusted", "redeemed", "expired", "reversed", "closing"):
        assert report[figure] == sum(item[figure] for item in report["by_store"]), figure


@pytest.fixture
def autumn(central):
    """Two shops from September to early November 2026; returns what each step earned or spent.

    S001: Ana earns 30 points on 5 September, expiring 15 October at noon. S002: she pays
    12 of them on 20 September, and that sale earns her 4 that never expire. S001: Ben earns 50 on 3 October and returns the sale on the
    10th (50 reversed). S002 is offline from 18 October and pushes on 2 November a sale of
    20 October that earns Ben 20 points.
    """
    def push(edge) -> None:
        assert edge.push().status_code == 200
        _report(central, central.clock().strftime("%Y-%m"))  # the figures follow each push

    _at(central, 2026, 9, 1, 9)
    central.publish()  # points worth 10 minor units each
    north, south = central.edge("S001"), central.edge("S002")
    ana = north.register(first_name="Ana")
    ben = south.register(first_name="Ben")
    _at(central, 2026, 9, 5, 10)
    earned = north.sale_body(ana, _spend(30000))
    north.append("sale.completed", {**earned, "expires_at": "2026-10-15T12:00:00.000Z"})
    push(north)
    push(south)
    _at(central, 2026, 9, 20, 16)
    paid = south.sell(ana, _spend(5000), points_paid=12)
    push(south)
    _at(central, 2026, 10, 3, 11)
    sale = north.sell(ben, _spend(50000))
    push(north)
    _at(central, 2026, 10, 10, 11)
    north.give_back(sale, sale["points_earned"])
    push(north)
    _at(central, 2026, 10, 20, 15)
    late = south.sell(ben, _spend(20000))
    _at(central, 2026, 11, 2, 8)
    push(south)
    _at(central, 2026, 11, 5, 12)
    assert [body["points_earned"] for body in (earned, paid, sale, late)] == [30, 4, 50, 20]
    return {"ana": ana, "ben": ben}


def test_september_issues_and_redeems_across_two_shops(central, autumn):
    report = _report(central, "2026-09")
    assert (report["opening"], report["issued"], report["redeemed"], report["expired"], report["closing"]) \
        == (0, 34, 12, 0, 22)
    assert report["point_value"] == 10 and report["closing_money"] == 220
    assert report["complete"] is True and report["to"] == "2026-10-01T00:00:00.000Z"
    stores = {item["store"]: item for item in report["by_store"]}
    assert (stores["S001"]["issued"], stores["S001"]["closing"]) == (30, 30)
    assert (stores["S002"]["issued"], stores["S002"]["redeemed"], stores["S002"]["closing"]) == (4, 12, -8)
    assert report["reconciled"] is True and report["difference"] == 0
    _check_sums(report)


def test_october_expires_what_was_left_reverses_a_return_and_counts_a_late_offline_sale(central, autumn):
    report = _report(central, "2026-10")
    assert report["opening"] == 22
    assert report["issued"] == 70          # Ben's 50, and the 20 pushed in November for a sale of 20 October
    assert report["reversed"] == 50
    assert report["expired"] == 18         # what the 12 paid on 20 September left of Ana's lot of 30
    assert report["closing"] == 24 and report["closing_money"] == 240
    stores = {item["store"]: item for item in report["by_store"]}
    assert stores["S001"]["expired"] == 18  # expired points count where they were earned
    assert report["reconciled"] is True and report["members_balance"] == 24
    _check_sums(report)
    assert central.customer(autumn["ana"])["points"]["available"] == 4
    assert central.customer(autumn["ben"])["points"]["available"] == 20


def test_the_month_in_progress_runs_to_the_end_of_today(central, autumn):
    report = _report(central, "2026-11")
    assert report["complete"] is False and report["to"] == "2026-11-06T00:00:00.000Z"
    assert (report["opening"], report["closing"], report["reconciled"]) == (24, 24, True)
    assert report["outstanding"]["outstanding"] == 24
    assert report["outstanding"]["ageing"][0] == {"age": "0-3 months", "points": 24}


def test_a_balance_changed_without_a_ledger_movement_is_shown_as_a_difference(central, autumn):
    """A correction must be a movement: one that only moved the customer's total (and told the
    edges) leaves the report unreconciled by exactly that much."""
    from central import feed

    with db.database.atomic():
        db.execute("UPDATE customer SET ledger_total = ledger_total + 100 WHERE id = ?", (autumn["ben"],))
        feed.append([(None, feed.CUSTOMER_STATE, {"customer": {"id": autumn["ben"], "tier": "Basic"}})],
                    central.clock())
    report = _report(central, "2026-10")
    assert report["reconciled"] is False and report["difference"] == 100
    assert report["closing"] == 24 and report["members_balance"] == 124


def test_figures_kept_up_from_the_feed_equal_figures_rebuilt_from_scratch(central, autumn):
    def reports() -> list[dict]:
        found = [_report(central, month) for month in ("2026-09", "2026-10", "2026-11")]
        return [{key: value for key, value in report.items() if key != "refreshed_at"} for report in found]

    before = reports()
    positions.rebuild(central.clock())
    assert reports() == before


@pytest.mark.parametrize("query", ["", "?month=", "?month=2026-13", "?month=2026-1", "?month=2026-00",
                                   "?month=２０２６-10", "?month=2026-12", "?month=2027-01",
                                   "?month=9999-12", "?month=0001-01"])  # the calendar's ends
def test_a_bad_or_future_month_is_refused_and_writes_nothing(central, edge, query):
    _at(central, 2026, 11, 5, 12)
    edge.register()
    edge.push()  # a change the figures have not read yet
    response = central.api("GET", f"/api/v1/reports/liability{query}")
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "bad_query"
    assert response.json["error"]["details"] == {"parameter": "month"}
    assert positions.backlog() > 0  # not even the figures were brought up to date


def test_the_report_needs_a_token(central):
    response = central.client.get("/api/v1/reports/liability?month=2026-10")
    assert response.status_code == 401
