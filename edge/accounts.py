"""Customer points on the edge: movements in, balances out (folded by ``shared.ledger``)."""

from __future__ import annotations

from datetime import datetime

from shared.ledger import Balance, Movement, balance
from shared.rules import RuleSet
from shared.times import parse_time

from .db import database
from .models import Customer


_MOVEMENTS_SQL = (
    "SELECT kind, points, at, id, available_at, expires_at, lot FROM pointmovement"
    " WHERE customer_id = ? ORDER BY at"
)


def movements(customer_id: str) -> list[Movement]:
    """The customer's ledger, oldest first (raw SQL: this runs on every sale)."""
    rows = database.execute_sql(_MOVEMENTS_SQL, (customer_id,)).fetchall()
    return [
        Movement(
            kind=kind,
            points=points,
            at=parse_time(at),
            ref=ref,
            available_at=parse_time(available) if available else None,
            expires_at=parse_time(expires) if expires else None,
            lot=lot,
        )
        for kind, points, at, ref, available, expires, lot in rows
    ]


def points_of(customer: Customer, now: datetime) -> Balance:
    return balance(movements(customer.id), now)


def offline_spendable(points: Balance, rules: RuleSet) -> int:
    """What this edge lets the customer spend without asking central (DESIGN.md §5).

    A standalone edge knows only its own movements, so that is its balance, capped by
    ``redeem.offline_cap`` because the customer may have spent elsewhere meanwhile.
    """
    return max(0, min(points.available, rules.offline_cap))


def customer_view(customer: Customer, rules: RuleSet, now: datetime, points: Balance | None = None) -> dict:
    """The contract's customer object (``points`` when the caller has just folded them)."""
    points = points if points is not None else points_of(customer, now)
    return {
        "id": customer.id,
        "card_number": customer.card_number,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "birth_date": customer.birth_date,
        "tier": customer.tier,
        "points": {
            "available": points.available,
            "pending": points.pending,
            "offline_spendable": offline_spendable(points, rules),
        },
        "balance_negative": points.negative,
        "alerts": [],
    }
