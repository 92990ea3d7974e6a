"""The wallet's ledger on the edge: central's last word plus this edge's movements since.

Like points, the edge keeps no balance of its own: central's last word per customer (its
pockets, with the last entry of this device it had applied) plus this edge's wallet
movements from later entries (``shared.wallet.WalletAccount``), in the tables of
``edge.migrations._wallet``. The till's acts on a wallet are in ``edge.wallet``.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from shared import wallet as purse
from shared.engine import Line, Quote
from shared.rules import RuleSet

from .db import database
from .errors import unprocessable
from .models import Customer

WALLET = "wallet"


# --- reading ----------------------------------------------------------------------------------


def account(customer_id: str) -> purse.WalletAccount:
    """Central's pockets and this edge's movements since (plain SQL: this runs on every sale)."""
    row = database.execute_sql("SELECT pockets, applied_seq FROM centralwallet WHERE customer_id = ?",
                               (customer_id,)).fetchone()
    if row is None:
        central, applied = {}, 0  # central never spoke of this wallet: every movement here counts
    else:
        central = {item["category"]: item["balance"] for item in json.loads(row[0])}
        applied = row[1]
    # One movement per kind and pocket is all a balance needs: summed here, not in Python.
    rows = database.execute_sql("SELECT kind, SUM(amount), category FROM walletmovement WHERE customer_id = ?"
                                " AND (log_seq IS NULL OR log_seq > ?) GROUP BY kind, category", (customer_id, applied))
    return purse.WalletAccount(central, [purse.WalletMovement(kind, int(amount), f"{kind}:{category or ''}", category)
                                         for kind, amount, category in rows])


def view(customer_id: str, rules: RuleSet, acct: purse.WalletAccount | None = None) -> dict[str, Any]:
    """The customer object's ``wallet``: balance, the offline allowance and the pockets."""
    acct = acct if acct is not None else account(customer_id)
    held = acct.pockets()
    return {
        "balance": sum(held.values()),
        "offline_spendable": purse.offline_spendable(acct, rules.wallet),
        "pockets": [{"category": c, "balance": held[c]} for c in sorted(held, key=lambda c: (c is None, c or ""))
                    if held[c]],
    }


def write_movement(movement_id: str, customer_id: str, kind: str, amount: int, category: str | None, stamp: str,
           sale: str | None, log_seq: int) -> None:
    database.execute_sql("INSERT INTO walletmovement (id, customer_id, kind, amount, category, at, sale, log_seq)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (movement_id, customer_id, kind, amount, category,
                                                               stamp, sale, log_seq))


def _pockets_json(split: dict[str | None, int]) -> list[dict[str, Any]]:
    return [{"category": c, "amount": split[c]} for c in sorted(split, key=lambda c: (c is None, c or ""))]


# --- paying a sale ------------------------------------------------------------------------------


def paid(payments: Sequence[Any] | None) -> int:
    """What a sale's payments take from the wallet."""
    return sum(p.amount for p in payments or () if p.method == WALLET)


def category_totals(lines: Sequence[Line], priced: Quote) -> dict[str, int]:
    """What the basket's lines of each category cost after every discount."""
    found: dict[str, int] = {}
    for line, discount in zip(lines, priced.tier_discounts or (0,) * len(lines)):
        if line.category is not None and not line.reward:
            found[line.category] = found.get(line.category, 0) + line.total - discount
    return found


def spend_split(customer: Customer | None, amount: int, lines: Sequence[Line], priced: Quote, rules: RuleSet,
                central_available: int | None, *, offline: bool) -> dict[str | None, int]:
    """Which pockets pay ``amount``; 422 ``insufficient_wallet`` (or ``customer_required``).

    With central's hold (``central_available``) the wallet may pay up to it; without,
    ``offline`` bounds it by the allowance, else by what the edge knows.
    """
    if customer is None:
        raise unprocessable("customer_required", "a wallet can only pay for a known customer's sale")
    acct = account(customer.id)
    held = acct.pockets()
    totals = category_totals(lines, priced)
    limit = purse.usable(held, totals)
    if central_available is not None:
        limit = min(limit, central_available)
    elif offline:
        limit = min(limit, purse.offline_spendable(acct, rules.wallet))
    split = purse.split_spend(amount, held, totals) if amount <= limit else None
    if split is None:
        raise unprocessable("insufficient_wallet", f"the wallet may pay {max(limit, 0)} of this sale; "
                            f"{amount} requested", spendable=max(limit, 0), balance=acct.balance())
    return split


def write_spend(customer_id: str, sale_id: str, split: dict[str | None, int], stamp: str,
                log_seq: int) -> list[dict[str, Any]]:
    """The sale's wallet movements; returns the entry's ``wallet`` list."""
    for category, amount in split.items():
        write_movement(f"{sale_id}:wallet:{category or ''}", customer_id, purse.SPEND, -amount, category, stamp,
                       sale_id, log_seq)
    return _pockets_json(split)


# --- returns and central's word -----------------------------------------------------------------


def recredit(customer_id: str | None, sale_id: str, refund: int, return_id: str, stamp: str,
             log_seq: int) -> list[dict[str, Any]]:
    """Put a return's money back on the wallet that paid the sale; returns the entry's ``wallet`` list."""
    if customer_id is None or refund <= 0:
        return []
    paid_by: dict[str | None, int] = {}
    refunded: dict[str | None, int] = {}
    for kind, amount, category in database.execute_sql(
            "SELECT kind, amount, category FROM walletmovement WHERE sale = ? AND kind IN (?, ?)",
            (sale_id, purse.SPEND, purse.REFUND)):
        target = paid_by if kind == purse.SPEND else refunded
        target[category] = target.get(category, 0) + abs(amount)
    split = purse.refund_split(refund, paid_by, refunded)
    for category, amount in split.items():
        write_movement(f"{return_id}:wallet:{category or ''}", customer_id, purse.REFUND, amount, category, stamp,
                       sale_id, log_seq)
    return _pockets_json(split)


def refunded(return_id: str) -> int:
    """What a return put back on the wallet."""
    found = database.execute_sql("SELECT COALESCE(SUM(amount), 0) FROM walletmovement WHERE kind = ? AND id LIKE ?",
                                 (purse.REFUND, f"{return_id}:wallet:%")).fetchone()
    return int(found[0])


def apply_state(customer_id: str, body: dict[str, Any], applied_seq: int, stamp: str) -> None:
    """Keep central's word on a wallet from a ``customer.state`` (a central without wallets sends none)."""
    found = body.get("wallet")
    if not isinstance(found, dict):
        return
    pockets = [{"category": p.get("category"), "balance": int(p.get("balance", 0))}
               for p in found.get("pockets", []) if isinstance(p, dict)]
    if not pockets and found.get("balance"):
        pockets = [{"category": None, "balance": int(found["balance"])}]
    database.execute_sql("INSERT OR REPLACE INTO centralwallet (customer_id, pockets, applied_seq, updated_at)"
                         " VALUES (?, ?, ?, ?)", (customer_id, json.dumps(pockets), applied_seq, stamp))


def merged(kept: str, absorbed: str) -> None:
    """The absorbed customer's wallet movements follow it into the one kept."""
    database.execute_sql("UPDATE walletmovement SET customer_id = ? WHERE customer_id = ?", (kept, absorbed))
    database.execute_sql("DELETE FROM centralwallet WHERE customer_id = ?", (absorbed,))
