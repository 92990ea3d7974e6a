"""The web layer edge and central share, installed on each app with ``init_app``.

- Errors: every ``Refusal`` (``sync.refusal``), every HTTP error of the framework (404, 405,
  413 …) and anything unexpected is answered in the contract's shape
  ``{"error": {"code", "message", "details"}}``; a 401 names its Bearer realm.
- Bodies: strict JSON (``sync.untrusted``: no duplicate keys, NaN, Infinity, lone surrogates
  or runaway nesting; ``400 malformed_json``), then the body's declaration
  (``sync.declared``; ``422 validation_error`` listing every problem).
- Bearer secrets: ``Authorization: Bearer <secret>``, checked by the app's own function.
- ``Idempotency-Key``: its bounds (``400 bad_idempotency_key``), the request's fingerprint and
  the replay of a stored answer (``409 idempotency_conflict`` for another request). Where the
  answers are stored stays with each app, inside its own write transaction.

Edge and central never import each other; both import this.
"""

from __future__ import annotations

import gc
import hashlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, TypeVar

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .declared import checked
from .refusal import Refusal, parse_body

__all__ = ["Refusal", "IdempotencyKey", "init_app", "error_response", "json_body", "parse_body",
           "declared_body", "bearer_secret", "require_bearer", "idempotency_key", "replay", "unexpected"]

B = TypeVar("B")
T = TypeVar("T")
MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True)
class WebSettings:
    """How one app answers: its name, its realm for 401s and where that applies, its log, an HTML hook."""

    name: str
    realm: str
    challenged: Callable[[], bool]
    log: logging.Logger
    page: Callable[[HTTPException], Any] | None


def settle_heap() -> None:
    """Call once the server is built, before it serves: what start-up made (modules, the app,
    its caches) moves out of the garbage collector's sight (``gc.freeze``). A full collection
    then walks only what requests left behind: before, one walked every start-up object too and
    paused a request for 10-15 ms now and then (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def init_app(app: Flask, *, name: str, realm: str, log: logging.Logger,
             challenged: Callable[[], bool] = lambda: True, page: Callable[[HTTPException], Any] | None = None) -> None:
    """Answer ``app``'s refusals and errors in the contract's shape.

    ``name`` is what an unexpected error's answer calls the app's log; ``realm`` names the Bearer realm of a 401 where ``challenged()`` says so (central's sync
    API signs requests instead); ``page`` may answer an HTTP error as a web page instead
    (it returns None for the JSON APIs).
    """
    settings = app.extensions["fidelis_web"] = WebSettings(name, realm, challenged, log, page)

    @app.errorhandler(Refusal)
    def _refusal(error: Refusal):
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if settings.page is not None:
            shown = settings.page(error)
            if shown is not None:
                return shown
        code = (error.name or "error").lower().replace(" ", "_")
        response = _answer(error.code or 500, code, error.description or "")
        # werkzeug's own headers belong to the answer: a 405 must say what is Allowed.
        for header, value in error.get_headers():
            if header.lower() != "content-type":
                response.headers[header] = value
        return response

    app.register_error_handler(Exception, unexpected)


def unexpected(error: Exception) -> Response:
    """``500 internal_error`` for what nobody foresaw; the traceback goes to the app's log only."""
    settings: WebSettings = current_app.extensions["fidelis_web"]
    settings.log.exception("unexpected error", exc_info=error)
    return _answer(500, "internal_error", f"unexpected error; see the {settings.name} log")


def _answer(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def error_response(error: Refusal) -> Response:
    """``error`` as the contract's JSON answer; a 401 says how to authenticate."""
    response = jsonify(error.body())
    response.status_code = error.status
    settings: WebSettings | None = current_app.extensions.get("fidelis_web")
    if error.status == 401 and settings is not None and settings.challenged():
        response.headers["WWW-Authenticate"] = f'Bearer realm="{settings.realm}"'
    return response


# --- bodies -----------------------------------------------------------------------------------


def json_body() -> Any:
    """The request's JSON body, parsed strictly (floats are kept so validation can name them)."""
    return parse_body(request.get_data(cache=True))


def declared_body(model: type[B], context: dict[str, Any] | None = None) -> B:
    """The request's JSON body read as its declared ``model`` (``json_body``, then
    ``sync.declared.checked``)."""
    return checked(model, json_body(), context)


# --- bearer secrets ---------------------------------------------------------------------------


def bearer_secret() -> str | None:
    """The secret of ``Authorization: Bearer <secret>``; None when there is none."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def require_bearer(authenticate: Callable[[str], T | None], message: str) -> T:
    """Whom the request's bearer secret names (``authenticate``); ``401 unauthorized`` otherwise."""
    secret = bearer_secret()
    found = authenticate(secret) if secret is not None else None
    if found is None:
        raise Refusal(401, "unauthorized", message)
    return found


# --- Idempotency-Key --------------------------------------------------------------------------


class IdempotencyKey(NamedTuple):
    """A request's ``Idempotency-Key`` and the fingerprint of what it asked."""

    key: str
    fingerprint: str


def idempotency_key() -> IdempotencyKey | None:
    """The request's key (1-200 characters; ``400 bad_idempotency_key`` otherwise), None without one.

    The fingerprint covers the method, the path and the body: the same key with another
    request is a conflict, not a replay.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise Refusal(400, "bad_idempotency_key", f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n"
                            + request.get_data(cache=True))
    return IdempotencyKey(key, digest.hexdigest())


def replay(asked: IdempotencyKey, fingerprint: str, response: str, status: int) -> Response:
    """The stored answer to a repeated request (marked ``Idempotent-Replayed``); ``409
    idempotency_conflict`` when the key was first used with ``fingerprint``, another request."""
    if asked.fingerprint != fingerprint:
        raise Refusal(409, "idempotency_conflict", "this Idempotency-Key was used with a different request")
    answer = Response(response, status=status, mimetype="application/json")
    answer.headers["Idempotent-Replayed"] = "true"
    return answer
