"""Hostile input over real HTTP: both servers answer a clear 4xx, never a 500, and write nothing.

One edge and one central run as real processes (central on SQLite and, with
``FIDELIS_TEST_PG_URL``, on PostgreSQL too); requests are sent with ``requests``, byte for
byte, so nothing is tidied up by a test client on the way.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone

import pytest
import requests

from conftest import DEMO_RULES, EdgeProcess
from edge import box as boxes
from edge import tills
from nodes import CentralNode
from sync.entry import generate_private_key, public_key_raw_b64
from sync.protocol import sign_request

PG_URL = os.environ.get("FIDELIS_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
JSON = {"Content-Type": "application/json"}
TWO_TO_THE_64 = str(2**64)
SUPERSCRIPT_TWO, FULL_WIDTH_FIVE = "%C2%B2", "%EF%BC%95"  # "²" and "５", percent-encoded UTF-8
DEEP = b"[" * 100_000  # about 100 KB that overflows a recursive parser
LONE_SURROGATE = b'"\\udc00"'
DEMO_RULES_DOCUMENT = json.loads(DEMO_RULES.read_text())


def _assert_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["details"], dict)
    return error


# --- the edge -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "edge"
    boxes.initialise(data, "S001", DEMO_RULES_DOCUMENT)
    _, key = tills.add(boxes.load(data), "till-1")
    process = EdgeProcess(data, threads=2)
    process.headers = {"Authorization": f"Bearer {key}", **JSON}
    yield process
    process.stop()


def _edge_post(edge, path: str, raw: bytes) -> requests.Response:
    return requests.post(f"{edge.url}{path}", data=raw, headers=edge.headers, timeout=30)


def _pending(edge) -> int:
    return requests.get(f"{edge.url}/status", headers=edge.headers, timeout=10).json()["pending_entries"]


def test_edge_refuses_deep_nesting_as_malformed_json(edge):
    before = _pending(edge)
    for path in ("/customers", "/sales", "/baskets/quote"):
        _assert_error(_edge_post(edge, path, DEEP), 400, "malformed_json")
    assert _pending(edge) == before


def test_edge_refuses_lone_surrogates_at_the_parser(edge):
    before = _pending(edge)
    customer = b'{"first_name": ' + LONE_SURROGATE + b', "last_name": "Pop"}'
    error = _assert_error(_edge_post(edge, "/customers", customer), 400, "malformed_json")
    assert "lone surrogate" in error["message"] and "not valid Unicode" in error["message"]
    assert "first_name" in error["message"]
    sale = (b'{"lines": [{"sku": ' + LONE_SURROGATE + b', "qty": 1, "unit_price": 100}],'
            b' "payments": [{"method": "cash", "amount": 100}]}')
    _assert_error(_edge_post(edge, "/sales", sale), 400, "malformed_json")
    # A proper pair is one character (U+1F600) and stays welcome.
    fine = _edge_post(edge, "/customers", b'{"first_name": "Ana \\ud83d\\ude00", "last_name": "Pop"}')
    assert fine.status_code == 201 and fine.json()["first_name"] == "Ana \U0001F600"
    assert _pending(edge) == before + 1


def test_edge_refuses_duplicate_keys_nan_and_infinity(edge):
    before = _pending(edge)
    duplicate = b'{"first_name": "Ana", "first_name": "Bob", "last_name": "Pop"}'
    error = _assert_error(_edge_post(edge, "/customers", duplicate), 400, "malformed_json")
    assert "duplicate key" in error["message"] and "first_name" in error["message"]
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        sale = (b'{"lines": [{"sku": "A1", "qty": ' + constant + b', "unit_price": 100}],'
                b' "payments": [{"method": "cash", "amount": 100}]}')
        _assert_error(_edge_post(edge, "/sales", sale), 400, "malformed_json")
    assert _pending(edge) == before


def test_edge_405_says_which_methods_are_allowed(edge):
    response = requests.delete(f"{edge.url}/customers", headers=edge.headers, timeout=10)
    _assert_error(response, 405, "method_not_allowed")
    assert "POST" in {method.strip() for method in response.headers["Allow"].split(",")}


# --- central ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def central(request, tmp_path_factory):
    """Central as ``fidelis-central serve`` with a token, store S001 and one enrolled device."""
    url, admin, schema = None, None, None
    if request.param == "postgresql":
        import psycopg2

        schema = f"t_{uuid.uuid4().hex[:16]}"
        admin = psycopg2.connect(PG_URL, connect_timeout=5)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"
    node = CentralNode(tmp_path_factory.mktemp("central"), url)
    try:
        node.store("S001", "Main street")
        node.key = generate_private_key()
        node.device_id = str(uuid.uuid4())
        enrolled = requests.post(f"{node.url}/sync/v1/enroll", timeout=10, json={
            "token": node.enrolment_token("S001"), "device_id": node.device_id,
            "public_key": public_key_raw_b64(node.key), "store": "S001"})
        assert enrolled.status_code == 201, enrolled.text
        node.headers = {"Authorization": f"Bearer {node.token}", **JSON}
        yield node
    finally:
        node.stop()
        if admin is not None:
            admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.close()


def _signed(node, method: str, path: str, body: bytes = b"") -> requests.Response:
    """A request signed with the enrolled device's key; ``path`` is sent exactly as given."""
    headers = sign_request(node.key, node.device_id, method, path, body, datetime.now(timezone.utc))
    if body:
        headers.update(JSON)
    return requests.request(method, f"{node.url}{path}", data=body, headers=headers, timeout=30)


