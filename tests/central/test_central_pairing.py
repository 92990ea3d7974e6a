"""Pairing: a box asks for a code, head office approves it, the box enrols itself once."""

from __future__ import annotations

import logging

import pytest

from central import models


def _ask(central, edge, store="S001", address="10.1.1.1"):
    return central.client.post("/sync/v1/pairings", environ_base={"REMOTE_ADDR": address},
                               json={"device_id": edge.device_id, "public_key": edge.public_key, "store": store})


def _poll(central, code, secret, address="10.1.1.1"):
    return central.client.post("/sync/v1/pairings/poll", json={"code": code, "secret": secret},
                               environ_base={"REMOTE_ADDR": address})


def _approve(central, code, store="S001"):
    return central.api("POST", f"/api/v1/pairings/{code}/approve", {"store": store})


def test_an_approved_code_enrols_the_box_once(central):
    edge = central.edge("S001", enrolled=False)
    asked = _ask(central, edge)
    assert asked.status_code == 201, asked.json
    code, secret = asked.json["code"], asked.json["secret"]
    assert len(code) == 9 and code[4] == "-"
    assert _poll(central, code, secret).json["status"] == "pending"
    assert models.Device.get_or_none(models.Device.id == edge.device_id) is None

    approved = _approve(central, code.lower().replace("-", " "))  # as typed from the receipt
    assert approved.status_code == 200, approved.json
    assert (approved.json["store"], approved.json["device_id"]) == ("S001", edge.device_id)

    done = _poll(central, code, secret)
    assert done.status_code == 200 and done.json["status"] == "approved"
    assert done.json["store"]["code"] == "S001"
    assert done.json["central_public_key"] == central.app.extensions["fidelis_central"].public_key_b64
    assert edge.head().status_code == 200  # enrolled: its signed requests are accepted
    again = _poll(central, code, secret)
    assert (again.status_code, again.json["error"]["code"]) == (409, "pairing_used")
    twice = _approve(central, code)
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "pairing_used")


def test_a_code_lives_fifteen_minutes(central):
    edge = central.edge("S001", enrolled=False)
    asked = _ask(central, edge).json
    central.clock.advance(minutes=15, seconds=1)
    late = _approve(central, asked["code"])
    assert (late.status_code, late.json["error"]["code"]) == (410, "pairing_expired")
    polled = _poll(central, asked["code"], asked["secret"])
    assert (polled.status_code, polled.json["error"]["code"]) == (410, "pairing_expired")


def test_the_poll_needs_the_secret_the_box_was_given(central):
    edge = central.edge("S001", enrolled=False)
    asked = _ask(central, edge).json
    assert _approve(central, asked["code"]).status_code == 200
    stolen = _poll(central, asked["code"], "guessed")
    assert (stolen.status_code, stolen.json["error"]["code"]) == (403, "pairing_invalid")
    assert models.Device.get_or_none(models.Device.id == edge.device_id) is None


@pytest.mark.parametrize("code, status, error", [("ZZZZ-ZZZZ", 404, "pairing_not_found"),
                                                 ("not a code", 404, "pairing_not_found")])
def test_unknown_codes_are_refused(central, code, status, error):
    central.store("S001")
    response = _approve(central, code)
    assert (response.status_code, response.json["error"]["code"]) == (status, error)


def test_a_box_set_up_for_another_store_is_a_store_mismatch(central):
    central.store("S001")
    edge = central.edge("S002", enrolled=False)
    asked = _ask(central, edge, store="S002").json
    response = _approve(central, asked["code"], store="S001")
    assert (response.status_code, response.json["error"]["code"]) == (409, "store_mismatch")


@pytest.mark.parametrize("body", [{}, {"device_id": "x", "public_key": "AAAA"}, [1]])
def test_malformed_requests_are_422_and_write_nothing(central, body):
    response = central.client.post("/sync/v1/pairings", json=body)
    assert (response.status_code, response.json["error"]["code"]) == (422, "validation_error")
    assert models.Pairing.select().count() == 0


def test_attempts_are_rate_limited_per_address(central):
    edge = central.edge("S001", enrolled=False)
    for _ in range(10):
        assert _ask(central, edge).status_code == 201
    refused = _ask(central, edge)
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "rate_limited")
    assert _ask(central, edge, address="10.2.2.2").status_code == 201  # another shop is not affected
    guesses = [_poll(central, "ABCD-EFGH", "x", address="10.3.3.3").status_code for _ in range(11)]
    assert guesses == [403] * 10 + [429]
    central.clock.advance(minutes=16)
    assert _ask(central, edge).status_code == 201  # the window has passed


def test_neither_code_nor_secret_reaches_the_log(central, caplog):
    caplog.set_level(logging.DEBUG)
    edge = central.edge("S001", enrolled=False)
    asked = _ask(central, edge).json
    _approve(central, asked["code"])
    _poll(central, asked["code"], asked["secret"])
    text = caplog.text
    assert asked["secret"] not in text and asked["code"] not in text and asked["code"].replace("-", "") not in text
    assert edge.device_id in text  # the log does say who paired


def test_head_office_approves_from_the_command_line(central, run_central):
    edge = central.edge("S001", enrolled=False)
    asked = _ask(central, edge).json
    result = run_central("enroll", "approve", asked["code"], "--store", "S001", "--database", central.url,
                         "--key-file", str(central.key_file))
    assert result.returncode == 0, result.stderr
    assert "approved for store S001" in result.stdout
    assert _poll(central, asked["code"], asked["secret"]).json["status"] == "approved"
    again = run_central("enroll", "approve", asked["code"], "--store", "S001", "--database", central.url,
                        "--key-file", str(central.key_file))
    assert again.returncode == 1 and again.stderr.startswith("fidelis-central: ") and "already" in again.stderr
