"""Returns: money back for the returned lines, points reversed under the sale's own rules."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from shared.currency import parse_conversion
from shared.engine import Line, basket_total, points_to_reverse
from shared.tiers import spend_returned
from shared.times import format_time
from shared.vip import with_vip
from sync.sale_bodies import SaleReturned

from . import accounts, rulebook, saleviews, vouchers, walletledger
from .box import EdgeBox
from .db import database, write_transaction
from .errors import unprocessable
from .models import PointMovement, SaleReturn
from .schemas import ReturnRequest
from .validation import read_body


def validate_return(body: Any) -> Counter[str]:
    """``{"lines": [{"sku", "qty"}]}`` → quantities by SKU; 422 listing every problem."""
    wanted: Counter[str] = Counter()
    for line in read_body(ReturnRequest, body).lines:
        wanted[line.sku] += line.qty
    return wanted


def _kept(lines: list[dict], returned: Counter[str]) -> tuple[list[Line], int]:
    """The sale's lines less ``returned`` units (taken from the first lines with that SKU),
    and the tier discount they keep.

    A partly returned line keeps its discount and its tier discount in proportion, rounded
    down, so returning every unit refunds exactly what was paid.
    """
    left = Counter(returned)
    kept = []
    tier_discount = 0
    for raw in lines:
        qty = raw["qty"]
        take = 0 if raw.get("reward") else min(qty, left[raw["sku"]])
        left[raw["sku"]] -= take
        remaining = qty - take
        tier_discount += raw.get("tier_discount", 0) * remaining // qty
        kept.append(
            Line(
                sku=raw["sku"],
                qty=remaining,
                unit_price=raw["unit_price"],
                discount=raw["discount"] * remaining // qty,
                category=raw.get("category"),
                reward=bool(raw.get("reward")),
            )
        )
    return kept, tier_discount


def return_lines(box: EdgeBox, sale_id: str, wanted: Counter[str], now: datetime) -> dict[str, Any]:
    """Record a return; 422 ``return_exceeds_sale`` when more would come back than was sold."""
    with write_transaction():
        sale = saleviews.get(sale_id)
        lines = json.loads(sale.lines)
        sold = Counter()
        for raw in lines:
            if not raw.get("reward"):
                sold[raw["sku"]] += raw["qty"]
        previous = list(SaleReturn.select().where(SaleReturn.sale == sale))
        already: Counter[str] = Counter()
        for row in previous:
            for item in json.loads(row.lines):
                already[item["sku"]] += item["qty"]
        over = {sku: {"requested": qty, "returnable": sold[sku] - already[sku]}
                for sku, qty in wanted.items() if qty > sold[sku] - already[sku]}
        if over:
            raise unprocessable("return_exceeds_sale", "more would be returned than was sold", lines=over)

        kept_before, tier_discount_before = _kept(lines, already)
        kept_after, tier_discount_after = _kept(lines, already + wanted)
        refund = basket_total(kept_before) - tier_discount_before - (basket_total(kept_after) - tier_discount_after)
        rules = rulebook.version(sale.rules_version)
        rate = parse_conversion(sale.currency, sale.rate)[0].rate if sale.currency else None
        tier = with_vip(rules.tier(sale.tier), sale.vip_percent or 0)  # priced as the sale was
        reversible = points_to_reverse(
            kept_after, sale.points_paid * rules.point_value, sale.points_earned, rules, tier, rate
        )
        points_reversed = max(0, reversible - sum(row.points_reversed for row in previous))
        paid_value = sale.points_paid * rules.point_value
        eligible_reversed = spend_returned(kept_before, kept_after, paid_value, rules, tier, rate)
        log_seq = box.changelog.next_seq()
        return_id = str(uuid.uuid4())
        stamp = format_time(now)
        returned = [{"sku": sku, "qty": qty} for sku, qty in wanted.items()]
        # A full return voids the vouchers the sale issued (those not spent yet); the gift
        # cards and vouchers it was paid with stay used (docs/rules.md "Returns").
        whole = not any(line.qty for line in kept_after if not line.reward)
        voided = vouchers.void_issued_by(sale.id, now) if whole else []
        if points_reversed and sale.customer_id:
            PointMovement.create(
                id=f"{return_id}:reverse",
                customer=sale.customer_id,
                kind="reverse",
                points=-points_reversed,
                at=stamp,
                lot=f"{sale.id}:earn",
                sale=sale.id,
                log_seq=log_seq,
            )
        if eligible_reversed and sale.customer_id:
            # Qualifying spend goes down; the tier does not until central says so.
            database.execute_sql("UPDATE customer SET qualifying_spend = qualifying_spend - ? WHERE id = ?",
                                 (eligible_reversed, sale.customer_id))
        recredited = walletledger.recredit(sale.customer_id, sale.id, refund, return_id, stamp, log_seq)
        SaleReturn.create(
            id=return_id,
            sale=sale,
            lines=json.dumps(returned),
            amount_refunded=refund,
            points_reversed=points_reversed,
            created_at=stamp,
            eligible_reversed=eligible_reversed,
            log_seq=log_seq,
        )
        box.changelog.write(SaleReturned(
            return_id=return_id, sale_id=sale.id, customer_id=sale.customer_id, lines=tuple(returned),
            amount_refunded=refund, points_reversed=points_reversed, eligible_reversed=eligible_reversed,
            rules_version=sale.rules_version, wallet=tuple(recredited), vouchers_voided=tuple(voided),
        ))
        result = {
            "id": return_id,
            "sale_id": sale.id,
            "lines": returned,
            "amount_refunded": refund,
            "points_reversed": points_reversed,
            "wallet_refunded": sum(item["amount"] for item in recredited),
            "created_at": stamp,
            "vouchers_voided": voided,
        }
        if sale.customer_id:
            customer = sale.customer
            result["customer"] = accounts.customer_view(customer, rulebook.in_force(now), now)
    return result