def test_central_refuses_integers_past_64_bits_in_paths_and_queries(central):
    resolve = requests.post(f"{central.url}/api/v1/exceptions/{TWO_TO_THE_64}/resolve", headers=central.headers,
                            data=b'{"resolution": "x"}', timeout=10)
    _assert_error(resolve, 404, "exception_not_found")
    # The log is streamed: the seq must be refused before the first byte, as JSON, not mid-stream.
    log = requests.get(f"{central.url}/api/v1/devices/{central.device_id}/log?after={TWO_TO_THE_64}",
                       headers=central.headers, timeout=10)
    assert "after" in _assert_error(log, 400, "bad_query")["message"]
    _assert_error(_signed(central, "GET", f"/sync/v1/pull?since={TWO_TO_THE_64}"), 400, "bad_query")
    assert requests.get(f"{central.url}/api/v1/devices/{central.device_id}/log?after={2**63 - 1}",
                        headers=central.headers, timeout=10).status_code == 200


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, FULL_WIDTH_FIVE, "%D9%A3", "+5", "5%20", "-1", "1e3", ""])
def test_central_counts_only_ascii_digits(central, digit):
    listed = requests.get(f"{central.url}/api/v1/exceptions?limit={digit}", headers=central.headers, timeout=10)
    assert "limit" in _assert_error(listed, 400, "bad_query")["message"]
    log = requests.get(f"{central.url}/api/v1/devices/{central.device_id}/log?after={digit}",
                       headers=central.headers, timeout=10)
    _assert_error(log, 400, "bad_query")
    _assert_error(_signed(central, "GET", f"/sync/v1/pull?since={digit}"), 400, "bad_query")
    resolve = requests.post(f"{central.url}/api/v1/exceptions/{digit or '%20'}/resolve", headers=central.headers,
                            data=b"{}", timeout=10)
    assert resolve.status_code == 404 and resolve.json()["error"]["code"] in ("exception_not_found", "not_found")


def test_central_refuses_hostile_json_bodies_on_both_apis(central):
    stores = lambda: requests.get(f"{central.url}/api/v1/stores", headers=central.headers, timeout=10).json()  # noqa: E731
    before = stores()
    bodies = {
        "deep": DEEP,
        "surrogate": b'{"code": "S777", "name": ' + LONE_SURROGATE + b"}",
        "surrogate key": b'{"code": "S777", "name": "x", ' + LONE_SURROGATE + b": 1}",
        "duplicate": b'{"code": "S777", "code": "S778", "name": "Two codes"}',
        "nan": b'{"code": "S777", "name": "x", "expires_in_hours": NaN}',
    }
    for what, raw in bodies.items():
        response = requests.post(f"{central.url}/api/v1/stores", data=raw, headers=central.headers, timeout=30)
        error = _assert_error(response, 400, "malformed_json")
        if what.startswith("surrogate"):
            assert "lone surrogate" in error["message"] and "not valid Unicode" in error["message"]
    assert stores() == before
    enrol = requests.post(f"{central.url}/api/v1/enrolments", data=b'{"store": "S001", "store": "S404"}',
                          headers=central.headers, timeout=10)
    _assert_error(enrol, 400, "malformed_json")
    entry = b'{"v": 1, "device": "' + central.device_id.encode() + b'", "seq": 1, "kind": ' + LONE_SURROGATE + b"}"
    for raw in (b'{"entries": [], "entries": []}', b'{"entries": [' + entry + b"]}", b'{"entries": [NaN]}', DEEP):
        _assert_error(_signed(central, "POST", "/sync/v1/push", raw), 400, "malformed_json")
    head = _signed(central, "GET", "/sync/v1/head")
    assert head.json()["seq"] == 0


def test_central_405_says_which_methods_are_allowed(central):
    response = requests.delete(f"{central.url}/api/v1/stores", headers=central.headers, timeout=10)
    _assert_error(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= {method.strip() for method in response.headers["Allow"].split(",")}


def test_edge_reads_the_scanner_timeout_in_ascii_digits_only(edge):
    for timeout in (FULL_WIDTH_FIVE, SUPERSCRIPT_TWO, "1_0", "1e1", "%205"):
        response = requests.get(f"{edge.url}/scanner/next?timeout={timeout}", headers=edge.headers, timeout=10)
        _assert_error(response, 400, "bad_timeout")
