"""What central's feed says, applied to the box: rules versions, customers' states, cards,
gift cards, vouchers, VIP cards, links and revocations (``edge.syncer`` pulls; this applies).

``apply_customer`` is also how a card central was asked about (``edge.reach``) is kept.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

from peewee import IntegrityError

from shared.rules import parse_rules
from shared.tiers import provisional_tier
from shared.times import format_time
from sync.protocol import verify_rules

from . import care, giftcards, rulebook, vip, vouchers, walletledger
from .box import EdgeBox
from .db import database
from .models import CentralBalance, Customer, RulesVersion
from .settings import set_setting

log = logging.getLogger("fidelis.edge.sync")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def apply_item(box: EdgeBox, item: dict[str, Any], central_key) -> None:
    """Apply one pulled item; inside the transaction that also moves the pull cursor."""
    kind, body = item["kind"], item["body"]
    if kind == "rules.version":
        verify_rules(central_key, body)
        ruleset, problems = parse_rules(body["document"], version=body["version"])
        if ruleset is None:
            log.error("central sent rules version %s this edge cannot read: %s", body["version"], problems)
            return
        if RulesVersion.get_or_none(RulesVersion.version == body["version"]) is None:
            RulesVersion.create(version=body["version"], effective_from=body.get("effective_from"),
                                document=json.dumps(body["document"]), installed_at=format_time(_now()))
    elif kind == "customer.state":
        apply_customer(box, body)
    elif kind == "card.blocked":
        care.card_blocked(body, central_key, _now())
    elif kind == "customer.merged":
        care.customer_merged(body, central_key, _now())
    elif kind == "gift_card.state":
        giftcards.apply_state(body, _now())
    elif kind == "voucher.state":
        vouchers.apply_state(body, _now())
    elif kind == "vip.issued":
        vip.issued(body, central_key)
    elif kind == "customer.linked":
        if isinstance(body.get("provisional"), str) and isinstance(body.get("customer_id"), str):
            care.link(body["provisional"], body["customer_id"], _now())
    elif kind == "device.revoked" and body.get("device_id") == box.device_id:
        set_setting("sync_state", "device_revoked")


_LOCAL_SPEND_SQL = (
    "SELECT (SELECT COALESCE(SUM(eligible_amount), 0) FROM sale WHERE customer_id = ?1 AND log_seq > ?2)"
    " - (SELECT COALESCE(SUM(r.eligible_reversed), 0) FROM salereturn r JOIN sale s ON s.id = r.sale_id"
    " WHERE s.customer_id = ?1 AND r.log_seq > ?2),"
    " (SELECT COUNT(*) FROM sale WHERE customer_id = ?1 AND log_seq > ?2)"
)


def _tier(body: dict[str, Any], applied_seq: int) -> tuple[str | None, int]:
    """The tier to show and the qualifying spend to count from: central's, raised (never
    lowered) by this edge's sales that central had not applied yet (``shared.tiers``)."""
    record = body["customer"]
    central_spend = int(body.get("qualifying_spend", 0))
    local_spend, local_sales = database.execute_sql(_LOCAL_SPEND_SQL, (record["id"], applied_seq)).fetchone()
    spend = central_spend + local_spend
    if not local_sales or body.get("tier_locked"):  # a tier head office locked is never raised here
        return record.get("tier"), spend
    try:
        rules = rulebook.in_force(_now())
    except rulebook.NoRules:
        return record.get("tier"), spend
    return provisional_tier(rules, record.get("tier"), spend), spend


def apply_customer(box: EdgeBox, body: dict[str, Any], only_new: bool = False) -> None:
    """Store central's ``customer.state`` (``only_new``: unless the customer is known already).

    A provisional record holding the same card (sold to offline) is linked to this customer.
    """
    record = body["customer"]
    if care.kept_for(record["id"]) is not None:
        return  # merged into another customer: its state is the kept one's now
    if only_new and Customer.get_or_none(Customer.id == record["id"]) is not None:
        return  # the feed was first: its state is as new as this one, or newer
    holder = Customer.get_or_none((Customer.card_number == record.get("card_number")) & (Customer.id != record["id"])
                                  & (Customer.provisional == True))  # noqa: E712
    if holder is not None:
        # Free the card for its customer, then hand the provisional record's sales over.
        Customer.update(card_number=f"~{holder.id}").where(Customer.id == holder.id).execute()
    _store_customer(box, body)
    if holder is not None:
        care.link(holder.id, record["id"], _now())
        _store_customer(box, body)  # again: the tier now counts the sales handed over


def _store_customer(box: EdgeBox, body: dict[str, Any]) -> None:
    record = body["customer"]
    stamp = format_time(_now())
    applied_seq = int(body.get("applied", {}).get(box.device_id, 0))
    fields = {k: record.get(k) for k in ("card_number", "first_name", "last_name", "email", "phone",
                                         "birth_date")}
    fields["tier"], fields["qualifying_spend"] = _tier(body, applied_seq)
    fields["tier_locked"] = bool(body.get("tier_locked"))
    if isinstance(body.get("registered_at"), str):  # when the customer joined, for the enrolment window
        fields["created_at"] = body["registered_at"]
    fields["provisional"] = False  # central knows this customer
    existing = Customer.get_or_none(Customer.id == record["id"])
    for attempt in ("as sent", "without contact fields"):
        try:
            with database.atomic():
                if existing is None:
                    Customer.create(id=record["id"], updated_at=stamp, **{"created_at": stamp, **fields})
                else:
                    Customer.update(updated_at=stamp, **fields).where(Customer.id == record["id"]).execute()
            break
        except IntegrityError:
            # Another local customer holds this email or phone: keep the central record
            # findable by card and id rather than refusing the whole feed.
            fields["email"] = fields["phone"] = None
            if attempt != "as sent":
                log.error("customer %s from central conflicts with a local card number", record["id"])
                return
    points = body.get("points", {})
    lots = body.get("lots")
    CentralBalance.replace(
        customer=record["id"],
        available=points.get("available", 0),
        pending=points.get("pending", 0),
        balance_negative=bool(body.get("balance_negative")),
        applied_seq=applied_seq,
        updated_at=stamp,
        lots=json.dumps(lots) if isinstance(lots, list) else None,
        debt=int(body.get("debt", 0)),
        qualifying_spend=int(body.get("qualifying_spend", 0)),
    ).execute()
    walletledger.apply_state(record["id"], body, applied_seq, stamp)
