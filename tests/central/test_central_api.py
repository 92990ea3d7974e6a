"""The central JSON API: authentication, each endpoint, errors, the OpenAPI document."""

from __future__ import annotations

import re

import pytest

from central import enrolment


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "bearer fct_unknown"])
def test_every_endpoint_needs_a_valid_token(central, header):
    headers = {"Authorization": header} if header else {}
    for path in ("/api/v1/stores", "/api/v1/exceptions", "/api/v1/customers?card=1", "/api/v1/rules"):
        response = central.client.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_and_openapi_are_public(central):
    assert central.client.get("/api/v1/health").json == {"status": "ok"}
    assert central.client.get("/api/v1/openapi.json").status_code == 200


def test_every_route_is_in_the_openapi_document(central):
    document = central.client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    for rule in central.app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/sync/")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path}"


def test_customers_by_id_and_by_card(central, edge):
    customer = edge.register(card="2123456789012")
    edge.sell(customer)
    edge.push()
    by_id = central.customer(customer)
    assert by_id["card_number"] == "2123456789012"
    assert by_id["points"] == {"available": 2, "pending": 0}
    assert by_id["tier"] == "Basic" and by_id["balance_negative"] is False
    assert central.api("GET", "/api/v1/customers?card=2123456789012").json == by_id
    missing = central.api("GET", "/api/v1/customers/nobody")
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "customer_not_found")
    assert central.api("GET", "/api/v1/customers?card=999").status_code == 404
    assert central.api("GET", "/api/v1/customers").json["error"]["code"] == "bad_query"
    assert central.api("GET", "/api/v1/customers/bad%00id").status_code == 404


def test_stores_list_their_devices(central, edge):
    edge.register()
    edge.push()
    central.store("S002", "Station")
    stores = central.api("GET", "/api/v1/stores").json
    assert [s["code"] for s in stores] == ["S001", "S002"]
    device = stores[0]["devices"][0]
    assert (device["id"], device["acked_seq"], device["revoked"]) == (edge.device_id, 3, False)
    assert device["last_sync_at"] is not None
    assert stores[1] == {"code": "S002", "name": "Station", "devices": []}


def test_stores_and_enrolment_tokens_can_be_made_through_the_api(central):
    created = central.api("POST", "/api/v1/stores", {"code": "S009", "name": "Airport"})
    assert created.status_code == 201
    again = central.api("POST", "/api/v1/stores", {"code": "S009", "name": "Airport"})
    assert (again.status_code, again.json["error"]["code"]) == (409, "store_exists")
    bad = central.api("POST", "/api/v1/stores", {"code": "no spaces", "name": "x"})
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "invalid_store_code")
    token = central.api("POST", "/api/v1/enrolments", {"store": "S009"})
    assert token.status_code == 201 and token.json["token"].startswith(enrolment.TOKEN_PREFIX)
    unknown = central.api("POST", "/api/v1/enrolments", {"store": "S404"})
    assert (unknown.status_code, unknown.json["error"]["code"]) == (404, "store_not_found")


def test_exceptions_can_be_listed_filtered_and_resolved(central, edge):
    edge.sell("ghost")
    edge.push()
    listed = central.exceptions()
    assert [(e["kind"], e["device_id"], e["store"], e["customer_id"], e["seq"]) for e in listed] == [
        ("unknown_customer", edge.device_id, "S001", "ghost", 3)]
    assert set(listed[0]) >= {"id", "kind", "device_id", "store", "customer_id", "seq", "details", "created_at"}
    assert central.exceptions("overdraft") == []
    unsaid = central.api("POST", f"/api/v1/exceptions/{listed[0]['id']}/resolve", {"resolution": " "})
    assert (unsaid.status_code, unsaid.json["error"]["code"]) == (422, "validation_error")
    assert central.exceptions()[0]["status"] == "open"  # nothing closed without a note
    resolved = central.api("POST", f"/api/v1/exceptions/{listed[0]['id']}/resolve", {"resolution": "typo at till"})
    assert resolved.status_code == 200 and resolved.json["status"] == "resolved"
    assert central.exceptions() == []
    assert len(central.api("GET", "/api/v1/exceptions?status=all").json) == 1
    twice = central.api("POST", f"/api/v1/exceptions/{listed[0]['id']}/resolve", {})
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "exception_resolved")
    assert central.api("POST", "/api/v1/exceptions/999/resolve", {}).status_code == 404
    assert central.api("GET", "/api/v1/exceptions?status=maybe").status_code == 400


def test_devices_can_be_read_and_revoked(central, edge):
    device = central.api("GET", f"/api/v1/devices/{edge.device_id}").json
    assert (device["store"], device["revoked"], device["public_key"]) == ("S001", False, edge.public_key)
    revoked = central.api("POST", f"/api/v1/devices/{edge.device_id}/revoke")
    assert revoked.json["revoked"] is True
    assert central.api("POST", f"/api/v1/devices/{edge.device_id}/revoke").status_code == 200
    assert central.api("GET", "/api/v1/devices/unknown").status_code == 404
    assert central.api("GET", "/api/v1/devices/unknown/log").status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/rules", "/api/v1/stores", "/api/v1/enrolments"])
def test_malformed_json_is_400(central, path):
    response = central.client.post(path, data=b"{nope", headers={"Authorization": f"Bearer {central.token}"})
    assert (response.status_code, response.json["error"]["code"]) == (400, "malformed_json")


def test_unknown_routes_and_methods_answer_json(central):
    assert central.api("GET", "/api/v1/nothing").json["error"]["code"] == "not_found"
    assert central.api("DELETE", "/api/v1/stores").status_code == 405
