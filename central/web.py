"""What the blueprints share: the clock, central's key, JSON bodies and error responses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, jsonify, request

from .errors import CentralError


@dataclass(frozen=True)
class CentralState:
    """Per-app state: central's signing key and its public half as handed to devices."""

    key: Ed25519PrivateKey
    public_key_b64: str


def state() -> CentralState:
    return current_app.extensions["fidelis_central"]


def clock() -> datetime:
    """Now, from the app's ``CLOCK`` (tests move time by replacing it)."""
    return current_app.config["CLOCK"]()


def json_body() -> Any:
    """The request's JSON body; ``400 malformed_json`` when it is not JSON at all."""
    raw = request.get_data(cache=True)
    if not raw:
        raise CentralError(400, "malformed_json", "the request body must be a JSON document")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CentralError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None


def error_response(error: CentralError):
    response = jsonify(error.body())
    response.status_code = error.status
    if error.status == 401 and request.blueprint == "api":
        response.headers["WWW-Authenticate"] = 'Bearer realm="fidelis-central"'
    return response
