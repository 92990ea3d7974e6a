"""How a sale reads as JSON on the edge: its lines, payments, currency and VIP card as they are
stored, logged and answered, and a committed sale with its returns (``GET /sales/{id}``, the
receipt).

The transaction that commits a sale is ``edge.sales``; this module only reads and shapes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from shared.currency import Conversion
from shared.engine import Line, Payment, Quote

from . import giftcards, vouchers, walletledger
from .errors import not_found
from .models import LogEntry, Sale, SaleReturn


def lines_json(lines: Sequence[Line], names: Sequence[str | None],
               tier_discounts: Sequence[int]) -> list[dict[str, Any]]:
    """The lines as stored, logged and answered: each with the tier discount it was given."""
    return [_line_json(line, name, discount) for line, name, discount in zip(lines, names, tier_discounts)]


def _line_json(line: Line, name: str | None, tier_discount: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {"sku": line.sku, "qty": line.qty, "unit_price": line.unit_price, "discount": line.discount,
                            "tier_discount": tier_discount}
    if name:
        data["name"] = name
    if line.category:
        data["category"] = line.category
    if line.reward:
        data["reward"] = True
    return data


def vip_json(code: str | None, percent: int) -> dict[str, Any]:
    """``{"vip": {"code", "discount_percent"}}`` for a sale with a VIP card (nothing otherwise)."""
    if not code:
        return {}
    return {"vip": {"code": code, "discount_percent": percent}}


def currency_json(conversion: Conversion | None, priced: Quote) -> dict[str, Any]:
    """A foreign-currency sale's code, rate and amounts in both currencies (nothing otherwise):
    ``total`` and the lines stay in the sale's currency, ``eligible_amount`` is the brand's."""
    if conversion is None:
        return {}
    return {
        "currency": conversion.currency,
        "rate": conversion.text,
        "converted_total": conversion.to_brand(priced.total),
        "original_eligible_amount": priced.earning.original_eligible,
    }


def stored_currency_json(sale: Sale) -> dict[str, Any]:
    """``currency_json`` of a committed sale: its code and rate from the row, and the amounts in
    both currencies as its change-log entry holds them (what the sale answered when made)."""
    if not sale.currency:
        return {}
    found: dict[str, Any] = {"currency": sale.currency, "rate": sale.rate}
    entry = LogEntry.get_or_none(LogEntry.seq == sale.log_seq) if sale.log_seq is not None else None
    if entry is not None and entry.kind == "sale.completed":
        body = json.loads(entry.line)["body"]
        found.update({name: body[name] for name in ("converted_total", "original_eligible_amount") if name in body})
    return found


def payment_json(payment: Payment) -> dict[str, Any]:
    """A payment as stored, logged and answered."""
    if payment.is_points:
        return {"method": "points", "points": payment.points}
    if payment.code:
        return {"method": payment.method, "code": payment.code, "amount": payment.amount}
    return {"method": payment.method, "amount": payment.amount}


def get(sale_id: str) -> Sale:
    """The committed sale; 404 ``sale_not_found`` when this shop has none with that id."""
    sale = Sale.get_or_none(Sale.id == sale_id)
    if sale is None:
        raise not_found("sale_not_found", f"no sale with id {sale_id}")
    return sale


def sale_view(sale: Sale) -> dict[str, Any]:
    """The sale as committed, with its returns."""
    returns = SaleReturn.select().where(SaleReturn.sale == sale).order_by(SaleReturn.created_at)
    lines = [{"tier_discount": 0, **line} for line in json.loads(sale.lines)]  # older sales had none
    return {
        "id": sale.id,
        "customer_id": sale.customer_id,
        "till_id": sale.till,
        "created_at": sale.created_at,
        "lines": lines,
        "payments": json.loads(sale.payments),
        "tier_discount": sum(line["tier_discount"] for line in lines),
        "total": sale.total,
        "eligible_amount": sale.eligible_amount,
        "points_earned": sale.points_earned,
        "points_redeemed": sale.points_paid + sale.reward_points,
        "rules_version": sale.rules_version,
        "tier": sale.tier,
        **stored_currency_json(sale),
        "returns": [
            {
                "id": r.id,
                "lines": json.loads(r.lines),
                "amount_refunded": r.amount_refunded,
                "points_reversed": r.points_reversed,
                "wallet_refunded": walletledger.refunded(r.id),
                "created_at": r.created_at,
            }
            for r in returns
        ],
        "gift_cards": giftcards.spent_by(sale.id),
        "vouchers_issued": vouchers.issued_by(sale.id),
    }
