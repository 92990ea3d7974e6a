"""A customer's activity in one feed, newest first: enrolment, earns, spends, returns,
corrections, tier changes, card changes and merges, each with the shop and sale behind it.

The feed is read from what central already keeps, nothing is copied: the customer's ledger
movements (their key leads with the customer), head office's signed acts (``careact``, by
customer and time) and the customer rows themselves (the enrolment, and that of every
duplicate merged into this one). A page of it costs one query plus one per kind of detail.
"""

from __future__ import annotations

import json
from typing import Any

from . import db

KINDS = {"earn": "earn", "redeem": "spend", "reverse": "return", "adjust": "adjustment",
         "tier": "tier", "card": "card", "merge": "merge", "enrolment": "enrolment"}
"""What each stored kind is called in the feed."""

_FEED = (
    "SELECT at, kind, points, sale_id, device_id, ref FROM ("
    " SELECT m.at AS at, m.kind AS kind, m.points AS points, m.sale_id AS sale_id, m.device_id AS device_id,"
    " m.id AS ref FROM movement m WHERE m.customer_id = ?"
    " UNION ALL SELECT a.at, a.kind, NULL, NULL, NULL, a.id FROM careact a"
    " WHERE a.customer_id = ? AND a.kind <> 'adjustment'"
    " UNION ALL SELECT c.created_at, 'enrolment', NULL, NULL, c.device_id, c.id FROM customer c"
    " WHERE c.id = ? OR c.merged_into = ?"
    ") activity"
)


def _lookup(query: str, keys: set) -> dict:
    """``{key: rest of row}`` for ``query`` (``{marks}`` for the keys) over ``keys``."""
    if not keys:
        return {}
    ordered = sorted(keys)
    return {key: rest for key, *rest in db.rows(query.format(marks=db.marks(len(ordered))), ordered)}


def count(customer_id: str) -> int:
    """How many lines the customer's activity has."""
    return db.rows(f"SELECT COUNT(*) FROM ({_FEED}) counted", (customer_id,) * 4)[0][0]


def feed(customer_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of the customer's activity: ``{"items", "total", "limit", "offset"}``.

    Each item: ``at``, ``kind`` (``KINDS``' values), ``points`` (signed, or null), ``store``
    and ``device_id`` (where it happened; null for head office's acts), ``sale_id`` and
    ``sale_total`` (the sale behind an earn, spend or return) and ``details`` (an
    adjustment's reason, the tier or card set, the customer absorbed by a merge, …).
    """
    total = count(customer_id)
    found = db.rows(f"{_FEED} ORDER BY at DESC, ref LIMIT ? OFFSET ?", (*(customer_id,) * 4, limit, offset))
    stores = _lookup("SELECT id, store_code FROM device WHERE id IN ({marks})",
                     {device for *_, device, _ in found if device})
    sales = _lookup("SELECT id, total FROM sale WHERE id IN ({marks})", {sale for *_, sale, _, _ in found if sale})
    act_refs = {ref for _, kind, _, _, _, ref in found if kind in ("adjust", "tier", "card", "merge")}
    acts = _lookup("SELECT id, body, actor FROM careact WHERE id IN ({marks})", act_refs)
    names = _lookup("SELECT id, first_name, last_name, card_number FROM customer WHERE id IN ({marks})",
                    {ref for _, kind, _, _, _, ref in found if kind == "enrolment" and ref != customer_id})
    items = []
    for at, kind, points, sale_id, device_id, ref in found:
        details: dict[str, Any] = {}
        if ref in acts:
            body, actor = acts[ref]
            details = {**json.loads(body), "actor": actor}
        elif kind == "enrolment" and ref in names:
            first, last, card = names[ref]
            details = {"merged_customer": ref, "name": f"{first} {last}", "card_number": card}
        items.append({
            "at": at, "kind": KINDS.get(kind, kind), "points": points,
            "store": stores.get(device_id, [None])[0] if device_id else None, "device_id": device_id,
            "sale_id": sale_id, "sale_total": sales[sale_id][0] if sale_id in sales else None, "details": details,
        })
    return {"items": items, "total": total, "limit": limit, "offset": offset}
