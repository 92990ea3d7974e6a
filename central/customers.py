"""Central's view of a customer: details, tier and the brand-wide balance.

A customer merged into another answers as the one kept, by id and by its old card; a card
reported lost is ``409 card_blocked``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.expiry import expiring
from shared.times import format_time
from sync.bodies import usable_key

from . import db, ledger, wallet
from .errors import CentralError, conflict, not_found

_COLUMNS = ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier",
            "tier_locked", "balance_negative", "created_at", "updated_at")


def _find(where: str, value: str) -> dict[str, Any] | None:
    found = db.rows(f"SELECT {', '.join(_COLUMNS)}, merged_into FROM customer WHERE {where} = ?", (value,))
    if not found:
        return None
    *values, merged_into = found[0]
    if merged_into is not None:
        return _find("id", merged_into)
    return dict(zip(_COLUMNS, values))


def view(customer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The customer with brand-wide ``points: {available, pending}`` (and ``held`` by authorizations)
    , ``wallet: {balance, pockets, held}`` and ``expiring``: the points due to lapse within 90 days."""
    held = ledger.customer_holdings([customer["id"]], now)[customer["id"]]  # folded once, for both below
    points = held.balance(now)
    return {**customer, "balance_negative": bool(customer["balance_negative"]),
            "tier_locked": bool(customer["tier_locked"]),
            "points": {"available": points.available, "pending": points.pending},
            "held": ledger.held(customer["id"], now),
            "wallet": wallet.customer_wallet(customer["id"], now),
            "expiring": [{"points": item["points"], "at": format_time(item["at"])} for item in expiring(held, now)]}


def get(customer_id: str, now: datetime) -> dict[str, Any]:
    """The customer with this id (the one kept when it was merged); 404 ``customer_not_found``."""
    customer = _find("id", customer_id) if usable_key(customer_id) else None
    if customer is None:
        raise not_found("customer_not_found", f"no customer with id {customer_id}")
    return view(customer, now)


def by_card(card: str | None, now: datetime) -> dict[str, Any]:
    """The customer holding ``card``, or kept after a merge; 409 ``card_blocked`` for a lost card."""
    if not usable_key(card):
        raise CentralError(400, "bad_query", "give the card number: GET /api/v1/customers?card=…")
    card = card.strip()
    customer = _find("card_number", card)
    if customer is None:
        retired = db.rows("SELECT customer_id, status FROM retiredcard WHERE card_number = ?", (card,))
        if retired and retired[0][1] == "blocked":
            raise conflict("card_blocked", f"card {card} was reported lost and is blocked", card_number=card)
        customer = _find("id", retired[0][0]) if retired else None
    if customer is None:
        raise not_found("customer_not_found", f"no customer with card {card}")
    return view(customer, now)
