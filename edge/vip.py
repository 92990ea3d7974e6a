"""VIP cards at the till (``shared.vip``): kept from central's signed ``vip.issued`` acts, named
by a sale's ``vip_code``.

A card gives its discount only to its own customer and through its last day; the till's sale
or quote naming a card that is unknown here, another customer's or past its day is
``422 vip_card_invalid`` and nothing is written. A sale that names only the card (no customer
id or card number) is the card's customer's.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.vip import VipCard, code_problem
from sync.acts import verify_act

from .errors import ApiError
from .models import VipCard as VipCardRow

log = logging.getLogger("fidelis.edge.vip")


def issued(act: Any, central_key: Ed25519PublicKey) -> None:
    """Keep a card from a ``vip.issued`` feed item once central's signature checks out."""
    try:
        verify_act(central_key, act)
        body = act["body"]
        if code_problem(body["code"]) or type(body["discount_percent"]) is not int:
            raise ValueError(f"act {act.get('id')} holds no VIP card")
        date.fromisoformat(body["until"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("ignoring a VIP card: %s", exc)
        return
    known = VipCardRow.get_or_none(VipCardRow.code == body["code"])
    if known is not None and known.issued_at > act["at"]:
        return  # a later act already renewed it
    VipCardRow.replace(code=body["code"], customer_id=act["customer_id"], discount_percent=body["discount_percent"],
                       until=body["until"], issued_at=act["at"]).execute()


def _invalid(message: str) -> ApiError:
    return ApiError(422, "vip_card_invalid", message)


def card(code: str, customer_id: str | None, now: datetime) -> VipCard:
    """The VIP card a sale names, checked for the sale's customer (None: the card decides) and moment."""
    row = VipCardRow.get_or_none(VipCardRow.code == code)
    if row is None:
        raise _invalid(f"{code} is not a VIP card this shop knows")
    found = VipCard(row.code, row.customer_id, row.discount_percent, date.fromisoformat(row.until))
    if customer_id is not None and found.customer_id != customer_id:
        raise _invalid(f"VIP card {code} belongs to another customer")
    if not found.valid_at(now):
        raise _invalid(f"VIP card {code} ended on {row.until}")
    return found
