"""Enrolment: a one-time, expiring token binds a device key to a store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.enrolment import create_token
from sync.entry import GENESIS_PREV, public_key_raw_b64


def test_enrolment_returns_the_store_the_central_key_and_the_head(central):
    edge = central.edge("S001", enrolled=False)
    response = edge.enroll()
    assert response.status_code == 201
    assert response.json["device_id"] == edge.device_id
    assert response.json["store"] == {"code": "S001", "name": "Main street"}
    assert response.json["central_public_key"] == public_key_raw_b64(central.app.extensions["fidelis_central"].key)
    assert response.json["head"] == {"seq": 0, "hash": GENESIS_PREV}


def test_a_token_enrols_once(central):
    token = create_token(central.store("S001"), central.clock())[0]
    first = central.edge("S001", enrolled=False)
    assert first.enroll(token).status_code == 201
    second = central.edge("S001", enrolled=False)
    response = second.enroll(token)
    assert (response.status_code, response.json["error"]["code"]) == (403, "enrollment_token_invalid")


def test_an_expired_token_is_refused(central):
    token = create_token(central.store("S001"), central.clock(), hours=1)[0]
    central.clock.advance(hours=1, seconds=1)
    response = central.edge("S001", enrolled=False).enroll(token)
    assert (response.status_code, response.json["error"]["code"]) == (403, "enrollment_token_invalid")


def test_an_unknown_token_is_refused(central):
    central.store("S001")
    response = central.edge("S001", enrolled=False).enroll("fce_made-up")
    assert (response.status_code, response.json["error"]["code"]) == (403, "enrollment_token_invalid")


def test_a_token_for_another_store_is_a_store_mismatch_and_stays_usable(central):
    central.store("S001")
    token = create_token(central.store("S002"), central.clock())[0]
    edge = central.edge("S001", enrolled=False)
    response = edge.enroll(token)
    assert (response.status_code, response.json["error"]["code"]) == (409, "store_mismatch")
    assert edge.enroll(token, store="S002").status_code == 201


def test_an_edge_without_a_store_takes_the_token_store(central):
    token = create_token(central.store("S002"), central.clock())[0]
    edge = central.edge("S002", enrolled=False)
    assert edge.enroll(token, store=None).json["store"]["code"] == "S002"


def test_a_device_id_enrolled_with_another_key_is_a_conflict(central, edge):
    impostor = type(edge)(central, "S001")
    impostor.device_id = edge.device_id
    response = impostor.enroll()
    assert (response.status_code, response.json["error"]["code"]) == (409, "device_conflict")


def test_a_standalone_edge_enrols_and_uploads_its_whole_log(central):
    edge = central.edge("S001", enrolled=False)
    customer = edge.register()
    edge.sell(customer)
    assert edge.enroll().status_code == 201
    assert edge.push().json["head"]["seq"] == 4
    again = edge.enroll()  # the same key again (a lost reply): same device, same head
    assert again.status_code == 201 and again.json["head"]["seq"] == 4


@pytest.mark.parametrize("field, value", [
    ("device_id", "not-a-uuid"), ("public_key", "AAAA"), ("token", 5), ("store", 7)])
def test_malformed_enrolments_are_422(central, field, value):
    edge = central.edge("S001", enrolled=False)
    body = {"token": "t", "device_id": edge.device_id, "public_key": edge.public_key, "store": "S001", field: value}
    response = central.client.post("/sync/v1/enroll", json=body)
    assert (response.status_code, response.json["error"]["code"]) == (422, "validation_error")
    assert response.json["error"]["details"]["problems"][0]["path"] == field


def test_enrolment_token_lifetime_must_be_sane(central):
    central.store("S001")
    with pytest.raises(Exception) as refused:
        create_token("S001", central.clock(), hours=0)
    assert getattr(refused.value, "code", None) == "invalid_expiry"
    expires = create_token("S001", central.clock(), hours=48)[1]
    assert expires > (central.clock() + timedelta(hours=47)).isoformat()[:19]
