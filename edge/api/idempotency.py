"""``Idempotency-Key`` for POSTs that create: a repeat returns the first response again.

The key is scoped to the till. The final check, the work and the stored response share one
write transaction, so two concurrent requests with one key cannot both apply. That
transaction is a group commit (``edge.db.grouped``): tills writing at the same moment share
one ``COMMIT``, each answered once it is on disk. A view that
must talk to the network first (sales ask central to authorize redemptions) calls
``replayed()`` before and ``run()`` after, so no lock is held across the network.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from typing import Any, Callable

from flask import Response, g, jsonify

from shared.times import format_time
from sync.web import IdempotencyKey, idempotency_key, replay

from ..db import grouped
from ..models import IdempotencyRecord


def _lookup(asked: IdempotencyKey) -> tuple[Response, int] | None:
    record = IdempotencyRecord.get_or_none((IdempotencyRecord.till == g.till.id)
                                           & (IdempotencyRecord.key == asked.key))
    if record is None:
        return None
    return replay(asked, record.request_hash, record.response, record.status), record.status


def replayed() -> tuple[Response, int] | None:
    """The stored response when this request repeats an earlier one (409 if it differs)."""
    asked = idempotency_key()
    return _lookup(asked) if asked else None


def run(work: Callable[[], tuple[dict[str, Any], int]]) -> tuple[Response, int]:
    """Do ``work`` and store its response under the request's key, in one transaction."""
    asked = idempotency_key()
    if asked is None:
        payload, status = grouped(work)
        return jsonify(payload), status

    def recorded() -> tuple[dict[str, Any], int] | tuple[Response, int]:
        earlier = _lookup(asked)
        if earlier is not None:
            return earlier
        payload, status = work()
        IdempotencyRecord.create(
            till=g.till.id,
            key=asked.key,
            request_hash=asked.fingerprint,
            status=status,
            response=json.dumps(payload),
            created_at=format_time(datetime.now(timezone.utc)),
        )
        return payload, status

    answer, status = grouped(recorded)
    return (answer, status) if isinstance(answer, Response) else (jsonify(answer), status)


def idempotent(view):
    """Wrap a view returning ``(payload, status)`` that needs no network before writing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return run(lambda: view(*args, **kwargs))

    return wrapper
