"""Gift cards at the edge: sold at a till, spent in full by one sale, known from central's feed.

Offline, a shop accepts only cards it knows as unspent: the ones it sold and the ones central
told it about (``gift_card.state`` in the feed). Two shops spending one card while both are
offline is found by central, which opens a ``gift_card_double_use`` exception.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Sequence

from shared import giftcards
from shared.engine import Payment
from shared.times import format_time, parse_time
from sync.sale_bodies import GiftCardIssued

from . import rulebook
from .box import EdgeBox
from .db import database, write_transaction
from .errors import ApiError, not_found
from .models import GiftCard
from .schemas import GiftCardRequest
from .validation import read_body

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread off a card


def new_code() -> str:
    """A fresh card code: ``G`` and 15 characters, about 75 bits of chance."""
    return "G" + "".join(secrets.choice(_ALPHABET) for _ in range(15))


def _card(row: GiftCard) -> giftcards.GiftCard:
    return giftcards.GiftCard(row.code, row.amount, parse_time(row.expires_at), row.used_sale is not None)


def view(row: GiftCard, now: datetime) -> dict[str, Any]:
    """The card as the till API answers it."""
    return {"code": row.code, "amount": row.amount, "expires_at": row.expires_at, "status": _card(row).status(now)}


def issue(box: EdgeBox, body: Any, till_id: str | None, now: datetime) -> dict[str, Any]:
    """Sell a card: 409 ``gift_card_exists`` when the code is taken; logged as ``gift_card.issued``."""
    wanted = read_body(GiftCardRequest, body)
    rules = rulebook.in_force(now)
    with write_transaction():
        code = wanted.code or new_code()
        if GiftCard.get_or_none(GiftCard.code == code) is not None:
            raise ApiError(409, "gift_card_exists", f"a gift card with code {code} already exists")
        stamp = format_time(now)
        expires = format_time(giftcards.expiry(now, rules.gift_card_valid_days))
        row = GiftCard.create(code=code, amount=wanted.amount, expires_at=expires, issued_at=stamp, updated_at=stamp)
        box.changelog.write(GiftCardIssued(code, wanted.amount, expires, till_id))
    return view(row, now)


def get(code: str, now: datetime) -> dict[str, Any]:
    """A card by code (any case); 404 ``gift_card_not_found``."""
    row = GiftCard.get_or_none(GiftCard.code == code.upper())
    if row is None:
        raise not_found("gift_card_not_found", f"no gift card with code {code}")
    return view(row, now)


def check(payments: Sequence[Payment] | None, now: datetime) -> list[dict[str, Any]]:
    """What each card the payments name would give and lose, when all can pay now; 422
    ``gift_card_used`` or ``gift_card_invalid`` naming the first that cannot. Reads only: a
    quote asks this, and the sale again inside its transaction."""
    paid = giftcards.codes_paid(payments, "gift_card")
    if not paid:
        return []
    rows = {row.code: row for row in GiftCard.select().where(GiftCard.code.in_([c.upper() for c in paid]))}
    for code, amount in paid.items():
        row = rows.get(code.upper())
        problem = giftcards.spend_problem(_card(row) if row else None, amount, now)
        if problem:
            raise ApiError(422, problem[0], problem[1], {"code": code})
    return [{"code": rows[code.upper()].code, "value": rows[code.upper()].amount, "paid": amount,
             "forfeited": giftcards.forfeited(rows[code.upper()].amount, amount)} for code, amount in paid.items()]


def spend(payments: Sequence[Payment] | None, sale_id: str, now: datetime) -> list[dict[str, Any]]:
    """Use up the cards the payments name (inside the sale's transaction); 422 ``gift_card_used``
    or ``gift_card_invalid`` before anything is written (``check``). Returns what each card
    gave and lost."""
    spent = check(payments, now)
    stamp = format_time(now)
    for card in spent:
        GiftCard.update(used_sale=sale_id, paid=card["paid"], updated_at=stamp).where(
            GiftCard.code == card["code"]).execute()
    return spent


def spent_by(sale_id: str) -> list[dict[str, Any]]:
    """The cards a stored sale used up."""
    return [{"code": row.code, "value": row.amount, "paid": row.paid or 0,
             "forfeited": giftcards.forfeited(row.amount, row.paid or 0)}
            for row in GiftCard.select().where(GiftCard.used_sale == sale_id).order_by(GiftCard.code)]


def apply_state(body: dict[str, Any], now: datetime) -> None:
    """A ``gift_card.state`` feed item: learn a card, or that a card was used elsewhere.

    A card used here stays used whatever central says (its sale may not have reached central yet).
    """
    code, amount, expires = body.get("code"), body.get("amount"), body.get("expires_at")
    if not isinstance(code, str) or type(amount) is not int or not isinstance(expires, str):
        return
    stamp = format_time(now)
    used_elsewhere = body.get("status") == giftcards.USED and body.get("used_sale") or None
    # Plain statements: a new box's first pull applies every card of the brand (edge.feedapply).
    table = GiftCard._meta.table_name
    found = database.execute_sql(f"SELECT used_sale FROM {table} WHERE code = ?", (code,)).fetchone()
    if found is None:
        database.execute_sql(f"INSERT INTO {table} (code, amount, expires_at, used_sale, paid, updated_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (code, amount, expires, used_elsewhere, body.get("paid"), stamp))
    elif found[0] is None and used_elsewhere:
        database.execute_sql(f"UPDATE {table} SET used_sale = ?, paid = ?, updated_at = ? WHERE code = ?",
                             (used_elsewhere, body.get("paid"), stamp, code))
