"""``Idempotency-Key`` for POSTs that create: a repeat returns the first response again.

The key is scoped to the till. The final check, the work and the stored response share one
write transaction, so two concurrent requests with one key cannot both apply. A view that
must talk to the network first (sales ask central to authorize redemptions) calls
``replayed()`` before and ``run()`` after, so no lock is held across the network.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Callable

from flask import Response, g, jsonify, request

from shared.times import format_time

from ..db import write_transaction
from ..errors import ApiError
from ..models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def _key_and_fingerprint() -> tuple[str, str] | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(400, "bad_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    digest = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data())
    return key, digest.hexdigest()


def _lookup(key: str, fingerprint: str) -> tuple[Response, int] | None:
    record = IdempotencyRecord.get_or_none((IdempotencyRecord.till == g.till.id) & (IdempotencyRecord.key == key))
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise ApiError(409, "idempotency_conflict", "this Idempotency-Key was used with a different request")
    response = jsonify(json.loads(record.response))
    response.headers["Idempotent-Replayed"] = "true"
    return response, record.status


def replayed() -> tuple[Response, int] | None:
    """The stored response when this request repeats an earlier one (409 if it differs)."""
    found = _key_and_fingerprint()
    return _lookup(*found) if found else None


def run(work: Callable[[], tuple[dict[str, Any], int]]) -> tuple[Response, int]:
    """Do ``work`` and store its response under the request's key, in one transaction."""
    found = _key_and_fingerprint()
    if found is None:
        payload, status = work()
        return jsonify(payload), status
    key, fingerprint = found
    with write_transaction():
        earlier = _lookup(key, fingerprint)
        if earlier is not None:
            return earlier
        payload, status = work()
        IdempotencyRecord.create(
            till=g.till.id,
            key=key,
            request_hash=fingerprint,
            status=status,
            response=json.dumps(payload),
            created_at=format_time(datetime.now(timezone.utc)),
        )
    return jsonify(payload), status


def idempotent(view):
    """Wrap a view returning ``(payload, status)`` that needs no network before writing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return run(lambda: view(*args, **kwargs))

    return wrapper
