"""The edge obeys head office's signed acts from the feed: blocked cards, merges, locked tiers.

Feed items are applied as a pull applies them (``edge.feedapply.apply_item``) and signed with a key
playing central's, so each test controls exactly what central said.
"""

from __future__ import annotations

import uuid

import pytest

from conftest import sale_body
from edge import feedapply
from edge.db import database, write_transaction
from sync.acts import sign_act
from sync.entry import generate_private_key

CENTRAL = generate_private_key()
NOW = "2026-11-02T10:00:00.000Z"


def _pull(app, *items: dict, key=CENTRAL) -> None:
    box = app.extensions["fidelis_edge"]
    with write_transaction():
        for item in items:
            feedapply.apply_item(box, item, key.public_key())


def _act(kind: str, customer_id: str, body: dict, key=CENTRAL) -> dict:
    act = {"id": str(uuid.uuid4()), "kind": kind, "customer_id": customer_id, "at": NOW, "body": body}
    return {**act, "signature": sign_act(key, act)}


def _state(app, customer: dict, *, points: int = 0, tier: str = "Basic", locked: bool = False,
           card: str | None = None, spend: int = 0, applied: int | None = None) -> dict:
    """A ``customer.state`` item; central has applied this edge's entries up to ``applied`` (all by default)."""
    box = app.extensions["fidelis_edge"]
    applied = box.changelog.next_seq() - 1 if applied is None else applied
    lots = [{"ref": f"lot-{uuid.uuid4()}", "points": points, "available_at": NOW, "expires_at": None}] if points else []
    record = {key: customer.get(key) for key in ("id", "first_name", "last_name", "email", "phone", "birth_date")}
    return {"kind": "customer.state", "body": {
        "customer": {**record, "card_number": card or customer["card_number"], "tier": tier},
        "points": {"available": points, "pending": 0}, "lots": lots, "debt": 0, "qualifying_spend": spend,
        "balance_negative": False, "applied": {box.device_id: applied}, "tier_locked": locked}}


def _register(till, first: str, card: str) -> dict:
    made = till.post("/api/v1/customers", json={"first_name": first, "last_name": "Pop", "card_number": card})
    assert made.status_code == 201, made.json
    return made.json


def test_a_card_central_blocked_is_refused_at_the_till(app, till):
    customer = _register(till, "Ana", "2500000000014")
    _pull(app, _state(app, customer, card="2500000000021"),
          {"kind": "card.blocked", "body": _act("card", customer["id"], {"card_number": "2500000000021",
                                                                         "blocked": "2500000000014"})})
    for refused in (till.get("/api/v1/customers/lookup?card=2500000000014"),
                    till.post("/api/v1/sales", json={**sale_body(), "card_number": "2500000000014"}),
                    till.post("/api/v1/customers", json={"first_name": "Eve", "last_name": "X",
                                                          "card_number": "2500000000014"})):
        assert refused.status_code == 409 and refused.json["error"]["code"] == "card_blocked", refused.json
    found = till.get("/api/v1/customers/lookup?card=2500000000021")
    assert found.status_code == 200 and found.json["id"] == customer["id"]
    assert till.post("/api/v1/sales", json={**sale_body(), "card_number": "2500000000021"}).status_code == 201


def test_an_act_central_did_not_sign_is_ignored(app, till):
    customer = _register(till, "Ana", "2500000000038")
    forged = _act("card", customer["id"], {"card_number": "2500000000045", "blocked": "2500000000038"},
                  key=generate_private_key())
    _pull(app, {"kind": "card.blocked", "body": forged})
    assert till.get("/api/v1/customers/lookup?card=2500000000038").status_code == 200


