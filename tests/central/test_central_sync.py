"""The sync API as an edge sees it: signed requests, head, push, pull (docs/sync-protocol.md)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from sync.entry import (
    GENESIS_PREV,
    generate_private_key,
    load_public_key_b64,
    verify_chain,
)


def test_head_of_a_new_device_is_the_genesis(edge):
    response = edge.head()
    assert response.status_code == 200
    assert response.json == {"seq": 0, "hash": GENESIS_PREV, "frozen": False}


def test_push_applies_every_entry_and_moves_the_head(central, edge):
    customer = edge.register()
    edge.sell(customer)
    response = edge.push()
    assert response.status_code == 200, response.json
    assert response.json["head"] == {"seq": 4, "hash": edge.hashes[-1]}
    assert [(r["seq"], r["status"]) for r in response.json["results"]] == [(n, "applied") for n in range(1, 5)]
    assert [r["id"] for r in response.json["results"]] == [entry["id"] for entry in edge.log]
    assert edge.head().json == {"seq": 4, "hash": edge.hashes[-1], "frozen": False}


def test_resending_an_acknowledged_batch_is_acknowledged_and_writes_nothing(central, edge):
    customer = edge.register()
    edge.sell(customer)
    assert edge.push().status_code == 200
    before = central.counts()
    again = edge.push(edge.log)
    assert again.status_code == 200
    assert [r["status"] for r in again.json["results"]] == ["duplicate"] * 4
    assert again.json["head"]["seq"] == 4
    after = central.counts()
    # A request always records its nonce; nothing else may change.
    assert after.pop("nonce") == before.pop("nonce") + 1
    assert after == before
    assert central.customer(customer)["points"]["available"] == 2


def test_a_batch_overlapping_the_head_applies_only_the_new_part(central, edge):
    customer = edge.register()
    assert edge.push().status_code == 200
    edge.sell(customer)
    response = edge.push(edge.log[1:])
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["results"]] == ["duplicate", "duplicate", "applied"]
    assert central.customer(customer)["points"]["available"] == 2


def test_a_gap_after_the_head_is_refused_with_the_head(central, edge):
    edge.register()
    edge.register()
    response = edge.push(edge.log[2:])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "seq_gap"
    assert response.json["error"]["details"]["head"] == {"seq": 0, "hash": GENESIS_PREV}
    assert central.counts()["logentry"] == 0


def test_a_different_entry_at_an_acknowledged_seq_is_a_fork_that_freezes_the_device(central, edge):
    edge.register()
    assert edge.push().status_code == 200
    stale = list(edge.log[:2])
    edge.log, edge.hashes = edge.log[:2], edge.hashes[:2]
    edge.register(first_name="Other")  # seq 3 again, different content: a rewritten history
    response = edge.push(edge.log[2:])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "fork_detected"
    assert response.json["error"]["details"]["seq"] == 3
    assert edge.head().json["frozen"] is True
    forks = central.exceptions("fork")
    assert [(f["device_id"], f["seq"], f["store"]) for f in forks] == [(edge.device_id, 3, "S001")]
    assert forks[0]["details"]["received_hash"] == edge.hashes[2]
    frozen = edge.push(stale)
    assert (frozen.status_code, frozen.json["error"]["code"]) == (409, "device_frozen")


def test_a_forged_entry_signature_is_a_bad_entry_and_nothing_applies(central, edge):
    edge.register()
    edge.register()
    forged = [dict(entry) for entry in edge.log]
    forged[3]["body"] = {**forged[3]["body"], "first_name": "Mallory"}
    response = edge.push(forged)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "bad_entry"
    assert response.json["error"]["details"]["seq"] == 4
    assert central.counts()["logentry"] == 0 and central.counts()["customer"] == 0
    assert [(e["kind"], e["seq"]) for e in central.exceptions()] == [("bad_entry", 4)]
    edge.push(forged)  # the same bad batch again opens no second exception
    assert len(central.exceptions("bad_entry")) == 1
    assert edge.push().status_code == 200  # the genuine entries still go through


def test_an_entry_signed_by_another_key_is_a_bad_entry(edge):
    other = type(edge)(edge.harness, "S001")
    other.device_id = edge.device_id
    other.log, other.hashes = [], []
    other.append("device.initialised", {"store": "S001", "public_key": other.public_key})
    response = edge.push(other.log)
    assert (response.status_code, response.json["error"]["code"]) == (422, "bad_entry")
    assert response.json["error"]["details"]["reason"] == "bad_signature"


def test_an_entry_of_another_device_is_a_bad_entry(central, edge):
    other = central.edge("S001")
    response = edge.push(other.log)
    assert (response.status_code, response.json["error"]["code"]) == (422, "bad_entry")
    assert response.json["error"]["details"]["reason"] == "wrong_device"


@pytest.mark.parametrize("body, status, code", [
    (b"{not json", 400, "malformed_json"),
    (b"[]", 422, "validation_error"),
    (b'{"entries": {}}', 422, "validation_error"),
    (b'{"entries": [1]}', 422, "bad_entry"),
    (b'{"entries": [{"seq": 1.5}]}', 422, "bad_entry"),
])
def test_malformed_pushes_are_refused_without_a_500(edge, body, status, code):
    headers = edge.signed_headers("POST", "/sync/v1/push", body)
    response = edge.harness.client.post("/sync/v1/push", data=body, headers=headers, content_type="application/json")
    assert (response.status_code, response.json["error"]["code"]) == (status, code)


def test_more_than_500_entries_is_refused(edge):
    response = edge.push([{}] * 501)
    assert (response.status_code, response.json["error"]["code"]) == (422, "batch_too_large")


# --- signed requests ------------------------------------------------------------------------


def test_a_request_signed_with_another_key_is_refused(edge, caplog):
    with caplog.at_level(logging.WARNING, logger="fidelis.central.sync"):
        response = edge.request("GET", "/sync/v1/head", key=generate_private_key())
    assert (response.status_code, response.json["error"]["code"]) == (401, "bad_signature")
    assert any(edge.device_id in r.getMessage() and "bad_signature" in r.getMessage() for r in caplog.records)


def test_a_tampered_body_breaks_the_request_signature(edge):
    edge.register()
    data = json.dumps({"entries": edge.log}).encode()
    headers = edge.signed_headers("POST", "/sync/v1/push", data)
    response = edge.harness.client.post("/sync/v1/push", data=data.replace(b"Ana", b"Bob"), headers=headers,
                                        content_type="application/json")
    assert (response.status_code, response.json["error"]["code"]) == (401, "bad_signature")


def test_a_replayed_request_is_refused(edge):
    headers = edge.signed_headers("GET", "/sync/v1/head", b"")
    first = edge.request("GET", "/sync/v1/head", headers=headers)
    again = edge.request("GET", "/sync/v1/head", headers=headers)
    assert first.status_code == 200
    assert (again.status_code, again.json["error"]["code"]) == (401, "replayed_request")


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_a_stale_request_is_refused(edge, skew):
    response = edge.request("GET", "/sync/v1/head", now=edge.harness.clock() + skew)
    assert (response.status_code, response.json["error"]["code"]) == (401, "stale_request")


def test_an_unknown_device_is_refused(central):
    stranger = central.edge("S001", enrolled=False)
    response = stranger.head()
    assert (response.status_code, response.json["error"]["code"]) == (401, "unknown_device")


def test_an_unsigned_request_is_refused(central):
    response = central.client.get("/sync/v1/head")
    assert (response.status_code, response.json["error"]["code"]) == (401, "unsigned_request")


def test_a_revoked_device_is_told_so(central, edge, caplog):
    assert central.api("POST", f"/api/v1/devices/{edge.device_id}/revoke").status_code == 200
    with caplog.at_level(logging.WARNING, logger="fidelis.central.sync"):
        response = edge.push()
    assert (response.status_code, response.json["error"]["code"]) == (403, "device_revoked")
    assert any("device_revoked" in r.getMessage() for r in caplog.records)
    assert all("Bearer" not in r.getMessage() and "fct_" not in r.getMessage() for r in caplog.records)


def test_the_signature_covers_the_query_string(edge):
    data = b""
    headers = edge.signed_headers("GET", "/sync/v1/pull?since=0", data)
    response = edge.harness.client.get("/sync/v1/pull?since=5", headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (401, "bad_signature")


# --- pull -----------------------------------------------------------------------------------


def test_pull_pages_through_the_feed_with_an_exclusive_cursor(central, edge):
    customers = [edge.register(first_name=f"C{n}") for n in range(3)]
    assert edge.push().status_code == 200
    first = edge.pull(0, limit=2).json
    assert first["more"] is True and len(first["items"]) == 2
    rest = edge.pull(first["cursor"], limit=2).json
    assert rest["more"] is False and len(rest["items"]) == 1
    states = [item["body"] for item in first["items"] + rest["items"]]
    assert [state["customer"]["id"] for state in states] == customers
    assert all(state["applied"] == {edge.device_id: seq} for state, seq in zip(states, (3, 4, 5)))
    assert edge.pull(rest["cursor"]).json == {"items": [], "cursor": rest["cursor"], "more": False}


def test_customer_state_reaches_the_stores_that_know_the_customer_and_lists_each_device(central, edge):
    customer = edge.register()
    edge.sell(customer)
    assert edge.push().status_code == 200
    other = central.edge("S002")
    assert other.pull(0).json["items"] == []  # S002 has not seen this customer yet
    other.sell(customer)
    assert other.push().status_code == 200
    items = [i for i in other.pull(0).json["items"] if i["kind"] == "customer.state"]
    assert items[-1]["body"]["applied"] == {edge.device_id: 4, other.device_id: 3}
    assert items[-1]["body"]["points"] == {"available": 4, "pending": 0}
    assert [i["cursor"] for i in edge.pull(0).json["items"]] == [items[0]["cursor"] - 1, items[0]["cursor"]]


@pytest.mark.parametrize("query", ["since=-1", "since=x", "limit=0", "limit=1001"])
def test_bad_pull_queries_are_400(edge, query):
    response = edge.request("GET", f"/sync/v1/pull?{query}")
    assert (response.status_code, response.json["error"]["code"]) == (400, "bad_query")


def test_a_revocation_reaches_the_store_feed(central, edge):
    sibling = central.edge("S001")
    central.api("POST", f"/api/v1/devices/{edge.device_id}/revoke")
    items = sibling.pull(0).json["items"]
    assert [(i["kind"], i["body"]) for i in items] == [("device.revoked", {"device_id": edge.device_id})]
    assert central.edge("S002").pull(0).json["items"] == []


def test_the_stored_log_verifies_with_the_device_key_alone(central, edge):
    customer = edge.register()
    edge.sell(customer)
    edge.push()
    exported = central.api("GET", f"/api/v1/devices/{edge.device_id}/log")
    assert exported.mimetype == "application/x-ndjson"
    lines = exported.get_data(as_text=True).splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries == edge.log
    assert verify_chain(entries, load_public_key_b64(edge.public_key)) == edge.hashes[-1]
    after = central.api("GET", f"/api/v1/devices/{edge.device_id}/log?after=3").get_data(as_text=True)
    assert after.splitlines() == lines[3:]
