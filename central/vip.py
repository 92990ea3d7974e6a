"""VIP cards issued by head office (``shared.vip``): ``POST /api/v1/customers/{id}/vip``.

A card is a signed act (``sync.acts.VIP``) kept with the customer's other acts and sent to every
shop in a ``vip.issued`` feed item, so every edge gives the discount, offline too, until the
card's last day. Issuing again with the same code changes its rate or end date (the newest act
wins at the edges as well); a code held by another customer is ``409 vip_code_in_use``.
Central re-derives every sale's discount from the card it issued (``card_for``).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from peewee import CharField, IntegerField

from shared.vip import PREFIX, VipCard
from shared.times import format_time
from sync import acts

from . import audit, care, db, feed
from .errors import conflict, invalid
from .models import ID, BaseModel
from .schemas import VipIssue

VIP_ISSUED = "vip.issued"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class VipCardRow(BaseModel):
    """A VIP card as issued: its code, customer, rate and last day (YYYY-MM-DD)."""

    code = CharField(primary_key=True, max_length=32)
    customer_id = CharField(max_length=ID, index=True)
    discount_percent = IntegerField()
    until = CharField(max_length=10)
    issued_at = CharField()

    class Meta:
        table_name = "vipcard"


MODELS = [VipCardRow]


def issue(customer_id: str, request: VipIssue, actor: str, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """Issue (or renew) a VIP card for the customer; the 201 body of the API."""
    if date.fromisoformat(request.until) < now.date():
        raise invalid("validation_error", "until: must not be in the past",
                      problems=[{"path": "until", "message": "must not be in the past"}])
    with db.database.atomic():
        care.live_customer(customer_id)
        code = request.code or PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(10))
        held = db.rows("SELECT customer_id FROM vipcard WHERE code = ?", (code,))
        if held and held[0][0] != customer_id:
            raise conflict("vip_code_in_use", f"VIP card {code} belongs to another customer")
        body = {"code": code, "discount_percent": request.discount_percent, "until": request.until}
        act = care.signed_act(acts.VIP, customer_id, body, actor, key, now)
        if held:
            db.execute("UPDATE vipcard SET discount_percent = ?, until = ?, issued_at = ? WHERE code = ?",
                       (request.discount_percent, request.until, format_time(now), code))
        else:
            db.insert_rows("vipcard", ("code", "customer_id", "discount_percent", "until", "issued_at"),
                           [(code, customer_id, request.discount_percent, request.until, format_time(now))])
        audit.record(actor, "customer.vip", f"customer:{customer_id}", None, body, now)
        feed.append([(None, VIP_ISSUED, act)], now)
    return {"customer_id": customer_id, **body}


def card_for(code: str) -> VipCard | None:
    """The VIP card with this code, as central issued it."""
    found = db.rows("SELECT code, customer_id, discount_percent, until FROM vipcard WHERE code = ?", (code,))
    if not found:
        return None
    code, customer_id, percent, until = found[0]
    return VipCard(code, customer_id, percent, date.fromisoformat(until))


def cards_of(customer_id: str, now: datetime) -> list[dict[str, Any]]:
    """The VIP cards of a customer (and of duplicates merged into it), the latest last day first,
    each with ``valid``: whether it gives its discount today."""
    found = db.rows("SELECT code, customer_id, discount_percent, until FROM vipcard WHERE customer_id = ? OR "
                    "customer_id IN (SELECT id FROM customer WHERE merged_into = ?) ORDER BY until DESC, code",
                    (customer_id, customer_id))
    cards = [VipCard(code, cid, percent, date.fromisoformat(until)) for code, cid, percent, until in found]
    return [{"code": card.code, "discount_percent": card.discount_percent, "until": card.until.isoformat(),
             "valid": card.valid_at(now)} for card in cards]
