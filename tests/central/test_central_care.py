"""Customer care at central: corrections, locked tiers, lost cards and merges, through the JSON API."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from central import db, ledger, migrations, search
from sync.acts import verify_act


def _spend(amount: int) -> list[dict]:
    return [{"sku": "A1", "qty": 1, "unit_price": amount, "discount": 0}]


def _central_key(central):
    return central.app.extensions["fidelis_central"].key.public_key()


def _customer_with_points(central, edge, amount: int = 100000, card: str | None = None) -> str:
    """A customer registered at ``edge`` who earned ``amount`` / 1000 points there (demo rules)."""
    customer = edge.register(card=card)
    edge.sell(customer, _spend(amount))
    assert edge.push().status_code == 200
    return customer


def _adjust(central, customer: str, body, **kw):
    return central.api("POST", f"/api/v1/customers/{customer}/adjustments", body, **kw)


def _feed(edge, kind: str) -> list[dict]:
    return [item["body"] for item in edge.pull().json["items"] if item["kind"] == kind]


def _audit(action: str) -> list[tuple]:
    return db.rows("SELECT actor, target, before, after FROM auditlog WHERE action = ? ORDER BY id", (action,))


# --- corrections ----------------------------------------------------------------------------


def test_a_correction_is_a_signed_ledger_movement_that_edges_learn(central, edge):
    customer = _customer_with_points(central, edge)
    assert central.customer(customer)["points"]["available"] == 100

    made = _adjust(central, customer, {"points": 50, "reason": "Goodwill: broken zip"})
    assert made.status_code == 201, made.json
    assert made.json["points"] == 50 and made.json["reason"] == "Goodwill: broken zip"
    assert made.json["customer"]["points"]["available"] == 150
    assert central.customer(customer)["points"]["available"] == 150

    # A movement of the ledger, never an edit of a balance; the cached summary still agrees.
    assert db.rows("SELECT kind, points, device_id FROM movement WHERE id = ?", (made.json["id"],)) == [
        ("adjust", 50, "central")]
    assert ledger.rebuild_summaries() == 0
    act = {"id": made.json["id"], "kind": "adjustment", "customer_id": customer, "at": made.json["at"],
           "body": {"points": 50, "reason": "Goodwill: broken zip", "available_at": made.json["available_at"],
                    "expires_at": None}, "signature": made.json["signature"]}
    verify_act(_central_key(central), act)
    with pytest.raises(ValueError):
        verify_act(_central_key(central), {**act, "body": {**act["body"], "points": 5000}})

    # The edges' feed carries the new holdings; the audit log says who, what, before and after.
    assert _feed(edge, "customer.state")[-1]["points"]["available"] == 150
    (actor, target, before, after), = _audit("customer.adjust")
    assert actor == "token:tests" and target == f"customer:{customer}"
    assert '"available":100' in before and '"available":150' in after and "broken zip" in after

    taken = _adjust(central, customer, {"points": -30, "reason": "Double credit"})
    assert taken.status_code == 201 and taken.json["customer"]["points"]["available"] == 120


@pytest.mark.parametrize("body, path", [
    ({"points": 10}, "reason"),
    ({"points": 10, "reason": ""}, "reason"),
    ({"points": 10, "reason": "   "}, "reason"),
    ({"points": 0, "reason": "nothing"}, "points"),
    ({"points": "10", "reason": "a string"}, "points"),
    ({"points": 1.5, "reason": "a float"}, "points"),
    ({"points": 10, "reason": "why", "extra": 1}, "extra"),
])
def test_a_bad_correction_is_refused_with_its_field_and_writes_nothing(central, edge, body, path):
    customer = _customer_with_points(central, edge)
    before = central.counts()
    refused = _adjust(central, customer, body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "validation_error"
    assert path in [problem["path"] for problem in refused.json["error"]["details"]["problems"]]
    assert central.counts() == before


def test_a_correction_cannot_take_more_than_is_available(central, edge):
    customer = _customer_with_points(central, edge)
    before = central.counts()
    refused = _adjust(central, customer, {"points": -101, "reason": "too much"})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "insufficient_points"
    assert refused.json["error"]["details"]["available"] == 100
    assert central.counts() == before
    missing = _adjust(central, "no-such-customer", {"points": 5, "reason": "x"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "customer_not_found"


def test_a_repeated_correction_with_its_idempotency_key_applies_once(central, edge):
    customer = _customer_with_points(central, edge)
    headers = {"Idempotency-Key": "care-1"}
    first = _adjust(central, customer, {"points": 7, "reason": "once"}, headers=headers)
    again = _adjust(central, customer, {"points": 7, "reason": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json["id"] == again.json["id"]
    assert central.customer(customer)["points"]["available"] == 107


# --- tiers ----------------------------------------------------------------------------------


def test_a_locked_tier_is_never_changed_by_centrals_tier_decision(central, edge):
    central.publish()  # Basic from 0, Silver from 500.00, Gold from 2000.00
    locked, free = edge.register(), edge.register()
    edge.push()
    for customer, lock in ((locked, True), (free, False)):
        set_ = central.api("PUT", f"/api/v1/customers/{customer}/tier", {"tier": "Gold", "locked": lock})
        assert set_.status_code == 200, set_.json
        assert set_.json["tier"] == "Gold" and set_.json["tier_locked"] is lock
    assert _feed(edge, "customer.state")[-1]["tier_locked"] is False
    edge.sell(locked, _spend(1000))
    edge.sell(free, _spend(1000))
    edge.push()
    assert central.customer(locked)["tier"] == "Gold"  # locked: the 10.00 of spend changes nothing
    assert central.customer(free)["tier"] == "Basic"  # set by hand but unlocked: central decides again
    states = {body["customer"]["id"]: body for body in _feed(edge, "customer.state")}
    assert states[locked]["customer"]["tier"] == "Gold" and states[locked]["tier_locked"] is True
    (_, _, before, after), _ = _audit("customer.tier")
    assert '"tier_locked":false' in before and '"tier":"Gold"' in after and '"tier_locked":true' in after


def test_an_unknown_tier_is_refused(central, edge):
    central.publish()
    customer = edge.register()
    edge.push()
    refused = central.api("PUT", f"/api/v1/customers/{customer}/tier", {"tier": "Platinum", "locked": True})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "unknown_tier"
    assert refused.json["error"]["details"]["tiers"] == ["Basic", "Silver", "Gold"]
    assert central.customer(customer)["tier"] == "Basic" and central.customer(customer)["tier_locked"] is False


# --- lost cards -----------------------------------------------------------------------------


def test_a_lost_card_is_blocked_and_the_customer_keeps_everything_on_the_new_one(central, edge):
    customer = _customer_with_points(central, edge, card="2000000000017")
    replaced = central.api("POST", f"/api/v1/customers/{customer}/card", {"card_number": "2000000000024"})
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["card_number"] == "2000000000024" and replaced.json["points"]["available"] == 100

    old = central.api("GET", "/api/v1/customers?card=2000000000017")
    assert old.status_code == 409 and old.json["error"]["code"] == "card_blocked"
    assert central.api("GET", "/api/v1/customers?card=2000000000024").json["id"] == customer

    blocked, = _feed(edge, "card.blocked")
    assert blocked["body"] == {"card_number": "2000000000024", "blocked": "2000000000017"}
    verify_act(_central_key(central), blocked)

    # The old card is nobody's any more: not a new customer's at an edge, not another customer's here.
    newcomer = edge.register(card="2000000000017")
    edge.push()
    assert central.customer(newcomer)["card_number"] is None
    assert [e["details"]["card_number"] for e in central.exceptions("card_conflict")] == ["2000000000017"]
    other = _customer_with_points(central, edge, card="2000000000031")
    for card, code in (("2000000000017", "card_blocked"), ("2000000000024", "card_in_use")):
        refused = central.api("POST", f"/api/v1/customers/{other}/card", {"card_number": card})
        assert refused.status_code == 409 and refused.json["error"]["code"] == code
    bad = central.api("POST", f"/api/v1/customers/{other}/card", {"card_number": "12-4"})
    assert bad.status_code == 422 and bad.json["error"]["details"]["problems"][0]["path"] == "card_number"


# --- merges ---------------------------------------------------------------------------------


def test_a_merge_carries_points_lots_and_history_and_the_absorbed_card_finds_the_kept_one(central):
    central.publish()
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    keep = _customer_with_points(central, shop_a, 10000, card="2100000000016")
    absorb = _customer_with_points(central, shop_b, 30000, card="2100000000023")
    # A pending lot must keep its date when it moves.
    shop_b.append("sale.completed", {**shop_b.sale_body(absorb, _spend(15000)),
                                     "available_at": "2099-01-01T00:00:00Z"})
    shop_b.push()
    assert central.customer(absorb)["points"] == {"available": 30, "pending": 15}
    assert central.customer(keep)["tier"] == central.customer(absorb)["tier"] == "Basic"

    merged = central.api("POST", "/api/v1/customers/merge", {"keep": keep, "absorb": absorb})
    assert merged.status_code == 200, merged.json
    assert merged.json["id"] == keep
    assert merged.json["points"] == {"available": 40, "pending": 15}
    assert merged.json["tier"] == "Silver"  # 100.00 + 300.00 + 150.00 of qualifying spend
    assert ledger.rebuild_summaries() == 0

    # The absorbed card and id find the kept customer; the absorbed one is out of search.
    assert central.api("GET", "/api/v1/customers?card=2100000000023").json["id"] == keep
    assert central.customer(absorb)["id"] == keep
    state = [b for b in _feed(shop_a, "customer.state") if b["customer"]["id"] == keep][-1]
    assert state["applied"] == {shop_a.device_id: 4, shop_b.device_id: 5}
    assert [lot["available_at"] for lot in state["lots"] if lot["points"] == 15] == ["2099-01-01T00:00:00.000Z"]
    emptied = [b for b in _feed(shop_a, "customer.state") if b["customer"]["id"] == absorb][-1]
    assert emptied["merged_into"] == keep and emptied["lots"] == [] and emptied["customer"]["card_number"] is None
    notice, = _feed(shop_a, "customer.merged")
    assert notice["customer_id"] == keep and notice["body"] == {"absorbed": absorb, "absorbed_card": "2100000000023"}
    verify_act(_central_key(central), notice)

    # An edge that has not heard of the merge still sells to the absorbed id: it lands on the kept one,
    # and central authorizes its points against the kept customer's balance.
    shop_b.sell(absorb, _spend(10000))
    assert shop_b.push().json["results"][-1]["status"] == "applied"
    assert central.customer(keep)["points"]["available"] == 50
    held = shop_b.authorize(absorb, 45, "sale-after-merge")
    assert held.status_code == 200 and held.json["available"] == 5, held.json

    again = central.api("POST", "/api/v1/customers/merge", {"keep": keep, "absorb": absorb})
    assert again.status_code == 409 and again.json["error"]["code"] == "customer_merged"
    same = central.api("POST", "/api/v1/customers/merge", {"keep": keep, "absorb": keep})
    assert same.status_code == 422 and same.json["error"]["details"]["problems"][0]["path"] == "absorb"
    assert len(_audit("customer.merge")) == 1


def test_merging_into_a_customer_that_was_merged_away_is_refused(central, edge):
    a, b, c = (_customer_with_points(central, edge) for _ in range(3))
    assert central.api("POST", "/api/v1/customers/merge", {"keep": b, "absorb": a}).status_code == 200
    refused = central.api("POST", "/api/v1/customers/merge", {"keep": a, "absorb": c})
    assert refused.status_code == 409 and refused.json["error"]["details"]["merged_into"] == b
    # A chain of merges leaves every old id one step from the customer kept.
    assert central.api("POST", "/api/v1/customers/merge", {"keep": c, "absorb": b}).status_code == 200
    assert central.customer(a)["id"] == c and central.customer(c)["points"]["available"] == 300


# --- search and activity --------------------------------------------------------------------


def _register(edge, first: str, last: str, card: str, email: str | None = None, phone: str | None = None) -> str:
    customer = str(uuid.uuid4())
    edge.append("customer.registered", {"customer_id": customer, "card_number": card, "first_name": first,
                                        "last_name": last, "email": email, "phone": phone, "birth_date": None,
                                        "tier": "Basic"})
    return customer


def _search(central, query: str, **params) -> dict:
    found = central.api("GET", "/api/v1/customers/search", query_string={"q": query, **params})
    assert found.status_code == 200, found.json
    return found.json


def test_customers_are_found_by_card_old_card_email_phone_and_name(central, edge):
    stefan = _register(edge, "Ștefan", "Popescu", "2200000000015", "stefan@example.com", "+40721000111")
    ana = _register(edge, "Ana", "Pop", "2200000000022", None, "0722333444")
    _register(edge, "Maria", "Ionescu", "2200000000039")
    twin = _register(edge, "Ana", "Pop", "2200000000046")
    edge.push()

    def ids(query: str, **params) -> list[str]:
        return [item["id"] for item in _search(central, query, **params)["items"]]

    assert ids("2200000000015") == [stefan]
    assert ids("STEFAN@example.com") == [stefan]
    assert ids("0722 333-444") == [ana]
    assert ids("stef") == [stefan]  # accents and case do not matter
    assert ids("popescu ște") == [stefan]  # "last first" as well as "first last"
    assert set(ids("ana pop")) == {ana, twin} and set(ids("pop")) == {ana, twin, stefan}

    page = _search(central, "pop", limit=2, offset=0)
    assert page["total"] == 3 and len(page["items"]) == 2
    assert len(_search(central, "pop", limit=2, offset=2)["items"]) == 1
    assert page["items"][0]["points"] == {"available": 0, "pending": 0}

    central.api("POST", f"/api/v1/customers/{ana}/card", {"card_number": "2200000000053"})
    lost, = _search(central, "2200000000022")["items"]
    assert lost["id"] == ana and lost["blocked_card"] == "2200000000022"
    central.api("POST", "/api/v1/customers/merge", {"keep": ana, "absorb": twin})
    assert ids("ana pop") == [ana]  # the duplicate merged away is not listed
    for bad in ("", "   ", "a\x00b"):
        refused = central.api("GET", "/api/v1/customers/search", query_string={"q": bad})
        assert refused.status_code == 400 and refused.json["error"]["code"] == "bad_query"


def test_the_activity_feed_shows_every_kind_of_line_with_its_shop_and_sale(central):
    central.publish()
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    keep = shop_a.register(card="2300000000012")
    sale = shop_a.sell(keep, _spend(100000))
    shop_a.push()
    twin = _customer_with_points(central, shop_b, 20000)
    shop_b.sell(twin, [{"sku": "B1", "qty": 1, "unit_price": 100}], points_paid=5)
    shop_b.push()
    central.clock.advance(seconds=1)
    _adjust(central, keep, {"points": 25, "reason": "Sorry for the wait"})
    central.clock.advance(seconds=1)
    central.api("PUT", f"/api/v1/customers/{keep}/tier", {"tier": "Gold", "locked": True})
    central.clock.advance(seconds=1)
    central.api("POST", f"/api/v1/customers/{keep}/card", {"card_number": "2300000000029"})
    central.clock.advance(seconds=1)
    central.api("POST", "/api/v1/customers/merge", {"keep": keep, "absorb": twin})

    found = central.api("GET", f"/api/v1/customers/{keep}/activity")
    assert found.status_code == 200, found.json
    items = found.json["items"]
    assert [item["kind"] for item in items[:4]] == ["merge", "card", "tier", "adjustment"]
    assert items[0]["details"]["absorbed"] == twin and items[1]["details"]["blocked"] == "2300000000012"
    assert items[2]["details"]["tier"] == "Gold" and items[3]["details"]["reason"] == "Sorry for the wait"
    assert items[3]["details"]["actor"] == "token:tests" and items[3]["points"] == 25
    earn = next(item for item in items if item["kind"] == "earn" and item["sale_id"] == sale["sale_id"])
    assert earn["store"] == "S001" and earn["points"] == 100 and earn["sale_total"] == 100000
    spend = next(item for item in items if item["kind"] == "spend")
    assert spend["store"] == "S002" and spend["points"] == -5
    enrolments = [item for item in items if item["kind"] == "enrolment"]
    assert {item["store"] for item in enrolments} == {"S001", "S002"}  # the duplicate's enrolment came along
    assert found.json["total"] == len(items) == 9
    page = central.api("GET", f"/api/v1/customers/{twin}/activity?limit=3&offset=3").json
    assert [item["kind"] for item in page["items"]] == [item["kind"] for item in items[3:6]]


def test_an_older_database_gets_its_customers_name_keys_when_migrated(central, edge):
    customer = _register(edge, "Ștefan", "Pop", "2400000000018")
    edge.push()
    # Back to schema 2, as a database made before customer care was: no name keys yet.
    for index in ("customer_name_fl", "customer_name_lf"):
        db.execute(f"DROP INDEX {index}")
    for column in ("name_fl", "name_lf"):
        db.execute(f"ALTER TABLE customer DROP COLUMN {column}")
    db.execute("DELETE FROM schema_version WHERE version > 2")
    assert migrations.migrate() == migrations.LATEST
    assert [item["id"] for item in _search(central, "stefan p")["items"]] == [customer]


NAMES = st.text(st.characters(categories=("Lu", "Ll", "Lt", "Lo")), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=NAMES, last=NAMES, cut=st.integers(1, 12), upper=st.booleans())
def test_any_start_of_a_first_or_last_name_finds_the_customer(central, edge, first, last, cut, upper):
    customer = _register(edge, first, last, f"29{uuid.uuid4().int % 10**11:011d}")
    assert edge.push().status_code == 200
    for name in (first, last):
        typed = name[:cut].upper() if upper else name[:cut]
        if not search.fold(typed):
            continue  # nothing left to search by (a lone mark)
        found = _search(central, typed, limit=500)
        assert customer in [item["id"] for item in found["items"]], (typed, found["total"])


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=30))
def test_folding_a_name_twice_changes_nothing(text):
    assert search.fold(search.fold(text)) == search.fold(text)
