"""The till's acts on a wallet (e-purse): loads, points converted to credit, central's holds.

Every movement is written with its change-log entry in one transaction; balances and the
spending rules are in ``edge.walletledger``. Online, a wallet payment is held at central
against the brand-wide balance before the sale is written (``authorize``); offline, the
allowance ``wallet.offline_cap`` bounds what this edge adds to the brand's exposure.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import wallet as purse
from shared.rules import RuleSet
from shared.times import format_time
from sync.client import Refused
from sync.wallet import WalletConverted, WalletLoaded

from . import accounts, customers, rulebook, schemas, syncer
from .box import EdgeBox
from .db import write_transaction
from .errors import ApiError, unprocessable
from .models import PointMovement
from .validation import read_body
from .walletledger import account, view, write_movement

log = logging.getLogger("fidelis.edge.wallet")


# --- loads --------------------------------------------------------------------------------------


def load(box: EdgeBox, customer_id: str, body: Any, till_id: str | None, now: datetime) -> dict[str, Any]:
    """Put money on a customer's wallet; 422 ``wallet_ceiling_exceeded`` past ``wallet.ceiling``."""
    request = read_body(schemas.WalletLoad, body)
    with write_transaction():
        customer = customers.get(customer_id)
        rules = rulebook.in_force(now)
        acct = account(customer.id)
        current = acct.balance()
        problem = purse.load_problem(current, request.amount, rules.wallet, request.type)
        if problem is not None:
            raise unprocessable(problem.code, problem.message, balance=current, ceiling=rules.wallet.ceiling)
        category = purse.category_of(rules.wallet, request.type)
        load_id, stamp, log_seq = str(uuid.uuid4()), format_time(now), box.changelog.next_seq()
        write_movement(f"{load_id}:load", customer.id, purse.LOAD, request.amount, category, stamp, None, log_seq)
        acct.local.append(purse.WalletMovement(purse.LOAD, request.amount, f"{load_id}:load", category))
        box.changelog.write(WalletLoaded(load_id, customer.id, request.amount, till_id, rules.version, request.type,
                                         category))
        return {"id": load_id, "customer_id": customer.id, "amount": request.amount, "type": request.type,
                "created_at": stamp, "wallet": view(customer.id, rules, acct),
                "customer": accounts.customer_view(customer, rules, now)}


# --- points converted to credit -----------------------------------------------------------------


def convert(box: EdgeBox, customer_id: str, body: Any, now: datetime) -> tuple[schemas.WalletConversion, Hold]:
    """Check a conversion and ask central to hold its points (outside any lock).

    Returns the request and a ``Hold`` for ``commit_conversion``; central's refusal is
    final (422 ``insufficient_points``), no answer means offline and the allowance applies.
    """
    request = read_body(schemas.WalletConversion, body)
    customer = customers.get(customer_id)
    rules = rulebook.in_force(now)
    known = accounts.account(customer.id).points(now)
    _check_conversion(request.points, known.available + known.pending, account(customer.id), rules)
    conversion_id = str(uuid.uuid4())
    try:
        available = syncer.authorize(box, customer.id, request.points, conversion_id)
    except Refused as exc:
        raise ApiError(422, "insufficient_points", f"central refused: {exc}",
                       {"available": (exc.details or {}).get("available")}) from None
    return request, Hold(conversion_id, customer.id, available, request.points if available is not None else 0)


def _check_conversion(points: int, spendable: int, acct: purse.WalletAccount, rules: RuleSet) -> None:
    if spendable < rules.min_balance:
        raise unprocessable("insufficient_points", f"a balance of at least {rules.min_balance} points is needed "
                            f"to convert (has {spendable})", spendable=spendable)
    if points > spendable:
        raise unprocessable("insufficient_points", f"{points} points needed, {spendable} spendable",
                            spendable=spendable)
    amount = purse.conversion_amount(points, rules.point_value)
    problem = purse.load_problem(acct.balance(), amount, rules.wallet, None)
    if problem is not None:
        raise unprocessable(problem.code, problem.message, balance=acct.balance(), ceiling=rules.wallet.ceiling)


@dataclass(frozen=True)
class Hold:
    """Central's word before a write: ``available`` None means offline (or not asked)."""

    id: str
    customer_id: str
    available: int | None
    held: int = 0


def release_points(box: EdgeBox, hold: Hold) -> None:
    """Give back central's points hold of a conversion that was not recorded (never raises)."""
    if hold.held:
        syncer.release(box, hold.id)


def commit_conversion(box: EdgeBox, request: schemas.WalletConversion, hold: Hold, now: datetime) -> dict[str, Any]:
    """Write the conversion: a points debit, a wallet credit and one ``wallet.converted`` entry."""
    with write_transaction():
        customer = customers.get(hold.customer_id)
        rules = rulebook.in_force(now)
        points_acct = accounts.account(customer.id)
        spendable = hold.available if hold.available is not None else accounts.offline_spendable(
            points_acct, rules, now)
        acct = account(customer.id)
        _check_conversion(request.points, spendable, acct, rules)
        amount = purse.conversion_amount(request.points, rules.point_value)
        stamp, log_seq = format_time(now), box.changelog.next_seq()
        PointMovement.create(id=f"{hold.id}:convert", customer=customer.id, kind="redeem", points=-request.points,
                             at=stamp, sale=hold.id, log_seq=log_seq)
        write_movement(f"{hold.id}:convert", customer.id, purse.CONVERT, amount, None, stamp, None, log_seq)
        acct.local.append(purse.WalletMovement(purse.CONVERT, amount, f"{hold.id}:convert"))
        box.changelog.write(WalletConverted(hold.id, customer.id, request.points, amount, rules.version))
        return {"id": hold.id, "customer_id": customer.id, "points": request.points, "amount": amount,
                "created_at": stamp, "wallet": view(customer.id, rules, acct),
                "customer": accounts.customer_view(customer, rules, now)}


def authorize(box: EdgeBox, customer_id: str, amount: int, sale_id: str) -> int | None:
    """Ask central to hold ``amount`` of the wallet: what this sale may pay, or None when offline.

    Raises 422 ``insufficient_wallet`` when central says no.
    """
    try:
        reply = syncer.ask_central(
            box, lambda client: client.authorize_wallet(customer_id, amount, sale_id, timeout=syncer.AUTHORIZE_TIMEOUT),
            "insufficient_wallet")
    except Refused as exc:
        raise ApiError(422, "insufficient_wallet", f"central refused: {exc}",
                       {"spendable": max(0, int((exc.details or {}).get("available", 0)))}) from None
    return None if reply is None else int(reply.get("available", 0)) + amount


def release(box: EdgeBox, sale_id: str) -> None:
    """Give central's wallet hold back (best effort, never raises; a hold lapses on its own)."""
    try:
        client = syncer.client_for(box, timeout=syncer.AUTHORIZE_TIMEOUT)
        if client is not None:
            client.release_wallet(sale_id, timeout=syncer.AUTHORIZE_TIMEOUT)
    except Exception as exc:  # Offline, Refused, or the database that failed the sale
        log.warning("could not release the wallet hold of sale %s (%s); it lapses on its own", sale_id, exc)


