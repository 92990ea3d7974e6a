"""Wallet endpoints: load money, convert points to credit."""

from __future__ import annotations

from flask import g

from .. import wallet
from . import idempotency
from .blueprint import api
from .context import body, box, now
from .idempotency import idempotent


@api.post("/customers/<customer_id>/wallet/loads")
@idempotent
def load_wallet(customer_id: str):
    return wallet.load(box(), customer_id, body(), g.till.id, now()), 201


@api.post("/customers/<customer_id>/wallet/conversions")
def convert_points(customer_id: str):
    earlier = idempotency.replayed()
    if earlier is not None:
        return earlier
    # Central holds the points before any lock is taken, as for a sale that spends them.
    request, hold = wallet.convert(box(), customer_id, body(), now())
    try:
        response, status = idempotency.run(lambda: (wallet.commit_conversion(box(), request, hold, now()), 201))
    except BaseException:
        wallet.release_points(box(), hold)
        raise
    if response.get_json().get("id") != hold.id:
        wallet.release_points(box(), hold)  # a concurrent repeat of this request was recorded instead
    return response, status
