"""The pull feed: one ordered stream per store (brand-wide items plus the store's own).

Rule versions and customer states are brand-wide (every store reads them, so a customer
registered in one shop is known in all), and so are head office's signed acts edges must obey
(``card.blocked``, ``customer.merged``: ``central.care``); a revocation goes to the device's store.

Items are ``{"cursor", "kind", "body"}``; an edge reads with an exclusive ``since=`` cursor
(docs/sync-protocol.md "Pull"). Appends happen inside the writer's transaction and take
``db.lock_feed`` first, so cursors become visible in the order they were handed out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from shared.ledger import Holdings
from shared.times import format_time

from . import db

RULES_VERSION = "rules.version"
CUSTOMER_STATE = "customer.state"
DEVICE_REVOKED = "device.revoked"
CARD_BLOCKED = "card.blocked"
CUSTOMER_MERGED = "customer.merged"

FeedItem = tuple[str | None, str, Mapping[str, Any]]
"""``(store code or None for every store, kind, body)``."""


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text for storage (one shared encoder: ``json.dumps`` builds one per call)."""
    return _encoder.encode(value)


def rows(items: Iterable[FeedItem], now: datetime) -> list[tuple]:
    """Feed items as rows for ``append_rows`` (built early; only the append needs the lock)."""
    stamp = format_time(now)
    return [(store, kind, dumps(body), stamp) for store, kind, body in items]


def append_rows(rows_: list[tuple]) -> None:
    """Add rows made by ``rows``; call last in the transaction that made the change they report."""
    if rows_:
        db.lock_feed()
        db.insert_rows("feeditem", ("store_code", "kind", "body", "created_at"), rows_)


def append(items: Iterable[FeedItem], now: datetime) -> None:
    """Add items to the feed; call inside the transaction that made the change they report."""
    append_rows(rows(items, now))


def read(store_code: str, since: int, limit: int) -> dict[str, Any]:
    """Items after ``since`` for one store, oldest first: ``{"items", "cursor", "more"}``."""
    found = db.rows(
        "SELECT cursor, kind, body FROM feeditem WHERE cursor > ? AND (store_code = ? OR store_code IS NULL) "
        "ORDER BY cursor LIMIT ?",
        (since, store_code, limit + 1),
    )
    more = len(found) > limit
    found = found[:limit]
    items = [{"cursor": cursor, "kind": kind, "body": json.loads(body)} for cursor, kind, body in found]
    return {"items": items, "cursor": items[-1]["cursor"] if items else since, "more": more}


CUSTOMER_FIELDS = ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier")


def customer_state(customer: Sequence[Any], held: Holdings, now: datetime, negative: bool, qualifying_spend: int,
                   applied: Mapping[str, int], tier_locked: bool = False,
                   wallet: Mapping[str, Any] | None = None, registered_at: str | None = None) -> dict[str, Any]:
    """The ``customer.state`` body; ``customer`` holds the values of ``CUSTOMER_FIELDS`` in order.

    ``lots`` and ``debt`` are the customer's holdings at ``now``: an edge folds them at its own
    clock, so pending points mature and points expire there even while central is silent.
    ``points`` is the same at ``now``, for display. ``qualifying_spend`` is what decided
    ``customer.tier`` (lifetime total; see ``shared.tiers``), unless head office locked the
    tier (``tier_locked``): then it is head office's and no one else's to change. ``wallet``
    (``{"balance", "pockets"}``, ``central.wallet.state``) is the brand-wide wallet.
    ``registered_at`` is when the customer joined, which the rules' enrolment window judges.
    """
    points = held.balance(now)
    return {
        "customer": dict(zip(CUSTOMER_FIELDS, customer)),
        "points": {"available": points.available, "pending": points.pending},
        "lots": [{"ref": lot.ref, "points": lot.points, "available_at": format_time(lot.available_at),
                  "expires_at": format_time(lot.expires_at) if lot.expires_at else None} for lot in held.lots],
        "debt": held.debt,
        "qualifying_spend": qualifying_spend,
        "balance_negative": negative,
        "applied": dict(applied),
        "tier_locked": tier_locked,
        **({"wallet": dict(wallet)} if wallet is not None else {}),
        **({"registered_at": registered_at} if registered_at else {}),
    }
