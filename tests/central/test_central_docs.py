"""Central's OpenAPI document stays honest: every route is in it, every body in it is declared."""

from __future__ import annotations

import json
import re

import pytest

from central import replies, schemas
from sync.declared import BodyProblems, read

NOT_DECLARED_HERE = {"RulesDocument"}
"""Checked by the rules engine (shared.rules), not by a declaration of central's."""


def _document(central) -> dict:
    response = central.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_every_central_route_is_in_the_openapi_document(central):
    document = _document(central)
    assert document["openapi"].startswith("3.1")
    for rule in central.app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/sync/")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path}"


def test_every_declared_central_body_is_in_the_document_and_used_by_a_route(central):
    document = _document(central)
    paths = json.dumps(document["paths"])
    for model in (*schemas.REQUESTS, *replies.RESPONSES):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.pop("$defs", None)
        assert document["components"]["schemas"][model.__name__] == schema, model.__name__
        if model is not replies.Error:
            assert f'#/components/schemas/{model.__name__}"' in paths, f"no route uses {model.__name__}"
    requests = {m.__name__ for m in schemas.REQUESTS} | NOT_DECLARED_HERE
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body:  # every request body is a declared class, never a hand-written schema
                ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert ref in requests, f"{method} {path}"


def test_the_document_lists_no_hand_written_body(central):
    declared = {m.__name__ for m in (*schemas.REQUESTS, *replies.RESPONSES)}
    nested = {name for m in (*schemas.REQUESTS, *replies.RESPONSES)
              for name in m.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {})}
    assert set(_document(central)["components"]["schemas"]) == declared | nested | NOT_DECLARED_HERE


@pytest.mark.parametrize("model, body, paths", [
    (schemas.NewStore, {"code": 5, "nme": "x"}, ["code", "name", "nme"]),
    (schemas.NewEnrolment, {"store": "S001", "expires_in_hours": True}, ["expires_in_hours"]),
    (schemas.Resolution, {"resolution": "a\x00b"}, ["resolution"]),
    (schemas.PushRequest, {"entries": [], "more": 1}, ["more"]),
    (schemas.AuthorizeRequest, {"customer_id": "", "points": 0, "sale_id": "s" * 65}, ["customer_id", "points",
                                                                                       "sale_id"]),
])
def test_a_declaration_lists_every_problem_of_a_body(model, body, paths):
    with pytest.raises(BodyProblems) as caught:
        read(model, body)
    assert [problem["path"] for problem in caught.value.problems] == paths


def test_an_edge_of_a_later_release_may_tell_central_more_than_it_knows():
    body = {"customer_id": "c1", "points": 5, "sale_id": "s1", "reason": "a field of a later release"}
    assert read(schemas.AuthorizeRequest, body).points == 5
