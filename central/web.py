"""What the blueprints share: the clock, central's key, JSON bodies and error responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, jsonify, request
from werkzeug.routing import BaseConverter

from sync.declared import Body, BodyProblems, read
from sync.untrusted import MAX_INT64, BadCount, MalformedJson, parse_count, parse_json

from .errors import CentralError

B = TypeVar("B", bound=Body)


@dataclass(frozen=True)
class CentralState:
    """Per-app state: central's signing key and its public half as handed to devices."""

    key: Ed25519PrivateKey
    public_key_b64: str


class CustomerIdConverter(BaseConverter):
    """A customer id in a path, never one of the words of the customer routes themselves:
    ``/customers/merge`` must answer only ``POST``, not also ``GET`` as a customer called "merge"."""

    regex = r"(?!(?:merge|search)\Z)[^/]+"


def state() -> CentralState:
    return current_app.extensions["fidelis_central"]


def clock() -> datetime:
    """Now, from the app's ``CLOCK`` (tests move time by replacing it)."""
    return current_app.config["CLOCK"]()


def json_body() -> Any:
    """The request's JSON body, parsed strictly; ``400 malformed_json`` when it is not one.

    Refused with the parser's reason: invalid JSON, duplicate keys, NaN/Infinity, lone
    surrogates, nesting deeper than ``sync.untrusted.MAX_DEPTH``. Floats are kept so that
    validation can name the field holding one.
    """
    raw = request.get_data(cache=True)
    if not raw:
        raise CentralError(400, "malformed_json", "the request body must be a JSON document")
    return read_json(raw, "the request body")


def declared_body(model: type[B]) -> B:
    """The request's JSON body read as ``model``; 422 ``validation_error`` listing every problem."""
    try:
        return read(model, json_body())
    except BodyProblems as exc:
        raise CentralError(422, "validation_error", str(exc), {"problems": exc.problems}) from None


def read_json(raw: bytes | str, what: str) -> Any:
    """Parse ``raw`` with the strict parser; ``400 malformed_json`` naming ``what`` otherwise."""
    try:
        return parse_json(raw)
    except MalformedJson as exc:
        raise CentralError(400, "malformed_json", f"{what} is not valid JSON: {exc}") from None


def int_arg(name: str, default: int, low: int = 0, high: int = MAX_INT64) -> int:
    """The query parameter ``name`` as an integer ``low``..``high`` (ASCII digits only).

    ``default`` when it is absent; ``400 bad_query`` naming the bounds when it is anything
    else (``²``, ``５``, ``-1``, ``1e3``, or past the 64-bit integers a database holds).
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return parse_count(raw, low=low, high=high)
    except BadCount as exc:
        raise CentralError(400, "bad_query", f"{name} {exc}", {"parameter": name}) from None


def int_path(value: str, *, code: str, what: str) -> int:
    """A numeric id from the path; ``404 code`` when it cannot name anything (``５``, ``2**64``)."""
    try:
        return parse_count(value, low=1)
    except BadCount:
        raise CentralError(404, code, f"no {what} with id {value[:40]!r}") from None


def error_response(error: CentralError):
    response = jsonify(error.body())
    response.status_code = error.status
    if error.status == 401 and request.blueprint == "api":
        response.headers["WWW-Authenticate"] = 'Bearer realm="fidelis-central"'
    return response
