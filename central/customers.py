"""Central's view of a customer: details, tier and the brand-wide balance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.bodies import usable_key

from . import db, ledger
from .errors import CentralError, not_found

_COLUMNS = ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier",
            "balance_negative", "created_at", "updated_at")


def _find(where: str, value: str) -> dict[str, Any] | None:
    found = db.rows(f"SELECT {', '.join(_COLUMNS)} FROM customer WHERE {where} = ?", (value,))
    return dict(zip(_COLUMNS, found[0])) if found else None


def view(customer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The customer with brand-wide ``points: {available, pending}`` (and ``held`` by authorizations)."""
    points = ledger.customer_points(customer["id"], now)
    return {**customer, "balance_negative": bool(customer["balance_negative"]),
            "points": {"available": points["available"], "pending": points["pending"]}, "held": points["held"]}


def get(customer_id: str, now: datetime) -> dict[str, Any]:
    customer = _find("id", customer_id) if usable_key(customer_id) else None
    if customer is None:
        raise not_found("customer_not_found", f"no customer with id {customer_id}")
    return view(customer, now)


def by_card(card: str | None, now: datetime) -> dict[str, Any]:
    if not usable_key(card):
        raise CentralError(400, "bad_query", "give the card number: GET /api/v1/customers?card=…")
    customer = _find("card_number", card.strip())
    if customer is None:
        raise not_found("customer_not_found", f"no customer with card {card}")
    return view(customer, now)
