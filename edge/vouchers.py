"""Vouchers at the edge: issued by a sale (rules ``vouchers.at_sale``), spent once, voided by a
full return of the sale that issued them, known in every shop through central's feed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping, Sequence

from shared import vouchers
from shared.engine import Payment
from shared.giftcards import codes_paid
from shared.rules import RuleSet
from shared.times import format_time, parse_time

from .db import database
from .errors import ApiError
from .models import Voucher


def _voucher(row: Voucher) -> vouchers.Voucher:
    stores = frozenset(json.loads(row.stores)) if row.stores else None
    return vouchers.Voucher(row.code, row.amount, parse_time(row.expires_at), row.status, stores)


def check(payments: Sequence[Payment] | None, store: str, now: datetime) -> Mapping[str, int]:
    """The vouchers the payments name, ``{code: amount}``, when each can pay here now; 422
    ``voucher_invalid`` naming the first that is used, expired, out of scope or over its value.
    Reads only: a quote asks this, and the sale again inside its transaction."""
    paid = codes_paid(payments, "voucher")
    if not paid:
        return paid
    rows = {row.code: row for row in Voucher.select().where(Voucher.code.in_(list(paid)))}
    for code, amount in paid.items():
        row = rows.get(code)
        problem = vouchers.spend_problem(_voucher(row) if row else None, amount, store, now)
        if problem:
            raise ApiError(422, vouchers.INVALID_CODE, problem, {"code": code})
    return paid


def spend(payments: Sequence[Payment] | None, store: str, sale_id: str, now: datetime) -> None:
    """Mark the vouchers the payments name used (inside the sale's transaction); 422
    ``voucher_invalid`` before anything is written when one cannot pay (``check``)."""
    paid = check(payments, store, now)
    if not paid:
        return
    Voucher.update(status=vouchers.USED, used_sale=sale_id, updated_at=format_time(now)).where(
        Voucher.code.in_(list(paid))).execute()


def offered(total: int, rules: RuleSet, store: str, now: datetime) -> list[dict[str, Any]]:
    """The vouchers a sale of ``total`` would issue, as a quote's ``vouchers_issued`` (no code yet)."""
    return [{"amount": offer.amount, "expires_at": format_time(offer.expires_at)}
            for offer in vouchers.offered_at_sale(total, rules.vouchers_at_sale, store, now)]


def issue(sale_id: str, customer_id: str | None, total: int, rules: RuleSet, store: str,
          now: datetime) -> list[dict[str, Any]]:
    """Store the vouchers the sale issues; return them as the sale's ``vouchers_issued``."""
    at_sale = rules.vouchers_at_sale
    return _store(vouchers.issue_at_sale(sale_id, total, at_sale, store, now), at_sale.stores, sale_id, customer_id,
                  now)


def welcome(customer_id: str, email: str | None, rules: RuleSet, store: str, now: datetime) -> list[dict[str, Any]]:
    """Store the welcome voucher of a customer just registered (``vouchers.welcome``), if any."""
    scope = rules.vouchers_welcome.stores if rules.vouchers_welcome else None
    return _store(vouchers.issue_welcome(customer_id, email, rules.vouchers_welcome, store, now), scope, None,
                  customer_id, now)


def welcome_of(customer_id: str) -> list[dict[str, Any]]:
    """The welcome voucher a customer was given at registration here, as issued."""
    return [{"code": row.code, "amount": row.amount, "expires_at": row.expires_at}
            for row in Voucher.select().where((Voucher.customer == customer_id) & Voucher.sale.is_null())]


def _store(issued: Sequence[vouchers.Issued], scope: frozenset[str] | None, sale_id: str | None,
           customer_id: str | None, now: datetime) -> list[dict[str, Any]]:
    stamp = format_time(now)
    stores = json.dumps(sorted(scope)) if scope is not None else None
    result = []
    for voucher in issued:
        expires = format_time(voucher.expires_at)
        Voucher.create(code=voucher.code, amount=voucher.amount, expires_at=expires, stores=stores, sale=sale_id,
                       customer=customer_id, updated_at=stamp)
        result.append({"code": voucher.code, "amount": voucher.amount, "expires_at": expires})
    return result


def issued_by(sale_id: str) -> list[dict[str, Any]]:
    """The vouchers a stored sale issued."""
    return [{"code": row.code, "amount": row.amount, "expires_at": row.expires_at}
            for row in Voucher.select().where(Voucher.sale == sale_id).order_by(Voucher.code)]


def void_issued_by(sale_id: str, now: datetime) -> list[str]:
    """A full return: void the sale's vouchers not yet spent; return their codes."""
    codes = [row.code for row in Voucher.select().where((Voucher.sale == sale_id) &
                                                        (Voucher.status == vouchers.ACTIVE))]
    if codes:
        Voucher.update(status=vouchers.VOIDED, updated_at=format_time(now)).where(Voucher.code.in_(codes)).execute()
    return codes


def apply_state(body: dict[str, Any], now: datetime) -> None:
    """A ``voucher.state`` feed item: learn a voucher, or that it was used or voided elsewhere.

    A voucher used or voided here stays so whatever central says.
    """
    code, amount, expires = body.get("code"), body.get("amount"), body.get("expires_at")
    status = body.get("status")
    if not isinstance(code, str) or type(amount) is not int or not isinstance(expires, str) or status not in (
            vouchers.ACTIVE, vouchers.USED, vouchers.VOIDED):
        return
    stores = body.get("stores")
    stores_text = json.dumps(sorted(stores)) if isinstance(stores, list) else None
    stamp = format_time(now)
    # Plain statements: a new box's first pull applies every voucher good at its shop (edge.feedapply).
    table = Voucher._meta.table_name
    found = database.execute_sql(f"SELECT status FROM {table} WHERE code = ?", (code,)).fetchone()
    if found is None:
        database.execute_sql(f"INSERT INTO {table} (code, amount, expires_at, status, stores, sale, customer, "
                             "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
                                 code, amount, expires, status, stores_text, body.get("sale_id"),
                                 body.get("customer_id"), stamp))
    elif found[0] == vouchers.ACTIVE and status != vouchers.ACTIVE:
        database.execute_sql(f"UPDATE {table} SET status = ?, updated_at = ? WHERE code = ?", (status, stamp, code))
