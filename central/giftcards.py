"""Gift cards at central: sold at one shop, known in every shop, spent once brand-wide.

Each shop spends only cards it knows as unspent, but two shops offline can both spend one
card. Central applies the first sale that reaches it and opens a ``gift_card_double_use``
exception for the second (the sale itself stands: the goods have left the shop). A card
central never heard of, or asked for more than its value, opens ``gift_card_invalid``.
Every change goes to every shop as a ``gift_card.state`` feed item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import giftcards
from shared.times import parse_time
from sync import bodies
from sync.sale_bodies import GiftCardIssued, SaleCompleted

from . import db
from .errors import not_found

GIFT_CARD_STATE = "gift_card.state"
DOUBLE_USE, INVALID = "gift_card_double_use", "gift_card_invalid"
_COLUMNS = ("code", "amount", "expires_at", "device_id", "store_code", "used_sale", "used_device", "paid",
            "created_at")


@dataclass
class _Card:
    code: str
    amount: int
    expires_at: str
    used_sale: str | None = None
    paid: int | None = None
    new: bool = False
    changed: bool = False


def named_codes(entries: list[dict], method: str, *kinds_with_code: str) -> set[str]:
    """The codes the entries name: their sales' ``method`` payments, ``vouchers_issued`` and
    ``vouchers_voided``, and the ``code`` of entries of ``kinds_with_code``. Bodies are read
    loosely here; each entry's own reader refuses a bad one later."""
    codes: set[str] = set()

    def add(value: Any) -> None:
        if isinstance(value, str) and bodies.usable_key(value, bodies.CODE_MAX):
            codes.add(value)

    for entry in entries:
        body = entry.get("body")
        if not isinstance(body, dict):
            continue
        if entry.get("kind") in kinds_with_code:
            add(body.get("code"))
        for payment in body.get("payments") or () if isinstance(body.get("payments"), list) else ():
            if isinstance(payment, dict) and payment.get("method") == method:
                add(payment.get("code"))
        if method == "voucher":
            for issued in body.get("vouchers_issued") or () if isinstance(body.get("vouchers_issued"), list) else ():
                add(issued.get("code") if isinstance(issued, dict) else None)
            for code in body.get("vouchers_voided") or () if isinstance(body.get("vouchers_voided"), list) else ():
                add(code)
    return codes


class Book:
    """The cards one push touches: read when first named (locked on PostgreSQL), written by ``flush``."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.cards: dict[str, _Card | None] = {}
        self.feed: list[tuple] = []

    def lock(self, entries: list[dict]) -> None:
        """Read (and on PostgreSQL lock) every card the entries name, in code order, so two
        pushes naming the same cards never wait on each other in opposite orders."""
        for code in sorted(named_codes(entries, "gift_card", bodies.GIFT_CARD_ISSUED)):
            self._card(code)

    def _card(self, code: str) -> _Card | None:
        if code not in self.cards:
            found = db.rows("SELECT amount, expires_at, used_sale, paid FROM giftcard WHERE code = ?" + db.for_update(),
                            (code,))
            self.cards[code] = _Card(code, *found[0]) if found else None
        return self.cards[code]

    def issued(self, entry: dict, body: dict) -> str | None:
        """``gift_card.issued``: a new card; a code already sold elsewhere keeps its first sale."""
        facts = GiftCardIssued.read(body)
        if self._card(facts.code) is not None:
            self.batch._conflict(INVALID, entry, code=facts.code, problem="a gift card with this code already exists")
            return None
        card = self.cards[facts.code] = _Card(facts.code, facts.amount, facts.expires_at, new=True)
        self._announce(card)
        return None

    def sale(self, entry: dict, facts: SaleCompleted, customer_id: str | None) -> None:
        """The gift cards a sale paid with: used now, or an exception when they cannot have been."""
        for code, amount in facts.coded_payments("gift_card").items():
            card = self._card(code)
            details = {"code": code, "sale_id": facts.sale_id, "amount": amount}
            if card is None or amount > card.amount:
                problem = "no such gift card" if card is None else f"the card is worth {card.amount}"
                self.batch._conflict(INVALID, entry, customer_id=customer_id, problem=problem, **details)
            elif card.used_sale is not None and card.used_sale != facts.sale_id:
                self.batch._conflict(DOUBLE_USE, entry, customer_id=customer_id, first_sale=card.used_sale, **details)
            else:
                card.used_sale, card.paid, card.changed = facts.sale_id, amount, True
                self._announce(card)

    def _announce(self, card: _Card) -> None:
        status = giftcards.USED if card.used_sale else giftcards.ACTIVE
        body = {"code": card.code, "amount": card.amount, "expires_at": card.expires_at, "status": status}
        if card.used_sale:
            body.update(used_sale=card.used_sale, paid=card.paid)
        self.feed.append((None, GIFT_CARD_STATE, body))

    def flush(self) -> None:
        """Write the new cards and the ones a sale used."""
        device, stamp = self.batch.device, self.batch.stamp
        cards = [c for c in self.cards.values() if c is not None]
        db.insert_rows("giftcard", _COLUMNS, [
            (c.code, c.amount, c.expires_at, device.id, device.store_code, c.used_sale,
             device.id if c.used_sale else None, c.paid, stamp) for c in cards if c.new])
        db.update_many("giftcard", "code", ("used_sale", "used_device", "paid"),
                       [(c.code, c.used_sale, device.id, c.paid) for c in cards if c.changed and not c.new])


def look_up(code: str, now: datetime) -> dict[str, Any]:
    """The gift card with ``code`` (upper-cased, as the till API reads it) as central knows it:
    amount, expiry, status now, the shop that sold it and the sale that used it; 404
    ``gift_card_not_found``."""
    code = code.strip().upper()
    found = db.rows("SELECT amount, expires_at, store_code, used_sale, paid FROM giftcard WHERE code = ?", (code,)) \
        if bodies.usable_key(code, bodies.CODE_MAX) else []
    if not found:
        raise not_found("gift_card_not_found", f"no gift card with code {code}")
    amount, expires_at, store, used_sale, paid = found[0]
    status = giftcards.GiftCard(code, amount, parse_time(expires_at), used_sale is not None).status(now)
    card = {"code": code, "amount": amount, "expires_at": expires_at, "status": status, "store": store}
    if used_sale is not None:
        card.update(used_sale=used_sale, paid=paid)
    return card
