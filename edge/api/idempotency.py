"""``Idempotency-Key`` for POSTs that create: a repeat returns the first response again.

The key is scoped to the till. The check, the work and the stored response share one
write transaction, so two concurrent requests with one key cannot both apply.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime, timezone

from flask import g, jsonify, request

from shared.times import format_time

from ..db import write_transaction
from ..errors import ApiError
from ..models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def idempotent(view):
    """Wrap a view returning ``(payload, status)``."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            payload, status = view(*args, **kwargs)
            return jsonify(payload), status
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ApiError(400, "bad_idempotency_key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        fingerprint = hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()).hexdigest()
        with write_transaction():
            record = IdempotencyRecord.get_or_none(
                (IdempotencyRecord.till == g.till.id) & (IdempotencyRecord.key == key)
            )
            if record is not None:
                if record.request_hash != fingerprint:
                    raise ApiError(
                        409, "idempotency_conflict", "this Idempotency-Key was used with a different request"
                    )
                response = jsonify(json.loads(record.response))
                response.headers["Idempotent-Replayed"] = "true"
                return response, record.status
            payload, status = view(*args, **kwargs)
            IdempotencyRecord.create(
                till=g.till.id,
                key=key,
                request_hash=fingerprint,
                status=status,
                response=json.dumps(payload),
                created_at=format_time(datetime.now(timezone.utc)),
            )
        return jsonify(payload), status

    return wrapper
