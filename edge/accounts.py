"""Customer points on the edge: central's last word plus this edge's own movements since.

Central sends each customer's brand-wide holdings — open lots with the dates they mature and
expire, and any debt — together with the last entry of this device it had applied for them
(``CentralBalance.applied_seq``). The edge folds those holdings with its own movements from
later entries at its own clock, so pending points become spendable and points expire on
their dates even while central is unreachable. A standalone edge has no central holdings,
so every local movement counts.
"""

from __future__ import annotations

import json
from datetime import datetime

from shared.accounts import Account, offline_spendable
from shared.expiry import expiring
from shared.ledger import EPOCH, Holdings, Lot, Movement, holdings
from shared.rules import RuleSet
from shared.times import format_time, parse_time

from . import checkpoints, walletledger
from .db import database
from .models import Customer

_MOVEMENTS_SQL = (
    "SELECT kind, points, at, id, available_at, expires_at, lot FROM pointmovement"
    " WHERE customer_id = ? AND (log_seq IS NULL OR log_seq > ?) ORDER BY at"
)


_SINCE_SQL = (
    "SELECT kind, points, at, id, available_at, expires_at, lot FROM pointmovement"
    " WHERE customer_id = ? AND log_seq > ? ORDER BY at"
)


def account(customer_id: str) -> Account:
    """Load the customer's account: from their checkpoint when they have one (plain SQL: this
    runs on every sale)."""
    found = checkpoints.load(customer_id)
    if found is None:
        return whole_account(customer_id)
    since, seq, flagged = found
    local = _movements(database.execute_sql(_SINCE_SQL, (customer_id, seq)).fetchall())
    starts = checkpoints.lot_starts({m.lot for m in local if m.lot})
    return Account(None, local, flagged, since=since, starts=starts, refold=lambda: whole_account(customer_id))


def whole_account(customer_id: str) -> Account:
    """Load the customer's account from central's last word and every movement since."""
    row = database.execute_sql(
        "SELECT available, pending, applied_seq, balance_negative, lots, debt FROM centralbalance WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    central, applied_seq = (_holdings(row[0], row[1], row[4], row[5]), row[2]) if row else (None, 0)
    local = _movements(database.execute_sql(_MOVEMENTS_SQL, (customer_id, applied_seq)).fetchall())
    return Account(central, local, bool(row and row[3]))


def _movements(rows: list[tuple]) -> list[Movement]:
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


NEVER = datetime.max.replace(tzinfo=EPOCH.tzinfo)


def _holdings(available: int, pending: int, lots: str | None, debt: int) -> Holdings:
    """Central's holdings as stored; from its displayed figures when it sent no lots."""
    if lots is not None:
        return Holdings(tuple(Lot(lot["ref"], lot["points"], parse_time(lot["available_at"]),
                                  parse_time(lot["expires_at"]) if lot["expires_at"] else None)
                              for lot in json.loads(lots)), debt)
    # An older central: what was available stays so, pending waits for central's next word.
    found = [Lot("central-available", available, EPOCH, None)] if available > 0 else []
    if pending > 0:
        found.append(Lot("central-pending", pending, NEVER, None))
    return Holdings(tuple(found), max(0, -available))


def customer_view(customer: Customer, rules: RuleSet, now: datetime, acct: Account | None = None) -> dict:
    """The contract's customer object (``acct`` when the caller has just loaded it)."""
    acct = acct if acct is not None else account(customer.id)
    points = acct.points(now)
    negative = points.negative or acct.flagged_negative
    return {
        "id": customer.id,
        "card_number": customer.card_number,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "phone": customer.phone,
        "birth_date": customer.birth_date,
        "tier": customer.tier,
        "tier_locked": bool(customer.tier_locked),
        "provisional": bool(customer.provisional),
        "points": {
            "available": points.available,
            "pending": points.pending,
            "offline_spendable": 0 if customer.provisional else offline_spendable(acct, rules, now),
        },
        "balance_negative": negative,
        "expiring": [{"points": item["points"], "at": format_time(item["at"])}
                     for item in expiring(holdings(acct.movements(), now), now)],
        "alerts": [],
        "wallet": walletledger.view(customer.id, rules),
    }
