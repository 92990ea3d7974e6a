"""Head office's acts on customers, as this edge obeys them after a pull.

Central signs every act (``sync.acts``); the edge checks the signature with the central key
it received at enrolment before obeying, inside the pull's transaction:

- ``card.blocked``: a card reported lost. From then on the till gets ``409 card_blocked`` for
  it, whoever holds it here; the customer's new card comes in its ``customer.state``.
- ``customer.merged``: a duplicate absorbed into another customer. This edge's own sales and
  ledger movements of the absorbed customer move to the one kept (central did the same with
  everything it had seen), the absorbed row goes, and its id and card find the kept customer.

Balances and locked tiers need no act here: they arrive in ``customer.state``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.times import format_time
from sync.acts import verify_act

from . import walletledger
from .db import database
from .errors import ApiError
from .models import CentralBalance, Customer, MergedCustomer, RetiredCard

log = logging.getLogger("fidelis.edge.care")

BLOCKED, MERGED = "blocked", "merged"


def _checked(act: Any, central_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """The act if central signed it; None (logged, skipped) otherwise."""
    try:
        verify_act(central_key, act)
    except ValueError as exc:
        log.error("ignoring a head-office act: %s", exc)
        return None
    return act


def card_blocked(act: Any, central_key: Ed25519PublicKey, now: datetime) -> None:
    """Obey a ``card.blocked`` item: refuse the old card from now on."""
    if _checked(act, central_key) is None or not act["body"].get("blocked"):
        return
    RetiredCard.replace(card_number=act["body"]["blocked"], customer_id=act["customer_id"], status=BLOCKED,
                        at=format_time(now)).execute()


def customer_merged(act: Any, central_key: Ed25519PublicKey, now: datetime) -> None:
    """Obey a ``customer.merged`` item: the absorbed customer becomes the kept one here too."""
    if _checked(act, central_key) is None:
        return
    kept, absorbed, card = act["customer_id"], act["body"]["absorbed"], act["body"].get("absorbed_card")
    stamp = format_time(now)
    if Customer.get_or_none(Customer.id == kept) is not None:
        # Central's feed sends the kept customer's state first; without it there is nothing to move to.
        for table in ("sale", "pointmovement"):
            database.execute_sql(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (kept, absorbed))
        CentralBalance.delete().where(CentralBalance.customer == absorbed).execute()
        walletledger.merged(kept, absorbed)
        Customer.delete().where(Customer.id == absorbed).execute()
    MergedCustomer.update(kept_id=kept).where(MergedCustomer.kept_id == absorbed).execute()
    MergedCustomer.replace(id=absorbed, kept_id=kept, at=stamp).execute()
    RetiredCard.update(customer_id=kept).where(RetiredCard.customer_id == absorbed).execute()
    if card:
        RetiredCard.replace(card_number=card, customer_id=kept, status=MERGED, at=stamp).execute()


def link(provisional: str, customer_id: str, now: datetime) -> None:
    """Obey ``customer.linked``: this shop's provisional record of a card is the card's customer.

    Central sent the customer's ``customer.state`` first; the provisional record's sales and
    movements move to it, the record goes, and its id finds the customer from then on.
    """
    if provisional == customer_id or Customer.get_or_none(Customer.id == customer_id) is None:
        return
    found = Customer.get_or_none((Customer.id == provisional) & (Customer.provisional == True))  # noqa: E712
    if found is not None:
        for table in ("sale", "pointmovement"):
            database.execute_sql(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (customer_id, provisional))
        CentralBalance.delete().where(CentralBalance.customer == provisional).execute()
        Customer.delete().where(Customer.id == provisional).execute()
    MergedCustomer.replace(id=provisional, kept_id=customer_id, at=format_time(now)).execute()


def kept_for(customer_id: str) -> str | None:
    """The customer this id was merged into, if it was."""
    found = database.execute_sql("SELECT kept_id FROM mergedcustomer WHERE id = ?", (customer_id,)).fetchone()
    return found[0] if found else None


def retired_card(card: str) -> tuple[str, str] | None:
    """``(customer id, "blocked" | "merged")`` for a card central retired, else None."""
    found = database.execute_sql("SELECT customer_id, status FROM retiredcard WHERE card_number = ?",
                                 (card,)).fetchone()
    return (found[0], found[1]) if found else None


def refuse_blocked(card: str) -> str | None:
    """Raise ``409 card_blocked`` for a lost card; the kept customer's id for a merged one."""
    retired = retired_card(card)
    if retired is None:
        return None
    customer_id, status = retired
    if status == BLOCKED:
        raise ApiError(409, "card_blocked", f"card {card} was reported lost and is blocked; use the customer's "
                       "new card", {"card_number": card})
    return customer_id