def test_a_merge_moves_the_absorbed_customer_and_its_card_to_the_kept_one(app, till):
    kept = _register(till, "Ana", "2500000000052")
    absorbed = _register(till, "Anna", "2500000000069")
    assert till.post("/api/v1/sales", json=sale_body(absorbed["id"], [{"sku": "A1", "qty": 1, "unit_price": 40000}]
                                                     )).json["points_earned"] == 40
    # Central has seen all of it: the kept customer holds the points of both.
    state = _state(app, kept, points=40)
    # A sale this edge makes before it hears of the merge counts for the kept customer afterwards.
    late = till.post("/api/v1/sales", json=sale_body(absorbed["id"], [{"sku": "A1", "qty": 1, "unit_price": 5000}]))
    assert late.status_code == 201 and late.json["points_earned"] == 5, late.json
    emptied = _state(app, absorbed)
    emptied["body"]["customer"]["card_number"] = None
    _pull(app, state, {"kind": "customer.merged", "body": _act("merge", kept["id"], {
        "absorbed": absorbed["id"], "absorbed_card": "2500000000069"})},
        {**emptied, "body": {**emptied["body"], "merged_into": kept["id"]}})  # central's last word on it

    by_card = till.get("/api/v1/customers/lookup?card=2500000000069")
    assert by_card.status_code == 200 and by_card.json["id"] == kept["id"]
    assert by_card.json["points"]["available"] == 45
    assert till.get(f"/api/v1/customers/{absorbed['id']}").json["id"] == kept["id"]
    sold = till.post("/api/v1/sales", json={**sale_body(lines=[{"sku": "A1", "qty": 1, "unit_price": 10000}]),
                                            "card_number": "2500000000069"})
    assert sold.status_code == 201 and sold.json["customer"]["id"] == kept["id"]
    assert sold.json["customer"]["points"]["available"] == 55
    # The absorbed row is gone; its sales are the kept customer's history here too.
    assert database.execute_sql("SELECT COUNT(*) FROM customer WHERE id = ?", (absorbed["id"],)).fetchone()[0] == 0
    assert database.execute_sql("SELECT COUNT(*) FROM sale WHERE customer_id = ?", (kept["id"],)).fetchone()[0] == 3
    # Its e-mail or phone no longer block a registration, its card does.
    again = till.post("/api/v1/customers", json={"first_name": "X", "last_name": "Y", "card_number": "2500000000069"})
    assert again.status_code == 409 and again.json["error"]["code"] == "card_in_use"


@pytest.mark.parametrize("locked, tier_after", [(True, "Basic"), (False, "Silver")])
def test_a_tier_head_office_locked_is_never_raised_by_the_edge(app, till, locked, tier_after):
    customer = _register(till, "Ana", "2500000000076")
    _pull(app, _state(app, customer, tier="Basic", locked=locked))
    assert till.get(f"/api/v1/customers/{customer['id']}").json["tier_locked"] is locked
    sold = till.post("/api/v1/sales", json=sale_body(customer["id"], [{"sku": "A1", "qty": 1, "unit_price": 60000}]))
    assert sold.status_code == 201
    assert till.get(f"/api/v1/customers/{customer['id']}").json["tier"] == tier_after  # Silver from 500.00
    # Central's next word, before it has seen that sale: a locked tier stays, a free one is raised provisionally.
    _pull(app, _state(app, customer, tier="Basic", locked=locked, applied=0))
    assert till.get(f"/api/v1/customers/{customer['id']}").json["tier"] == tier_after



def test_a_customer_from_central_whose_email_a_local_customer_holds_is_kept_findable_by_card(app, till):
    local = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop", "card_number": "2500000000076",
                                                 "email": "ana@example.com"})
    assert local.status_code == 201, local.json
    other = {"id": str(uuid.uuid4()), "card_number": "2500000000083", "first_name": "Ana", "last_name": "Popa",
             "email": "ana@example.com", "phone": None, "birth_date": None}
    _pull(app, _state(app, other, points=30))
    found = till.get("/api/v1/customers/lookup?card=2500000000083")
    assert found.status_code == 200 and found.json["id"] == other["id"], found.json
    assert found.json["email"] is None and found.json["points"]["available"] == 30
    assert till.get("/api/v1/customers/lookup?card=2500000000076").json["email"] == "ana@example.com"
