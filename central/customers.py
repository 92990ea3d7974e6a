"""Central's view of a customer: details, tier and the brand-wide balance.

A customer merged into another answers as the one kept, by id and by its old card; a card
reported lost is ``409 card_blocked``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from shared.expiry import expiring
from shared.summary import Summary
from shared.times import format_time
from sync.bodies import usable_key

from . import db, holds, ledger, wallet
from .errors import CentralError, conflict, not_found

_COLUMNS = ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier",
            "tier_locked", "balance_negative", "created_at", "updated_at")


class _Found(NamedTuple):
    """A customer row's details, and the summary of its points kept beside them (``central.ledger``)."""

    customer: dict[str, Any]
    summary: Summary


def _find(where: str, value: str) -> _Found | None:
    found = db.rows(f"SELECT {', '.join(_COLUMNS)}, {', '.join(ledger.SUMMARY_COLUMNS)}, merged_into "
                    f"FROM customer WHERE {where} = ?", (value,))
    if not found:
        return None
    *values, merged_into = found[0]
    if merged_into is not None:
        return _find("id", merged_into)
    return _Found(dict(zip(_COLUMNS, values)), Summary(*values[len(_COLUMNS):]))


def view(found: _Found, now: datetime) -> dict[str, Any]:
    """The customer with brand-wide ``points: {available, pending}`` (and ``held`` by authorizations)
    , ``wallet: {balance, pockets, held}`` and ``expiring``: the points due to lapse within 90 days.

    Read in four statements: the customer row with its summary (``_find``), its movements when
    the summary's short cut does not hold, both kinds of hold at once, the wallet's pockets."""
    customer = found.customer
    held = ledger.resolve({customer["id"]: found.summary}, now)[customer["id"]]  # folded once, for both below
    points = held.balance(now)
    points_held, wallet_held = holds.held_of_kinds((holds.POINTS, holds.WALLET), customer["id"], now)
    return {**customer, "balance_negative": bool(customer["balance_negative"]),
            "tier_locked": bool(customer["tier_locked"]),
            "points": {"available": points.available, "pending": points.pending},
            "held": points_held,
            "wallet": {**wallet.customer_pockets(customer["id"]), "held": wallet_held},
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
