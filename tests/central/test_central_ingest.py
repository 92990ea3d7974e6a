"""What central does with the entries: customers, sales, returns, ledger, exceptions, holds."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from central import db, ingest, ledger, verify
from shared.times import format_time


def test_sales_build_the_brand_ledger_and_returns_reverse_it(central, edge):
    customer = edge.register()
    sale = edge.sell(customer, [{"sku": "A1", "qty": 4, "unit_price": 2500, "discount": 0}])
    assert sale["points_earned"] == 10
    edge.give_back(sale, points_reversed=10)
    response = edge.push()
    assert [r["status"] for r in response.json["results"]] == ["applied"] * 5
    assert central.customer(customer)["points"] == {"available": 0, "pending": 0}
    assert central.exceptions() == []


def test_a_redemption_beyond_the_brand_balance_is_an_overdraft(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 10000, "discount": 0}])  # earns 10
    assert edge.push().status_code == 200
    other = central.edge("S002")
    other.sell(customer, [{"sku": "B1", "qty": 1, "unit_price": 120}], points_paid=12, points_earned=0)
    edge.sell(customer, [{"sku": "B1", "qty": 1, "unit_price": 50}], points_paid=5, points_earned=0)
    assert other.push().status_code == 200
    assert edge.push().status_code == 200
    view = central.customer(customer)
    assert view["points"]["available"] == 10 - 12 - 5
    assert view["balance_negative"] is True
    overdrafts = central.exceptions("overdraft")
    assert len(overdrafts) == 1  # one open overdraft per customer, however many pushes
    assert overdrafts[0]["customer_id"] == customer
    assert overdrafts[0]["details"]["balance"] == -2
    assert overdrafts[0]["details"]["devices"] == [other.device_id]
    state = [i for i in edge.pull(0).json["items"] if i["kind"] == "customer.state"][-1]["body"]
    assert state["balance_negative"] is True and state["points"]["available"] == -7
    # Later earnings repay the debt and clear the flag; the exception stays for head office.
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 10000}])
    assert edge.push().status_code == 200
    assert central.customer(customer)["balance_negative"] is False
    assert len(central.exceptions("overdraft")) == 1


def test_a_points_figure_the_rules_do_not_give_is_a_recalculation_mismatch(central, edge):
    customer = edge.register()
    sale = edge.sell(customer, points_earned=99)
    response = edge.push()
    assert response.json["results"][-1]["status"] == "applied"
    mismatches = central.exceptions("recalculation_mismatch")
    assert len(mismatches) == 1
    details = mismatches[0]["details"]
    assert (details["sale_id"], details["edge_points"], details["central_points"]) == (sale["sale_id"], 99, 2)
    assert central.customer(customer)["points"]["available"] == 99  # the edge's figure is kept


def test_an_anonymous_sale_earns_nothing_and_is_no_mismatch(central, edge):
    """Edges record 0 points for a sale without a customer; central must expect just that."""
    edge.sell(None, [{"sku": "A1", "qty": 1, "unit_price": 5000}])
    assert edge.push().json["results"][-1]["status"] == "applied"
    assert central.exceptions("recalculation_mismatch") == []


def test_a_silver_sale_with_its_tier_discount_applies_without_exception(central, edge):
    customer = edge.register(tier="Silver")  # demo rules: Silver takes 5 % off and earns 1 % extra
    sale = edge.sell(customer, tier="Silver")
    assert [line["tier_discount"] for line in sale["lines"]] == [125]
    assert (sale["total"], sale["points_earned"]) == (2375, 2 + 2)
    assert edge.push().json["results"][-1]["status"] == "applied"
    assert central.exceptions("recalculation_mismatch") == []
    assert central.customer(customer)["points"]["available"] == 4


@pytest.mark.parametrize("given, tier, expected", [
    (250, "Silver", [125]),  # 10 % given where Silver's rules say 5 %
    (None, "Silver", [125]),  # an older edge that gave no tier discount: a missing figure is 0
    (125, "Basic", [0]),  # a discount the tier does not give
])
def test_a_tier_discount_the_rules_do_not_give_is_a_recalculation_mismatch(central, edge, given, tier, expected):
    customer = edge.register(tier=tier)
    sale = edge.sale_body(customer, [{"sku": "A1", "qty": 2, "unit_price": 1250, "discount": 0,
                                      "tier_discount": given or 0}], tier=tier)
    if given is None:
        del sale["lines"][0]["tier_discount"]
    edge.append("sale.completed", sale)
    assert edge.push().json["results"][-1]["status"] == "applied"
    [mismatch] = central.exceptions("recalculation_mismatch")
    details = mismatch["details"]
    assert (details["sale_id"], details["edge_tier_discounts"], details["central_tier_discounts"]) == (
        sale["sale_id"], [given or 0], expected)


@pytest.mark.parametrize("bad", [-1, "125", True, None])
def test_a_malformed_tier_discount_is_a_malformed_body(central, edge, bad):
    customer = edge.register()
    sale = edge.sale_body(customer)
    sale["lines"][0]["tier_discount"] = bad
    edge.append("sale.completed", sale)
    result = edge.push().json["results"][-1]
    assert (result["status"], result["reason"]) == ("rejected", "malformed_body")


def test_sales_are_recalculated_under_the_device_rules_or_a_published_version(central):
    rules = {"earn": {"rate": "1"}, "tiers": [{"name": "Basic", "threshold": 0}]}
    edge = central.edge("S001", rules_document=rules)
    customer = edge.register()
    edge.sell(customer)  # 25.00 at 1 point per 1.00 under the local version 0
    assert central.api("POST", "/api/v1/rules", rules).json["version"] == 1
    edge.sell(customer, rules_version=1)
    edge.sell(customer, rules_version=7)
    assert edge.push().status_code == 200
    assert central.exceptions("recalculation_mismatch") == []
    unknown = central.exceptions("unknown_rules_version")
    assert [e["details"]["rules_version"] for e in unknown] == [7]


def test_an_unknown_customer_is_rejected_without_blocking_the_queue(central, edge):
    stranger = str(uuid.uuid4())
    edge.sell(stranger)
    customer = edge.register()
    edge.sell(customer)
    response = edge.push()
    statuses = [(r["status"], r.get("reason")) for r in response.json["results"]]
    assert statuses[2] == ("rejected", "unknown_customer")
    assert statuses[3:] == [("applied", None), ("applied", None)]
    assert response.json["head"]["seq"] == 5
    assert [(e["kind"], e["customer_id"], e["seq"]) for e in central.exceptions()] == [
        ("unknown_customer", stranger, 3)]
    assert central.counts()["sale"] == 1


def test_a_return_of_an_unknown_sale_is_rejected(central, edge):
    customer = edge.register()
    ghost = edge.sale_body(customer)
    edge.give_back(ghost, points_reversed=2)
    response = edge.push()
    assert response.json["results"][-1] == {"seq": 4, "id": edge.log[-1]["id"], "status": "rejected",
                                            "reason": "unknown_sale",
                                            "message": "central knows no sale with this sale_id"}
    assert [e["kind"] for e in central.exceptions()] == ["unknown_sale"]


def test_a_card_already_held_by_another_customer_is_a_card_conflict(central, edge):
    first = edge.register(card="2000000000001")
    other = central.edge("S002")
    second = other.register(card="2000000000001")
    assert edge.push().status_code == 200 and other.push().status_code == 200
    assert central.api("GET", "/api/v1/customers?card=2000000000001").json["id"] == first
    assert central.customer(second)["card_number"] is None
    conflicts = central.exceptions("card_conflict")
    assert [(c["customer_id"], c["details"]["held_by"]) for c in conflicts] == [(second, first)]


def test_a_repeated_sale_id_is_rejected_as_a_duplicate_sale(central, edge):
    customer = edge.register()
    sale = edge.sell(customer)
    edge.sell(customer, sale_id=sale["sale_id"])
    response = edge.push()
    assert response.json["results"][-1]["reason"] == "duplicate_sale"
    assert central.customer(customer)["points"]["available"] == 2


@pytest.mark.parametrize("body", [
    {"sale_id": 5},
    {"lines": "A1"},
    {"lines": [{"sku": "A1", "qty": -1, "unit_price": 100}]},
    {"customer_id": "bad\u0000id"},
    {"points_earned": "8"},
    {"available_at": "yesterday"},
])
def test_a_body_that_cannot_be_applied_is_rejected_and_queued(central, edge, body):
    customer = edge.register()
    edge.append("sale.completed", {**edge.sale_body(customer), **body})
    response = edge.push()
    result = response.json["results"][-1]
    assert (result["status"], result["reason"]) == ("rejected", "malformed_body")
    assert central.exceptions("malformed_body")[0]["details"]["entry_kind"] == "sale.completed"


def test_unknown_kinds_are_kept_in_the_log_as_no_ops(central, edge):
    edge.append("survey.answered", {"question": "q1", "answer": 5})
    response = edge.push()
    assert response.json["results"][-1]["status"] == "applied"
    assert central.counts()["logentry"] == 3 and central.exceptions() == []


def test_future_dated_entries_are_clamped_to_central_time(central, edge):
    customer = edge.register()
    edge.append("sale.completed", edge.sale_body(customer), at=central.clock() + timedelta(days=3))
    edge.push()
    assert central.customer(customer)["points"]["available"] == 2


def test_pending_points_become_available_at_their_time(central, edge):
    customer = edge.register()
    body = edge.sale_body(customer)
    matures = central.clock() + timedelta(days=30)
    body["available_at"] = format_time(matures)
    edge.append("sale.completed", body)
    edge.push()
    assert central.customer(customer)["points"] == {"available": 0, "pending": 2}
    # The feed carries the lot with its date, so an edge can mature it on its own clock.
    state = [item for item in edge.pull().json["items"] if item["kind"] == "customer.state"][-1]["body"]
    assert state["lots"] == [{"ref": f"{body['sale_id']}:earn", "points": 2, "available_at": format_time(matures),
                              "expires_at": None}]
    central.clock.advance(days=29, hours=23)
    assert central.customer(customer)["points"] == {"available": 0, "pending": 2}
    central.clock.advance(hours=1)
    assert central.customer(customer)["points"] == {"available": 2, "pending": 0}


# --- authorization holds ----------------------------------------------------------------------


def test_an_authorization_holds_points_until_the_sale_settles_it(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 100000}])  # 100 points
    edge.push()
    sale_id = str(uuid.uuid4())
    held = edge.authorize(customer, 60, sale_id)
    assert held.status_code == 200, held.json
    assert held.json["authorized"] is True and held.json["available"] == 40
    refused = edge.authorize(customer, 50, str(uuid.uuid4()))
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "insufficient_points")
    assert refused.json["error"]["details"]["available"] == 40
    assert refused.json["error"]["message"] == "50 points requested, 40 available"
    assert central.customer(customer)["held"] == 60
    edge.sell(customer, [{"sku": "B1", "qty": 1, "unit_price": 600}], points_paid=60, points_earned=0,
              sale_id=sale_id)
    edge.push()
    view = central.customer(customer)
    assert (view["points"]["available"], view["held"]) == (40, 0)
    again = edge.authorize(customer, 60, sale_id)
    assert (again.status_code, again.json["error"]["code"]) == (409, "sale_already_recorded")


def test_a_hold_lapses_after_ten_minutes(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 100000}])
    edge.push()
    assert edge.authorize(customer, 100, str(uuid.uuid4())).status_code == 200
    assert edge.authorize(customer, 1, str(uuid.uuid4())).status_code == 422
    central.clock.advance(minutes=11)
    assert edge.authorize(customer, 100, str(uuid.uuid4())).status_code == 200


def test_the_device_that_made_a_hold_can_release_it_once_and_for_all(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 100000}])  # 100 points
    edge.push()
    sale_id = str(uuid.uuid4())
    assert edge.authorize(customer, 60, sale_id).status_code == 200
    other = central.edge("S002")
    stranger = other.release(sale_id)
    assert (stranger.status_code, stranger.json["error"]["code"]) == (403, "hold_not_yours")
    assert central.customer(customer)["held"] == 60
    released = edge.release(sale_id)
    assert (released.status_code, released.json) == (200, {"sale_id": sale_id, "released": True})
    assert central.customer(customer)["held"] == 0
    again = edge.release(sale_id)
    assert (again.status_code, again.json["released"]) == (200, False)
    assert edge.authorize(customer, 100, str(uuid.uuid4())).status_code == 200  # every point is free again


def test_a_settled_hold_cannot_be_released(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 100000}])
    edge.push()
    sale_id = str(uuid.uuid4())
    assert edge.authorize(customer, 60, sale_id).status_code == 200
    edge.sell(customer, [{"sku": "B1", "qty": 1, "unit_price": 600}], points_paid=60, points_earned=0,
              sale_id=sale_id)
    edge.push()
    refused = edge.release(sale_id)
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "hold_settled")
    assert central.customer(customer)["points"]["available"] == 40
    too_long = edge.release("x" * 65)
    assert (too_long.status_code, too_long.json["error"]["code"]) == (422, "validation_error")


@pytest.mark.parametrize("body, status", [
    ({"customer_id": "nobody", "points": 1, "sale_id": "s"}, 404),
    ({"customer_id": "c", "points": 0, "sale_id": "s"}, 422),
    ({"customer_id": "c", "points": True, "sale_id": "s"}, 422),
    ({"points": 1, "sale_id": "s"}, 422),
])
def test_bad_authorizations_are_refused(edge, body, status):
    assert edge.request("POST", "/sync/v1/authorize", body).status_code == status


# --- the function the HTTP push runs ----------------------------------------------------------


def test_apply_push_is_usable_without_http(central):
    edge = central.edge("S001")
    customer = edge.register()
    edge.sell(customer)
    result = ingest.apply_push(edge.device_id, edge.log, central.clock())
    assert (result.head_seq, result.head_hash) == (4, edge.hashes[-1])
    assert result.count("applied") == 4
    assert ingest.apply_push(edge.device_id, edge.log, central.clock()).count("duplicate") == 4


@pytest.mark.parametrize("workers", [0, 1])
def test_big_batches_verify_the_same_with_or_without_helper_processes(central, workers):
    verify.configure(workers)
    try:
        edge = central.edge("S001")
        customers = [edge.register(first_name=f"C{n}") for n in range(10)]
        for n in range(150):
            edge.sell(customers[n % 10])
        forged = [dict(entry) for entry in edge.log]
        forged[120] = {**forged[120], "hlc": "000000000000000-00000"}
        bad = edge.push(forged)
        assert (bad.status_code, bad.json["error"]["details"]["seq"]) == (422, 121)
        assert central.counts()["logentry"] == 0
        good = edge.push()
        assert good.status_code == 200 and good.json["head"]["seq"] == 162
        assert sum(central.customer(c)["points"]["available"] for c in customers) == 300
    finally:
        verify.configure(None)


def test_concurrent_pushes_from_several_devices_keep_the_ledger_and_the_feed_exact(central):
    """Three devices spend from the same customers at once (as three app servers would)."""
    registry = central.edge("S001")
    customers = [registry.register(first_name=f"C{n}") for n in range(12)]
    assert registry.push().status_code == 200
    edges = [central.edge(f"S00{n + 2}") for n in range(3)]
    for edge in edges:
        for n in range(90):
            edge.sell(customers[n % 12], [{"sku": "B1", "qty": 1, "unit_price": 30}], points_paid=3, points_earned=0)
    errors: list[str] = []

    def push_all(edge) -> None:
        try:
            for start in range(0, len(edge.log), 40):
                ingest.apply_push(edge.device_id, edge.log[start:start + 40], central.clock())
        except Exception as exc:  # reported below, with the thread's own traceback lost
            errors.append(repr(exc))
        finally:
            db.close_thread()

    threads = [threading.Thread(target=push_all, args=(edge,)) for edge in edges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    balances = {c: central.customer(c)["points"]["available"] for c in customers}
    assert balances == {c: -3 * 3 * sum(1 for n in range(90) if n % 12 == i) for i, c in enumerate(customers)}
    assert len(central.exceptions("overdraft")) == 12
    states = [i["body"] for i in registry.pull(0, limit=1000).json["items"] if i["kind"] == "customer.state"]
    last = {state["customer"]["id"]: state["points"]["available"] for state in states}
    assert last == balances  # the feed's newest state per customer is the final one
    assert ledger.rebuild_summaries() == 0
