"""Publishing rules: numbering, the per-item month rule, signatures, the feed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

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
        assert response.json["error"]["details"]["problems"][0]["path"] == "earn.per_item"
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


def test_the_published_document_is_stored_as_given(central):
    publish(central, BASE)
    assert central.api("GET", "/api/v1/rules").json[0]["document"] == json.loads(json.dumps(BASE))


# --- per-item points change only on the 1st, across the whole schedule ----------------------


def _version(per_item: int, effective_from: str, rate: str = "0.1") -> dict:
    return {**BASE, "earn": {"rate": rate, "per_item": {"BAG1": per_item}}, "effective_from": effective_from}


# The reported case: v1 from Dec 1 (BAG1 earns 5), v2 from Jan 1 (BAG1 earns 7).
SCHEDULE = [_version(5, "2026-12-01T00:00:00Z"), _version(7, "2027-01-01T00:00:00Z")]
# v3 from Dec 15 repeats v2's table: BAG1 would go from 5 to 7 on Dec 15.
MID_MONTH_CHANGE = _version(7, "2026-12-15T00:00:00Z")
# v3 from Dec 15 keeps v1's table and changes the rate: BAG1 still changes only on Jan 1.
MID_MONTH_KEEPING = _version(5, "2026-12-15T00:00:00Z", rate="0.2")


def _in_november(central) -> None:
    # The reported case happened with these versions still in the future.
    central.clock.now = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def _rules_versions_in_feed(central) -> list[int]:
    items = central.edge("S001").pull(0).json["items"]
    return [item["body"]["version"] for item in items if item["kind"] == "rules.version"]


def test_a_version_that_would_change_per_item_points_mid_month_is_refused(central):
    _in_november(central)
    for document in SCHEDULE:
        assert publish(central, document).status_code == 201
    before = central.counts()
    response = publish(central, MID_MONTH_CHANGE)
    assert (response.status_code, response.json["error"]["code"]) == (422, "invalid_rules"), response.json
    (problem,) = response.json["error"]["details"]["problems"]
    assert problem["path"] == "earn.per_item"
    assert "2026-12-15T00:00:00.000Z" in problem["message"] and "version 1" in problem["message"]
    assert "1st of a month" in problem["message"]
    assert central.counts() == before
    assert [v["version"] for v in central.api("GET", "/api/v1/rules").json] == [1, 2]
    assert _rules_versions_in_feed(central) == [1, 2]


def test_a_mid_month_version_that_keeps_the_per_item_table_is_published(central):
    _in_november(central)
    for document in SCHEDULE:
        assert publish(central, document).status_code == 201
    response = publish(central, MID_MONTH_KEEPING)
    assert response.status_code == 201, response.json
    assert response.json == {"version": 3, "effective_from": "2026-12-15T00:00:00.000Z"}
    assert _rules_versions_in_feed(central) == [1, 2, 3]


def test_a_new_table_that_a_later_mid_month_version_would_end_is_refused(central):
    # v2 (Dec 20) changed only the rate; a new table from Dec 1 would give way to v2's on Dec 20.
    _in_november(central)
    assert publish(central, _version(5, "2026-11-01T00:00:00Z")).status_code == 201
    assert publish(central, _version(5, "2026-12-20T00:00:00Z", rate="0.2")).status_code == 201
    response = publish(central, _version(7, "2026-12-01T00:00:00Z"))
    assert response.status_code == 422, response.json
    (problem,) = response.json["error"]["details"]["problems"]
    assert problem["path"] == "earn.per_item"
    assert "2026-12-20T00:00:00.000Z" in problem["message"] and "version 2" in problem["message"]


def test_rules_publish_on_the_command_line_refuses_a_mid_month_per_item_change(database_url, tmp_path,
                                                                               run_central):
    env = {"FIDELIS_DATABASE_URL": database_url, "FIDELIS_CENTRAL_KEY": str(tmp_path / "central_key.pem")}
    assert run_central("init", env=env).returncode == 0
    # The reported case five years on: the command runs on the wall clock, and these stay ahead of it.
    files = {}
    for name, document in [("v1", _version(5, "2031-12-01T00:00:00Z")), ("v2", _version(7, "2032-01-01T00:00:00Z")),
                           ("change", _version(7, "2031-12-15T00:00:00Z")),
                           ("keeping", _version(5, "2031-12-15T00:00:00Z", rate="0.2"))]:
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(document))
    assert run_central("rules", "publish", str(files["v1"]), env=env).stdout == "1\n"
    assert run_central("rules", "publish", str(files["v2"]), env=env).stdout == "2\n"

    refused = run_central("rules", "publish", str(files["change"]), env=env)
    assert refused.returncode == 1 and refused.stdout == ""
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("fidelis-central: invalid rules document: earn.per_item: ")
    assert "2031-12-15T00:00:00.000Z" in line and "version 1" in line

    accepted = run_central("rules", "publish", str(files["keeping"]), env=env)
    assert (accepted.returncode, accepted.stdout) == (0, "3\n"), accepted.stderr
    versions = json.loads(run_central("--json", "rules", "list", env=env).stdout)["versions"]
    assert [(v["version"], v["effective_from"]) for v in versions] == [
        (1, "2031-12-01T00:00:00.000Z"), (2, "2032-01-01T00:00:00.000Z"), (3, "2031-12-15T00:00:00.000Z")]
