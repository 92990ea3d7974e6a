"""The till API takes exactly the text central takes: one definition of each entry body (sync/bodies.py).

For each entry kind a till request leads to, hostile text goes into one field at a time; the
entry body that request leads to is derived (the edge carries text as sent), and the till
API's answer must match the shared definition's: 422 naming the field ⇔ central would refuse.
Whenever the till accepts, the derivation is checked against the entry it really signed.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge import tills
from edge.changelog import UnsignableBody
from edge.db import write_transaction
from edge.models import LogEntry
from shared.rules import parse_rules
from sync import bodies, kinds

HOSTILE = ("Ana", "Ștefan Ñoño ☕", "a\x85b", "zero\u200bwidth", "\x1b[31mred", "nul\x00byte", "tab\there",
           "end\n", "\rstart", "del\x7f", "\x1f", "lone\ud800", "\udfffx")


def texts(limit: int) -> tuple[str, ...]:
    return HOSTILE + ("x" * limit, "x" * (limit + 1))


def long_email(length: int) -> str:
    return "a" * 64 + "@" + "b" * (length - 64 - 1 - 4) + ".com"


def put(document: Any, path: str, value: Any) -> Any:
    """Set ``lines[0].sku``-style ``path`` in a copy of ``document``."""
    document = json.loads(json.dumps(document))
    steps = [int(step) if step.isdigit() else step for step in re.findall(r"\w+", path)]
    target = document
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value
    return document


def last_body(kind: str) -> dict:
    row = LogEntry.select().order_by(LogEntry.seq.desc()).first()
    assert row.kind == kind
    return json.loads(row.line)["body"]


def central_refuses(kind: str, body: dict) -> bool:
    try:
        kinds.check(kind, body)
    except bodies.BodyError:
        return True
    return False


def till_refuses(response, path: str) -> bool:
    """True for a 422 ``validation_error`` naming ``path`` (or the body parser's 400 naming it,
    for a lone surrogate); False for a 201; anything else fails."""
    if response.status_code == 201:
        return False
    if response.status_code == 400:
        assert response.json["error"]["code"] == "malformed_json", response.json
        assert f"$.{path}" in response.json["error"]["message"], response.json
        return True
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error", response.json
    assert path in [p["path"] for p in response.json["error"]["details"]["problems"]], response.json
    return True


CUSTOMER_FIELDS = {
    "first_name": texts(bodies.NAME_MAX),
    "last_name": texts(bodies.NAME_MAX),
    "email": tuple(f"ana{x}@example.com" for x in ("", "é", "\u200b", "\x1b", "\x00", "\x7f", "\ud800"))
    + (long_email(bodies.EMAIL_MAX), long_email(bodies.EMAIL_MAX + 1)),
    "phone": ("+40721000111", "+40721\x1b000111", "+40\t721000111", "+40721000111\x7f", "\ud800+40721000111"),
    "card_number": ("ABCD1234", "ABCD\x001234", "ABCD1234\n", "A" * bodies.CARD_MAX, "A" * (bodies.CARD_MAX + 1)),
    "birth_date": ("1990-01-01", "1990\x00-01-01", "1990-01-01\r"),
}


@pytest.mark.parametrize("field", sorted(CUSTOMER_FIELDS))
def test_registrations_the_till_refuses_are_exactly_those_central_would(till, field):
    template = {"customer_id": str(uuid.uuid4()), "card_number": "2000000000008", "first_name": "Ana",
                "last_name": "Pop", "email": None, "phone": None, "birth_date": None, "tier": "Basic"}
    for value in CUSTOMER_FIELDS[field]:
        before = LogEntry.select().count()
        response = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop", field: value})
        derived = {**template, field: value}
        assert till_refuses(response, field) == central_refuses("customer.registered", derived), repr(value)
        if response.status_code == 201:
            signed = last_body("customer.registered")
            ignored = {"customer_id"} | ({"card_number"} if field != "card_number" else set())
            assert {k: v for k, v in signed.items() if k not in ignored} == \
                   {k: v for k, v in derived.items() if k not in ignored}
        else:
            assert LogEntry.select().count() == before, "a refused request wrote nothing"


SALE_FIELDS = {
    "lines[0].sku": texts(bodies.SKU_MAX),
    "lines[0].name": texts(bodies.LINE_NAME_MAX),
    "lines[0].category": texts(bodies.CATEGORY_MAX),
    "payments[0].method": texts(bodies.METHOD_MAX),
}
SALE = {"lines": [{"sku": "A1", "qty": 1, "unit_price": 100, "name": "Shoe", "category": "shoes"}],
        "payments": [{"method": "cash", "amount": 100}]}


@pytest.mark.parametrize("path", sorted(SALE_FIELDS))
def test_sales_the_till_refuses_are_exactly_those_central_would(till, path):
    assert till.post("/api/v1/sales", json=SALE).status_code == 201
    template = last_body("sale.completed")
    for value in SALE_FIELDS[path]:
        before = LogEntry.select().count()
        response = till.post("/api/v1/sales", json=put(SALE, path, value))
        derived = put(template, path, value)
        assert till_refuses(response, path) == central_refuses("sale.completed", derived), repr(value)
        if response.status_code == 201:
            signed = last_body("sale.completed")
            assert (signed["lines"], signed["payments"]) == (derived["lines"], derived["payments"])
        else:
            assert LogEntry.select().count() == before


def test_returns_the_till_refuses_are_exactly_those_central_would(till):
    many = put(put(SALE, "lines[0].qty", 100), "payments[0].amount", 100 * 100)
    usual = till.post("/api/v1/sales", json=many).json["id"]
    assert till.post(f"/api/v1/sales/{usual}/returns", json={"lines": [{"sku": "A1", "qty": 1}]}).status_code == 201
    template = last_body("sale.returned")
    for value in texts(bodies.SKU_MAX):
        sold = till.post("/api/v1/sales", json=put(SALE, "lines[0].sku", value))
        sale_id = sold.json["id"] if sold.status_code == 201 else usual
        response = till.post(f"/api/v1/sales/{sale_id}/returns", json={"lines": [{"sku": value, "qty": 1}]})
        derived = {**template, "lines": [{"sku": value, "qty": 1}]}
        assert till_refuses(response, "lines[0].sku") == central_refuses("sale.returned", derived), repr(value)
        if response.status_code == 201:
            assert last_body("sale.returned")["lines"] == derived["lines"]


def test_till_names_the_edge_refuses_are_exactly_those_central_would(app):
    box = app.extensions["fidelis_edge"]
    for value in texts(bodies.TILL_NAME_MAX):
        try:
            tills.add(box, value)
            refused = False
        except ValueError:
            refused = True
        assert refused == central_refuses("till.added", {"till_id": str(uuid.uuid4()), "name": value}), repr(value)
        if not refused:
            assert last_body("till.added")["name"] == value


# Text a till could send: anything, with the characters that matter made likely.
SPECIAL = st.sampled_from(["\x00", "\x1b", "\x1f", "\x7f", "\t", "\n", "\r", "\x85", "\u2028", "\ud800",
                           "\udfff", "İ", "ß", " ", "☕", "\u200b"])
TEXT = st.text(alphabet=st.one_of(st.characters(), SPECIAL), max_size=130)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=TEXT, last=TEXT, sku=TEXT, name=TEXT, category=TEXT, method=TEXT)
def test_any_text_the_till_accepts_makes_entries_the_shared_definition_accepts(till, first, last, sku, name,
                                                                                 category, method):
    registered = till.post("/api/v1/customers", json={"first_name": first, "last_name": last})
    assert registered.status_code in (201, 400, 422), registered.json
    if registered.status_code == 201:
        kinds.check("customer.registered", last_body("customer.registered"))
    sale = {"lines": [{"sku": sku, "qty": 1, "unit_price": 100, "name": name, "category": category}],
            "payments": [{"method": method, "amount": 100}]}
    sold = till.post("/api/v1/sales", json=sale)
    assert sold.status_code in (201, 400, 422), sold.json
    if sold.status_code == 201:
        kinds.check("sale.completed", last_body("sale.completed"))


def test_the_change_log_will_not_sign_a_body_central_would_refuse(app):
    box = app.extensions["fidelis_edge"]
    before = LogEntry.select().count()
    for kind, body in (("till.added", {"till_id": "t1", "name": "till\x1b"}), ("survey.answered", {"q": 1})):
        with pytest.raises(UnsignableBody, match=kind):
            with write_transaction():
                box.changelog.append(kind, body)
    assert LogEntry.select().count() == before


def test_a_lookup_with_control_characters_is_422_naming_the_parameter(till):
    response = till.get("/api/v1/customers/lookup?card=2000%1B0008")
    assert response.status_code == 422
    assert response.json["error"]["details"]["problems"] == [
        {"path": "card", "message": "must not contain control characters (found U+001B)"}]


@pytest.mark.parametrize("name", ["Gold\n", "Gold\x1b", "Gold\x7f"])
def test_tier_names_with_control_characters_are_refused_in_rules(name):
    # Tier names are written into customer and sale entries, so they follow the same text rule.
    ruleset, problems = parse_rules({"tiers": [{"name": name, "threshold": 0}]})
    assert ruleset is None and [p.path for p in problems] == ["tiers[0].name"]


def test_an_email_that_lowercasing_lengthens_past_the_limit_is_refused(till):
    # "İ" lowercases to two characters: 254 as sent would be stored (and signed) as 255.
    email = "İ" + long_email(bodies.EMAIL_MAX)[1:]
    response = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop", "email": email})
    assert till_refuses(response, "email")
    assert till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop",
                                                "email": "İ" + long_email(bodies.EMAIL_MAX - 1)[1:]}).status_code == 201
