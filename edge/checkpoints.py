"""Each customer's balance checkpoint on the edge (``shared.checkpoint``), kept by the sale.

A sale writes its customer's checkpoint in its own transaction, after its movements: the
balance folded at the sale's moment, with the entry it was folded up to (``seq``). Loading
an account then reads the checkpoint and only the movements of later entries, so a sale
costs the same on a customer's first visit and their ten-thousandth. The table's triggers
(``edge.migrations``) drop a checkpoint whenever what it folded changes under it — central's
word on the customer, a merge, a movement recorded out of order — and the next account load
folds the whole history again, then the next sale writes a fresh checkpoint.
"""

from __future__ import annotations

from datetime import datetime

from shared.accounts import Account
from shared.checkpoint import Checkpoint
from shared.times import parse_time

from .db import database

_LOAD_SQL = ("SELECT seq, at, available, pending, expired, spent, horizon, flagged FROM balancecheckpoint"
             " WHERE customer_id = ?")
_SAVE_SQL = ("INSERT OR REPLACE INTO balancecheckpoint (customer_id, seq, at, available, pending, expired, spent,"
             " horizon, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def load(customer_id: str) -> tuple[Checkpoint, int, bool] | None:
    """The customer's checkpoint, the entry it folds up to and central's negative flag, if any."""
    row = database.execute_sql(_LOAD_SQL, (customer_id,)).fetchone()
    if row is None:
        return None
    seq, at, available, pending, expired, spent, horizon, flagged = row
    found = Checkpoint(datetime.fromisoformat(at), available, pending, expired, spent,
                       datetime.fromisoformat(horizon) if horizon else None)
    return found, seq, bool(flagged)


def save(customer_id: str, account: Account, seq: int, now: datetime) -> None:
    """Record the account folded at ``now``, up to entry ``seq``; inside that entry's transaction."""
    if not database.in_transaction():
        raise RuntimeError("a checkpoint must be written in the transaction of the entry it folds up to")
    found = account.checkpoint(now)
    if found is None:
        return  # the clock was set back: the customer's last checkpoint still holds, or none
    horizon = None
    if found.horizon is not None:
        # Stored times keep milliseconds: a lot matures at its stored moment, at most this early.
        horizon = found.horizon.replace(microsecond=found.horizon.microsecond // 1000 * 1000).isoformat()
    database.execute_sql(_SAVE_SQL, (customer_id, seq, found.at.isoformat(), found.available, found.pending,
                                     found.expired, found.spent, horizon, int(account.flagged_negative)))


def lot_starts(lots: set[str]) -> dict[str, datetime]:
    """When each of these lots (earn refs) became spendable, for reversals after a checkpoint."""
    if not lots:
        return {}
    marks = ", ".join("?" for _ in lots)
    rows = database.execute_sql(
        f"SELECT id, coalesce(available_at, at) FROM pointmovement WHERE id IN ({marks}) AND points > 0",
        tuple(lots)).fetchall()
    return {ref: parse_time(start) for ref, start in rows}
