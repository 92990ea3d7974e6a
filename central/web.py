"""What central's blueprints share: the clock, central's key, query parameters and bodies.

Errors, bearer secrets, ``Idempotency-Key`` and strict JSON are the web layer both apps share
(``sync.web``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, request
from werkzeug.routing import BaseConverter

from sync.declared import Body
from sync.untrusted import MAX_INT64, BadCount, parse_count
from sync.web import json_body  # noqa: F401  (the sync API reads bodies through here)

from .errors import CentralError
from .schemas import read_body

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


def declared_body(model: type[B]) -> B:
    """The request's JSON body, parsed strictly (``sync.web``), read as ``model``; 422
    ``validation_error`` listing every problem."""
    return read_body(model, json_body())


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
