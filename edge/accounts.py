"""Customer points on the edge: movements in, balances out (folded by ``shared.ledger``)."""

from __future__ import annotations

from datetime import datetime

from shared.ledger import Balance, Movement, balance
from shared.rules import RuleSet
from shared.times import parse_time

from .models import Customer, PointMovement


def movements(customer: Customer) -> list[Movement]:
    rows = PointMovement.select().where(PointMovement.customer == customer).order_by(PointMovement.at)
    return [
        Movement(
            kind=row.kind,
            points=row.points,
            at=parse_time(row.at),
            ref=row.id,
            available_at=parse_time(row.available_at) if row.available_at else None,
            expires_at=parse_time(row.expires_at) if row.expires_at else None,
            lot=row.lot,
        )
        for row in rows
    ]


def points_of(customer: Customer, now: datetime) -> Balance:
    return balance(movements(customer), now)


def offline_spendable(points: Balance, rules: RuleSet) -> int:
    """What this edge lets the customer spend without asking central (DESIGN.md §5).

    A standalone edge knows only its own movements, so that is its balance, capped by
    ``redeem.offline_cap`` because the customer may have spent elsewhere meanwhile.
    """
    return max(0, min(points.available, rules.offline_cap))


def customer_view(customer: Customer, rules: RuleSet, now: datetime) -> dict:
    """The contract's customer object."""
    points = points_of(customer, now)
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
