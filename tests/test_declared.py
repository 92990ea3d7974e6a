"""Declared bodies: strict validation listing every problem, and the OpenAPI from the same class."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.declared import Body, BodyProblems, Count, Text, components, read


class Line(Body):
    sku: Text(64)
    qty: Count


class Basket(Body):
    lines: list[Line]
    note: Text(10) | None = None


def problems(data) -> list[dict[str, str]]:
    with pytest.raises(BodyProblems) as caught:
        read(Basket, data)
    return caught.value.problems


def test_every_problem_is_listed_with_its_path():
    found = problems({"lines": [{"sku": "A\x1b", "qty": 1.5}, {"sku": "", "qty": True, "x": 1}],
                      "note": "x" * 11, "y": 2})
    assert found == [
        {"path": "lines[0].sku", "message": "must not contain control characters"},
        {"path": "lines[0].qty", "message": "must be an integer (amounts are in minor units, no decimals)"},
        {"path": "lines[1].sku", "message": "must not be empty"},
        {"path": "lines[1].qty", "message": "must be an integer"},
        {"path": "lines[1].x", "message": "unknown field"},
        {"path": "note", "message": "must be at most 10 characters"},
        {"path": "y", "message": "unknown field"},
    ]


@pytest.mark.parametrize("value", ["2", 2.0, True, None])
def test_strict_mode_never_coerces(value):
    assert problems({"lines": [{"sku": "A", "qty": value}]})[0]["path"] == "lines[0].qty"


def test_the_root_is_named_dollar():
    assert problems([1, 2]) == [{"path": "$", "message": "must be an object"}]


def test_a_valid_body_is_read_into_the_class():
    basket = read(Basket, {"lines": [{"sku": "A1", "qty": 2}]})
    assert basket.lines[0].qty == 2 and basket.note is None


def test_the_openapi_schema_says_what_the_validation_enforces():
    schemas = components(Basket)
    line = schemas["Line"]
    assert line["additionalProperties"] is False and set(line["required"]) == {"sku", "qty"}
    assert line["properties"]["sku"]["maxLength"] == 64 and line["properties"]["qty"]["minimum"] == 0
    assert schemas["Basket"]["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/Line"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=70))
def test_text_accepts_exactly_what_the_change_log_accepts(text):
    from sync.bodies import text_problem

    ok = 1 <= len(text) <= 64 and text_problem(text) is None
    try:
        read(Line, {"sku": text, "qty": 1})
        accepted = True
    except BodyProblems:
        accepted = False
    assert accepted == ok
