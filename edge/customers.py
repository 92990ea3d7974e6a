"""Customer registration and lookup on the edge.

A shop keeps the customers seen there; a card it does not know is asked of central
(``edge.reach``), and sold to provisionally when central cannot be reached.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from shared.times import format_time
from sync import bodies
from sync.bodies import text_problem

from . import care, reach, rulebook, vouchers
from .box import EdgeBox
from .db import write_transaction
from .errors import ApiError, not_found
from .models import Customer, fetch
from .schemas import Registration, normalize_phone
from .validation import read_body

CARD_PREFIX = "2"  # EAN-13 numbers starting with 2 are reserved for in-store use


def validate_registration(body: Any, now: datetime) -> dict[str, Any]:
    """Read a registration body; 422 ``validation_error`` listing every problem."""
    return read_body(Registration, body, {"today": now.date()}).model_dump()


def new_card_number() -> str:
    """A random 13-digit in-store EAN-13 number with a valid check digit."""
    body = CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(11))
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - weighted % 10) % 10)


def register(box: EdgeBox, fields: dict[str, Any], now: datetime) -> Customer:
    """Create a customer and log ``customer.registered``; 409 when card, email or phone is taken."""
    with write_transaction():
        card = fields.get("card_number")
        if card and (care.refuse_blocked(card) or Customer.get_or_none(Customer.card_number == card)):
            raise ApiError(409, "card_in_use", f"card {card} already belongs to a customer")
        for field in ("email", "phone"):
            value = fields.get(field)
            if value and Customer.get_or_none(getattr(Customer, field) == value):
                raise ApiError(409, f"{field}_in_use", f"this {field} already belongs to a customer")
        while not card or Customer.get_or_none(Customer.card_number == card) or care.retired_card(card):
            card = new_card_number()
        rules = rulebook.in_force(now)
        stamp = format_time(now)
        customer = Customer.create(
            id=str(uuid.uuid4()),
            card_number=card,
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            email=fields.get("email"),
            phone=fields.get("phone"),
            birth_date=fields.get("birth_date"),
            tier=rules.tiers[0].name if rules.tiers else None,
            qualifying_spend=0,
            created_at=stamp,
            updated_at=stamp,
        )
        box.changelog.write(bodies.Registration(
            customer_id=customer.id,
            card_number=customer.card_number,
            first_name=customer.first_name,
            last_name=customer.last_name,
            email=customer.email,
            phone=customer.phone,
            birth_date=customer.birth_date,
            tier=customer.tier,
            **_welcome(box, customer, rules, now),
        ))
    return customer


def _welcome(box: EdgeBox, customer: Customer, rules, now: datetime) -> dict[str, Any]:
    """The registration's welcome voucher, for its log entry (with the rules that gave it)."""
    issued = vouchers.welcome(customer.id, customer.email, rules, box.store_code, now)
    return {"vouchers_issued": tuple(issued), "rules_version": rules.version} if issued else {}


def get(customer_id: str, box: EdgeBox | None = None) -> Customer:
    """The customer with this id, or the one central merged it into; 404 otherwise.

    With ``box``, an id this shop does not know is asked of central (at most ~1 s).
    """
    customer = fetch(Customer, "id", customer_id)
    if customer is None:
        kept = care.kept_for(customer_id)
        customer = fetch(Customer, "id", kept) if kept else None
    if customer is None and box is not None and not text_problem(customer_id):
        try:
            found = reach.ask_central(box, customer_id=customer_id)
        except reach.Unreachable:
            found = None
        customer = fetch(Customer, "id", found) if found else None
    if customer is None:
        raise not_found("customer_not_found", f"no customer with id {customer_id}")
    return customer


def register_provisional(box: EdgeBox, card: str, now: datetime) -> Customer:
    """Record a card central could not be asked about, inside the sale's transaction.

    Logs ``customer.registered`` with ``provisional: true`` and no name: central links it to the
    customer holding the card (or makes it that card's customer) when the entry arrives.
    """
    stamp = format_time(now)
    customer = Customer.create(id=str(uuid.uuid4()), card_number=card, first_name="", last_name="", tier=None,
                               qualifying_spend=0, created_at=stamp, updated_at=stamp, provisional=True)
    box.changelog.write(bodies.Registration(customer.id, card, "", "", None, None, None, None, provisional=True))
    return customer


class CardUnknownOffline(ApiError):
    """A card neither this shop nor (unreachable) central could identify."""

    def __init__(self, card: str) -> None:
        super().__init__(404, "customer_not_found",
                         f"no customer with card {card} in this shop, and central cannot be reached to ask; "
                         "a sale with this card_number still earns points (provisionally)",
                         {"central_reachable": False})


def lookup(card: str | None = None, phone: str | None = None, email: str | None = None,
           box: EdgeBox | None = None) -> Customer:
    """Find a customer by exactly one of card number, phone or email.

    A card central blocked is ``409 card_blocked``; a merged customer's card finds the one kept.
    With ``box``, a card this shop does not know is asked of central (at most ~1 s); central
    unreachable, ``CardUnknownOffline`` (a 404).
    """
    given = [(name, value) for name, value in (("card", card), ("phone", phone), ("email", email)) if value]
    if len(given) != 1:
        raise ApiError(400, "bad_lookup", "give exactly one of card=, phone= or email=")
    name, value = given[0]
    problem = text_problem(value)
    if problem:
        raise ApiError(422, "validation_error", f"{name}: {problem}",
                       {"problems": [{"path": name, "message": problem}]})
    if name == "card":
        kept = care.refuse_blocked(value.strip())
        customer = fetch(Customer, "id", kept) if kept else fetch(Customer, "card_number", value.strip())
    elif name == "phone":
        customer = fetch(Customer, "phone", normalize_phone(value.strip()))
    else:
        customer = fetch(Customer, "email", value.strip().lower())
    if customer is None and name == "card" and box is not None:
        try:
            found = reach.ask_central(box, value.strip())
        except reach.Unreachable:
            raise CardUnknownOffline(value.strip()) from None
        customer = fetch(Customer, "id", found) if found else None
    if customer is None:
        raise not_found("customer_not_found", f"no customer with {name} {value}")
    return customer
