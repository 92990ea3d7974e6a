"""Holds at central: what an online edge is promised before it writes a sale that spends.

Points (``hold``, ``central.ledger``) and wallet money (``wallethold``, ``central.wallet``)
are held the same way: the customer (the one kept, after a merge) is locked, a hold replaces
the sale's earlier one, the brand-wide balance less the customer's other open holds must
cover it, and the whole is rerun on a serialization failure (``db.retrying``). A hold is
settled by its sale's entry, given back by its own device, or lapses after
``settings.HOLD_TTL``. Each kind keeps its own table, refusal code and wording.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.times import format_time

from . import db, settings
from .errors import CentralError, conflict, not_found


@dataclass(frozen=True)
class HoldKind:
    """One kind of hold: where it is kept and how its answers read."""

    table: str  # "hold" or "wallethold"
    column: str  # what it holds: "points" or "amount"
    name: str  # in messages: "hold" or "wallet hold"
    refusal: str  # the 422 code when the balance is short
    shortfall: str  # its message, from ``wanted`` and ``available`` (never below 0)


POINTS = HoldKind("hold", "points", "hold", "insufficient_points", "{wanted} points requested, {available} available")
WALLET = HoldKind("wallethold", "amount", "wallet hold", "insufficient_wallet", "{wanted} requested, {available} in "
                  "the wallet")


_OPEN = "customer_id = ? AND settled_at IS NULL AND expires_at > ?"
"""A customer's holds that still reserve something at a moment: neither settled nor lapsed."""


def held(kind: HoldKind, customer_id: str, now: datetime, except_sale: str | None = None) -> int:
    """What the customer's open, unexpired holds of this kind reserve (``except_sale``'s aside)."""
    found = db.rows(f"SELECT COALESCE(SUM({kind.column}), 0) FROM {kind.table} WHERE {_OPEN} AND sale_id <> ?",
                    (customer_id, format_time(now), except_sale or ""))
    return int(found[0][0])


def held_of_kinds(kinds: tuple[HoldKind, ...], customer_id: str, now: datetime) -> tuple[int, ...]:
    """``held`` of each kind, in one statement (a customer's view reads them all)."""
    found = db.rows("SELECT " + ", ".join(f"(SELECT COALESCE(SUM({kind.column}), 0) FROM {kind.table} WHERE {_OPEN})"
                                         for kind in kinds), (customer_id, format_time(now)) * len(kinds))
    return tuple(int(value) for value in found[0])


def take(kind: HoldKind, device_id: str, customer_id: str, sale_id: str, wanted: int, now: datetime,
         balance: Callable[[str], int]) -> dict[str, Any]:
    """Hold ``wanted`` of the customer for ``sale_id`` if ``balance`` (the customer's brand-wide
    balance, before holds) less the other open holds allows it: the authorization's answer.

    Asking again for the same sale replaces its hold. 404 ``customer_not_found``, 409
    ``sale_already_recorded`` or ``hold_settled``, 422 ``kind.refusal`` with ``available``.
    """
    stamp = format_time(now)

    def hold() -> tuple[str, int, str]:
        """The hold, in one transaction (rerun whole on a serialization failure)."""
        found = db.rows("SELECT merged_into FROM customer WHERE id = ?", (customer_id,))
        # Merged by head office: the edge has not heard yet.
        cid = found[0][0] if found and found[0][0] is not None else customer_id
        if not db.rows(f"SELECT id FROM customer WHERE id = ?{db.for_update()}", (cid,)):
            raise not_found("customer_not_found", f"central has no customer with id {cid}")
        if db.rows("SELECT 1 FROM sale WHERE id = ?", (sale_id,)):
            raise conflict("sale_already_recorded", f"sale {sale_id} is already recorded; nothing to authorize")
        existing = db.rows(f"SELECT id, settled_at FROM {kind.table} WHERE sale_id = ?", (sale_id,))
        if existing and existing[0][1] is not None:
            raise conflict("hold_settled", f"the {kind.name} for sale {sale_id} is already settled")
        available = balance(cid) - held(kind, cid, now, except_sale=sale_id)
        if wanted > available:
            raise CentralError(422, kind.refusal, kind.shortfall.format(wanted=wanted, available=max(available, 0)),
                               {"available": available})
        hold_id = existing[0][0] if existing else str(uuid.uuid4())
        expires_at = format_time(now + settings.HOLD_TTL)
        if existing:
            db.execute(f"UPDATE {kind.table} SET customer_id = ?, device_id = ?, {kind.column} = ?, created_at = ?, "
                       "expires_at = ? WHERE id = ?", (cid, device_id, wanted, stamp, expires_at, hold_id))
        else:
            db.insert_rows(kind.table, ("id", "customer_id", "sale_id", "device_id", kind.column, "created_at",
                                        "expires_at"),
                           [(hold_id, cid, sale_id, device_id, wanted, stamp, expires_at)])
        return hold_id, available, expires_at

    hold_id, available, expires_at = db.retrying(hold)
    return {"authorized": True, "hold_id": hold_id, "available": available - wanted, "expires_at": expires_at}


def give_back(kind: HoldKind, device_id: str, sale_id: str) -> dict[str, Any]:
    """Delete the hold of a sale its device did not record: ``{"sale_id", "released"}``.

    Idempotent: a hold already released (or never made, or lapsed and swept) answers
    ``released: false``. Another device's hold is 403 ``hold_not_yours``; a settled one stays
    (its sale is recorded): 409 ``hold_settled``.
    """

    def delete() -> bool:
        """Delete the hold, in one transaction (rerun whole on a serialization failure)."""
        found = db.rows(f"SELECT id, device_id, settled_at FROM {kind.table} WHERE sale_id = ?{db.for_update()}",
                        (sale_id,))
        if not found:
            return False
        hold_id, holder, settled_at = found[0]
        if holder != device_id:
            raise CentralError(403, "hold_not_yours", f"the {kind.name} for sale {sale_id} was made by another device")
        if settled_at is not None:
            raise conflict("hold_settled", f"the {kind.name} for sale {sale_id} is already settled by its sale")
        db.execute(f"DELETE FROM {kind.table} WHERE id = ?", (hold_id,))
        return True

    return {"sale_id": sale_id, "released": db.retrying(delete)}
