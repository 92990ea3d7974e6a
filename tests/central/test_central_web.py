"""The web layer central shares with the edge (sync/web.py): one answer for each thing both do."""

from __future__ import annotations

import pytest

from central import models


@pytest.mark.parametrize("body", [
    b'{"entries": [], "entries": []}',
    b'{"customer_id": "c", "points": NaN, "sale_id": "s"}',
    b'{"customer_id": "c", "points": Infinity, "sale_id": "s"}',
])
def test_the_sync_api_refuses_what_plain_json_would_take(edge, body):
    path = "/sync/v1/push" if b"entries" in body else "/sync/v1/authorize"
    headers = edge.signed_headers("POST", path, body)
    response = edge.harness.client.post(path, data=body, headers=headers, content_type="application/json")
    assert (response.status_code, response.json["error"]["code"]) == (400, "malformed_json")


def test_a_replayed_answer_says_so_and_a_blank_key_is_refused(central):
    headers = {"Idempotency-Key": "store-9"}
    first = central.api("POST", "/api/v1/stores", {"code": "S009", "name": "Airport"}, headers=headers)
    again = central.api("POST", "/api/v1/stores", {"code": "S009", "name": "Airport"}, headers=headers)
    assert (first.status_code, again.status_code, again.json) == (201, 201, first.json)
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    blank = central.api("POST", "/api/v1/stores", {"code": "S010", "name": "Dock"}, headers={"Idempotency-Key": " "})
    assert (blank.status_code, blank.json["error"]["code"]) == (400, "bad_idempotency_key")
    assert models.Store.select().count() == 1


def test_a_head_office_body_of_the_wrong_shape_lists_every_problem_and_writes_nothing(central):
    refused = central.api("POST", "/api/v1/stores", {"code": 9, "title": "Airport"})
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "validation_error")
    assert [p["path"] for p in refused.json["error"]["details"]["problems"]] == ["code", "name", "title"]
    assert models.Store.select().count() == 0


def test_only_the_json_api_names_its_bearer_realm(central, edge):
    unsigned = central.client.get("/sync/v1/head")
    assert unsigned.status_code == 401 and "WWW-Authenticate" not in unsigned.headers
    no_token = central.client.get("/api/v1/stores")
    assert no_token.status_code == 401
    assert no_token.headers["WWW-Authenticate"] == 'Bearer realm="fidelis-central"'
