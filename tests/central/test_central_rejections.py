"""Entries central refuses: held to the one body definition, answered, and queued with the entry."""

from __future__ import annotations

import json
import uuid

import pytest

from central import db


def stored_line(device_id: str, seq: int) -> str:
    return db.rows("SELECT line FROM logentry WHERE device_id = ? AND seq = ?", (device_id, seq))[0][0]


def test_a_rejected_entry_is_answered_with_why_and_queued_with_its_stored_line(central, edge):
    customer = edge.register()
    edge.sell(customer, [{"sku": "A\x1b1", "qty": 1, "unit_price": 100}])
    edge.give_back(edge.sale_body(customer), points_reversed=0)  # a sale central never saw
    results = edge.push().json["results"]
    assert [(r["seq"], r["status"], r.get("reason")) for r in results[-2:]] == [
        (4, "rejected", "malformed_body"), (5, "rejected", "unknown_sale")]
    assert results[-2]["message"].startswith("lines[0]: sku must be a string of 1-64 characters without control")
    queued = {e["seq"]: e for e in central.exceptions()}
    assert sorted(queued) == [4, 5]
    for seq in (4, 5):
        line = queued[seq]["details"]["line"]
        assert line == stored_line(edge.device_id, seq)
        assert json.loads(line)["id"] == edge.log[seq - 1]["id"] == queued[seq]["entry_id"]
    assert json.loads(queued[4]["details"]["line"])["body"]["lines"][0]["sku"] == "A\x1b1"


def test_a_push_repeated_after_a_lost_reply_still_says_what_was_rejected(central, edge):
    customer = edge.register()
    edge.append("customer.registered", {"customer_id": str(uuid.uuid4()), "first_name": "Ana\x00",
                                        "last_name": "Pop"})
    first = edge.push().json["results"]
    edge.sell(customer)
    again = edge.push(edge.log).json["results"]  # the edge never heard the first reply
    assert [r["status"] for r in again] == ["duplicate"] * 4 + ["applied"]
    assert again[3] == {"seq": 4, "id": edge.log[3]["id"], "status": "duplicate", "first_status": "rejected",
                        "reason": "malformed_body", "message": first[3]["message"]}
    assert "first_status" not in again[2]


@pytest.mark.parametrize("kind, body", [
    ("till.added", {"till_id": "t1", "name": "till\x1b[2J"}),
    ("till.added", {"till_id": "t1", "name": "T" * 61}),
    ("device.provisioned", {"store": "S001", "central": "http://central\n"}),
    ("traffic.visits", {"store": "S001", "day": "2026-13-99", "hour": 9, "visits": 3}),
    ("traffic.visits", {"store": "S001", "day": "2026-12-01", "hour": 24, "visits": 3}),
    ("rules.installed", {"version": 1, "effective_from": "soon", "document": {}}),
])
def test_kinds_without_effects_are_held_to_their_definition_too(central, edge, kind, body):
    edge.append(kind, body)
    result = edge.push().json["results"][-1]
    assert (result["status"], result["reason"]) == ("rejected", "malformed_body")
    assert central.exceptions("malformed_body")[0]["details"]["entry_kind"] == kind


@pytest.mark.parametrize("kind, body", [
    ("till.added", {"till_id": "t1", "name": "Till 1 — ☕"}),
    ("device.provisioned", {"store": "S001", "central": "http://127.0.0.1:8700"}),
    ("traffic.visits", {"store": "S001", "day": "2026-12-01", "hour": 23, "visits": 0,
                        "counted_at": "2026-12-01T23:59:00.000Z"}),
])
def test_well_formed_bodies_of_those_kinds_apply(central, edge, kind, body):
    edge.append(kind, body)
    assert edge.push().json["results"][-1]["status"] == "applied"
    assert central.exceptions() == []


@pytest.mark.parametrize("field, value", [
    ("payments", [{"method": "ca\nsh", "amount": 2500}]),
    ("payments", [{"method": "cash", "amount": -1}]),
    ("payments", [{"method": "", "amount": 2500}]),
    ("lines", [{"sku": "A1", "qty": 2, "unit_price": 1250, "name": "Shoe\x7f"}]),
    ("lines", [{"sku": "A1", "qty": 2, "unit_price": 1250, "name": "N" * 121}]),
    ("lines", [{"sku": "A1", "qty": 2, "unit_price": 1250, "category": ""}]),
    ("tier", "T" * 61),
])
def test_sale_fields_central_used_to_pass_unread_are_checked(central, edge, field, value):
    customer = edge.register()
    edge.append("sale.completed", {**edge.sale_body(customer), field: value})
    result = edge.push().json["results"][-1]
    assert (result["status"], result["reason"]) == ("rejected", "malformed_body")
    assert result["message"].startswith(field)


@pytest.mark.parametrize("body", [
    {"first_name": "A" * 101},
    {"phone": "+" + "1" * 32},
    {"email": "ana\t@example.com"},
])
def test_registrations_past_the_till_limits_are_refused(central, edge, body):
    customer = {"customer_id": str(uuid.uuid4()), "first_name": "Ana", "last_name": "Pop"}
    edge.append("customer.registered", {**customer, **body})
    result = edge.push().json["results"][-1]
    assert (result["status"], result["reason"]) == ("rejected", "malformed_body")


def test_returned_lines_are_checked(central, edge):
    customer = edge.register()
    sale = edge.sell(customer)
    edge.give_back(sale, points_reversed=0, lines=[{"sku": "A1\x1b", "qty": 1}])
    result = edge.push().json["results"][-1]
    assert (result["status"], result["reason"], result["message"]) == (
        "rejected", "malformed_body", "lines[0]: sku must be a string of 1-64 characters without control characters")
