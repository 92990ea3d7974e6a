"""Docs that stay honest: every command has help and is documented, every route is in OpenAPI."""

from __future__ import annotations

import argparse
import json
import re
import subprocess

import pytest

from conftest import BIN, ROOT, run_cli
from central.cli import _parser as central_parser
from edge.cli import _parser


def _commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    yield from _commands(sub, prefix + (name,))
                else:
                    yield prefix + (name,)


EDGE_COMMANDS = sorted(_commands(_parser()))
CENTRAL_COMMANDS = sorted(_commands(central_parser()))


@pytest.mark.parametrize("command", EDGE_COMMANDS, ids=" ".join)
def test_every_edge_command_has_help_with_an_example_and_is_in_the_readme(command):
    result = run_cli(*command, "--help")
    assert "Example: fidelis-edge" in result.stdout
    assert f"fidelis-edge {' '.join(command)}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("command", CENTRAL_COMMANDS, ids=" ".join)
def test_every_central_command_has_help_with_an_example_and_is_documented(command):
    result = subprocess.run([str(BIN / "fidelis-central"), *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Example: fidelis-central" in result.stdout
    documented = (ROOT / "README.md").read_text() + (ROOT / "docs" / "central.md").read_text()
    assert f"fidelis-central {' '.join(command)}" in documented


def test_every_route_is_in_the_openapi_document(app, till):
    document = till.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in document["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path}"


def test_every_declared_body_is_in_the_openapi_document_and_used_by_a_route(till):
    from edge import replies, schemas

    document = till.get("/api/v1/openapi.json").json
    text = json.dumps(document["paths"])
    for model in (*schemas.REQUESTS, *replies.RESPONSES):
        assert model.__name__ in document["components"]["schemas"], model.__name__
        if model is not replies.Error:
            assert f'#/components/schemas/{model.__name__}"' in text, f"no route uses {model.__name__}"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body:  # every request body is a declared class, never a hand-written schema
                ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert ref in {m.__name__ for m in schemas.REQUESTS}, f"{method} {path}"
