"""Brand-wide balances and online authorizations.

A customer's points are the fold (``shared.ledger.balance``) of every movement central holds
for them, whichever store made it. ``available`` for an authorization also subtracts open,
unexpired holds: points promised to a sale whose entry has not arrived yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from shared.ledger import Balance, Holdings, Movement, balance, holdings
from shared.summary import Summary
from shared.times import format_time
from sync.bodies import usable_key

from . import db, holds
from .errors import CentralError

if TYPE_CHECKING:  # the body models load pydantic, which the command line does not need
    from .schemas import AuthorizeRequest

MOVEMENT_COLUMNS = ("id", "customer_id", "kind", "points", "at", "available_at", "expires_at", "lot",
                    "sale_id", "device_id", "entry_id")
_FOLD = "customer_id, kind, points, at, available_at, expires_at, lot, id, device_id"


def _movement(kind: str, points: int, at: str, available_at: str | None, expires_at: str | None,
              lot: str | None, ref: str) -> Movement:
    return Movement(kind, points, datetime.fromisoformat(at), ref,
                    datetime.fromisoformat(available_at) if available_at else None,
                    datetime.fromisoformat(expires_at) if expires_at else None, lot)


def movements_by_customer(customer_ids: Iterable[str]) -> dict[str, list[tuple]]:
    """Every stored movement row of these customers, in one query per 500 customers."""
    ids = list(customer_ids)
    found: dict[str, list[tuple]] = {cid: [] for cid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for values in db.rows(f"SELECT {_FOLD} FROM movement WHERE customer_id IN ({db.marks(len(chunk))})", chunk):
            found[values[0]].append(values)
    return found


def _movements(rows: Iterable[tuple]) -> Iterable[Movement]:
    return (_movement(kind, points, at, avail, expires, lot, ref) for _, kind, points, at, avail, expires, lot, ref, _
            in rows)


def as_movements(rows: Iterable[tuple]) -> list[Movement]:
    """Movement rows as ``movements_by_customer`` returns them, as ledger movements."""
    return list(_movements(rows))


def fold(rows: Iterable[tuple], now: datetime) -> Balance:
    """The balance at ``now`` of movement rows as ``movements_by_customer`` returns them."""
    return balance(_movements(rows), now)


def fold_holdings(rows: Iterable[tuple], now: datetime) -> Holdings:
    """The open lots and debt at ``now`` of movement rows as ``movements_by_customer`` returns them."""
    return holdings(_movements(rows), now)


SUMMARY_COLUMNS = ("ledger_total", "ledger_last_at", "ledger_last_available", "ledger_expiring")


def summarise(rows: Iterable[tuple]) -> Summary:
    """The summary of movement rows as ``movements_by_customer`` returns them."""
    summary = Summary()
    for _, _, points, at, available_at, expires_at, _, _, _ in rows:
        summary.add(points, at, available_at, expires_at)
    return summary


def resolve(summaries: dict[str, Summary], now: datetime) -> dict[str, Holdings]:
    """Holdings at ``now`` of customers with known summaries; the short cut where it holds."""
    stamp = format_time(now)
    found: dict[str, Holdings] = {}
    folded = []
    for cid, summary in summaries.items():
        quick = summary.holdings(stamp)
        if quick is None:
            folded.append(cid)
        else:
            found[cid] = quick
    for cid, movements in movements_by_customer(folded).items():
        found[cid] = fold_holdings(movements, now)
    return found


def balances(customer_ids: Iterable[str], now: datetime) -> dict[str, Balance]:
    """Brand-wide balances of these customers at ``now`` (zero for unknown ids)."""
    return {cid: held.balance(now) for cid, held in customer_holdings(customer_ids, now).items()}


def customer_holdings(customer_ids: Iterable[str], now: datetime) -> dict[str, Holdings]:
    """Brand-wide open lots and debts of these customers at ``now`` (none for unknown ids)."""
    ids = list(customer_ids)
    summaries = {cid: Summary() for cid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for cid, *values in db.rows(f"SELECT id, {', '.join(SUMMARY_COLUMNS)} FROM customer "
                                    f"WHERE id IN ({db.marks(len(chunk))})", chunk):
            summaries[cid] = Summary(*values)
    return resolve(summaries, now)


def rebuild_summaries() -> int:
    """Recompute every customer's summary from the movements; return how many were wrong."""
    wrong = 0
    with db.database.atomic():
        stored = {cid: Summary(*values) for cid, *values in
                  db.rows(f"SELECT id, {', '.join(SUMMARY_COLUMNS)} FROM customer")}
        ids = list(stored)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            fixes = []
            for cid, movements in movements_by_customer(chunk).items():
                actual = summarise(movements)
                if actual != stored[cid]:
                    fixes.append((cid, *actual.values()))
            wrong += len(fixes)
            db.update_many("customer", "id", SUMMARY_COLUMNS, fixes)
    return wrong


def held(customer_id: str, now: datetime, except_sale: str | None = None) -> int:
    """Points held by open, unexpired authorizations of this customer."""
    return holds.held(holds.POINTS, customer_id, now, except_sale)


def customer_points(customer_id: str, now: datetime) -> dict[str, int]:
    """``{"available", "pending", "held"}``: the brand-wide fold, and what holds reserve."""
    folded = balances([customer_id], now)[customer_id]
    return {"available": folded.available, "pending": folded.pending, "held": held(customer_id, now)}


def authorize(device_id: str, body: AuthorizeRequest, now: datetime) -> dict[str, Any]:
    """Hold ``points`` of a customer for ``sale_id`` if the brand-wide balance allows it.

    Asking again for the same sale replaces its hold. The sale's ``sale.completed`` entry
    settles the hold; an unsettled hold lapses after ``settings.HOLD_TTL``. Too few points is
    ``422 insufficient_points`` (``central.holds``).
    """
    return holds.take(holds.POINTS, device_id, body.customer_id, body.sale_id, body.points, now,
                      lambda cid: balances([cid], now)[cid].available)


def release(device_id: str, sale_id: Any) -> dict[str, Any]:
    """Give back the hold of a sale the edge did not record; only its own device may.

    Idempotent: a hold already released (or never made, or lapsed and swept) answers
    ``released: false``. A settled hold stays: its sale is recorded and the points are spent.
    """
    if not usable_key(sale_id):
        raise CentralError(422, "validation_error", "sale_id: must be the id of the sale",
                           {"problems": [{"path": "sale_id", "message": "must be the id of the sale"}]})
    return holds.give_back(holds.POINTS, device_id, sale_id)


def settle_holds(sale_entries: dict[str, str], now: datetime) -> int:
    """Settle the open holds of these sales (``{sale_id: entry_id}``) inside the push transaction.

    One query finds the few sales that have a hold; only those are updated.
    """
    ids = list(sale_entries)
    found: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found += [sale_id for (sale_id,) in db.rows(
            f"SELECT sale_id FROM hold WHERE settled_at IS NULL AND sale_id IN ({db.marks(len(chunk))})", chunk)]
    stamp = format_time(now)
    db.update_rows("UPDATE hold SET settled_at = ?, settled_entry = ? WHERE sale_id = ? AND settled_at IS NULL",
                   [(stamp, sale_entries[sale_id], sale_id) for sale_id in found])
    return len(found)
