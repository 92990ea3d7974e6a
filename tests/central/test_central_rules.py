"""Publishing rules: numbering, the per-item month rule, signatures, the feed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from central import rules as rulebook
from shared.times import format_time
from sync.entry import load_public_key_b64
from sync.protocol import verify_rules

BASE = {"earn": {"rate": "0.1", "per_item": {"BAG1": 5}}, "tiers": [{"name": "Basic", "threshold": 0}]}


def publish(central, document, **headers):
    return central.api("POST", "/api/v1/rules", document, headers=headers)


def test_versions_count_from_one_and_reach_every_store_signed(central):
    first = publish(central, BASE)
    assert first.status_code == 201 and first.json["version"] == 1
    assert publish(central, {**BASE, "earn": {**BASE["earn"], "rate": "0.2"}}).json["version"] == 2
    edge = central.edge("S001")
    enrolled = edge.enroll()  # a second enrolment with the same key hands out the same central key
    central_key = load_public_key_b64(enrolled.json["central_public_key"])
    items = [i for i in edge.pull(0).json["items"] if i["kind"] == "rules.version"]
    assert [i["body"]["version"] for i in items] == [1, 2]
    for item in items:
        verify_rules(central_key, item["body"])
    tampered = {**items[1]["body"], "document": BASE}
    with pytest.raises(ValueError):
        verify_rules(central_key, tampered)
    assert [v["version"] for v in central.api("GET", "/api/v1/rules").json] == [1, 2]


def test_a_missing_effective_from_means_the_moment_of_publishing(central):
    assert publish(central, BASE).json["effective_from"] == format_time(central.clock())


def test_invalid_documents_list_every_problem_and_publish_nothing(central):
    response = publish(central, {"earn": {"rate": 0.1}, "tiers": [{"name": "", "threshold": 5}], "bogus": 1})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_rules"
    paths = {p["path"] for p in response.json["error"]["details"]["problems"]}
    assert {"bogus", "earn.rate", "tiers[0].name", "tiers[0].threshold"} <= paths
    assert central.api("GET", "/api/v1/rules").json == []


@pytest.mark.parametrize("body, status, code", [
    (b"{", 400, "malformed_json"),
    (b'{"earn": {}, "earn": {}}', 400, "malformed_json"),
    (b"[]", 422, "invalid_rules"),
])
def test_undecodable_documents(central, body, status, code):
    response = central.client.post("/api/v1/rules", data=body, headers={"Authorization": f"Bearer {central.token}"})
    assert (response.status_code, response.json["error"]["code"]) == (status, code)


@pytest.mark.parametrize("effective_from, accepted", [
    ("2031-03-01T00:00:00Z", True),
    ("2031-03-01T01:00:00+01:00", True),
    ("2031-03-02T00:00:00Z", False),
    ("2031-03-01T00:00:01Z", False),
    (None, False),
])
def test_per_item_points_change_only_on_the_first_of_a_month(central, effective_from, accepted):
    assert publish(central, BASE).status_code == 201
    changed = {**BASE, "earn": {**BASE["earn"], "per_item": {"BAG1": 7}}}
    if effective_from:
        changed["effective_from"] = effective_from
    response = publish(central, changed)
    assert (response.status_code == 201) is accepted, response.json
    if not accepted:
        assert response.json["error"]["details"]["problems"][0]["path"] == "effective_from"
    latest = changed if accepted else BASE
    unchanged = {**latest, "earn": {**latest["earn"], "rate": "0.3"}, "effective_from": "2031-03-17T10:00:00Z"}
    assert publish(central, unchanged).status_code == 201  # other changes may start any time


def test_the_same_idempotency_key_publishes_once(central):
    first = publish(central, BASE, **{"Idempotency-Key": "k1"})
    again = publish(central, BASE, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert len(central.api("GET", "/api/v1/rules").json) == 1
    other = publish(central, {**BASE, "one_reward_per_sale": False}, **{"Idempotency-Key": "k1"})
    assert (other.status_code, other.json["error"]["code"]) == (409, "idempotency_conflict")


def test_is_month_start():
    assert rulebook.is_month_start(datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert not rulebook.is_month_start(datetime(2030, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc))


def test_the_published_document_is_stored_as_given(central):
    publish(central, BASE)
    assert central.api("GET", "/api/v1/rules").json[0]["document"] == json.loads(json.dumps(BASE))
