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


_CUSTOMER = Customer._meta.table_name
_BALANCE_COLUMNS = ("customer_id", "available", "pending", "balance_negative", "applied_seq", "updated_at", "lots",
                    "debt", "qualifying_spend")
_BALANCE_SQL = (f"INSERT OR REPLACE INTO {CentralBalance._meta.table_name} ({', '.join(_BALANCE_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_BALANCE_COLUMNS))})")


def _known(customer_id: str) -> bool:
    return database.execute_sql(f"SELECT 1 FROM {_CUSTOMER} WHERE id = ?", (customer_id,)).fetchone() is not None


def apply_customer(box: EdgeBox, body: dict[str, Any], only_new: bool = False) -> None:
    """Store central's ``customer.state`` (``only_new``: unless the customer is known already).

    A provisional record holding the same card (sold to offline) is linked to this customer.
    A pull applies a page of states in the transaction the tills' sales wait for, so each is
    a few plain statements, not queries built afresh per item.
    """
    record = body["customer"]
    if care.kept_for(record["id"]) is not None:
        return  # merged into another customer: its state is the kept one's now
    if only_new and _known(record["id"]):
        return  # the feed was first: its state is as new as this one, or newer
    holder = database.execute_sql(f"SELECT id FROM {_CUSTOMER} WHERE card_number = ? AND id <> ? AND provisional = ?",
                                  (record.get("card_number"), record["id"], True)).fetchone()
    if holder is not None:
        # Free the card for its customer, then hand the provisional record's sales over.
        database.execute_sql(f"UPDATE {_CUSTOMER} SET card_number = ? WHERE id = ?", (f"~{holder[0]}", holder[0]))
    _store_customer(box, body)
    if holder is not None:
        care.link(holder[0], record["id"], _now())
        _store_customer(box, body)  # again: the tier now counts the sales handed over


def _write_customer(customer_id: str, fields: dict[str, Any], stamp: str, existing: bool) -> None:
    """Insert or update the customer's row with ``fields`` (every column of a new one)."""
    values = {**fields, "updated_at": stamp}
    if existing:
        database.execute_sql(f"UPDATE {_CUSTOMER} SET {', '.join(f'{name} = ?' for name in values)} WHERE id = ?",
                             (*values.values(), customer_id))
    else:
        values = {"id": customer_id, "created_at": stamp, **values}
        database.execute_sql(f"INSERT INTO {_CUSTOMER} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                             tuple(values.values()))


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
    existing = _known(record["id"])
    for attempt in ("as sent", "without contact fields"):
        try:
            with database.atomic():
                _write_customer(record["id"], fields, stamp, existing)
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
    database.execute_sql(_BALANCE_SQL, (
        record["id"], points.get("available", 0), points.get("pending", 0), bool(body.get("balance_negative")),
        applied_seq, stamp, json.dumps(lots) if isinstance(lots, list) else None, int(body.get("debt", 0)),
        int(body.get("qualifying_spend", 0))))
    walletledger.apply_state(record["id"], body, applied_seq, stamp)
