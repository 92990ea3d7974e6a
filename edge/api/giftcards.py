"""Gift cards: sell one, look one up."""

from __future__ import annotations

from flask import g, jsonify

from .. import giftcards
from .blueprint import api
from .context import body, box, now
from .idempotency import idempotent


@api.post("/gift-cards")
@idempotent
def issue_gift_card():
    return giftcards.issue(box(), body(), g.till.id, now()), 201


@api.get("/gift-cards/<code>")
def get_gift_card(code: str):
    return jsonify(giftcards.get(code, now()))
