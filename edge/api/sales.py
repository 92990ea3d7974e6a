"""Basket quotes, sales and returns."""

from __future__ import annotations

from flask import current_app, g, jsonify

from .. import returns, sales, saleviews
from ..peripherals import notify_quote, notify_sale
from . import idempotency
from .blueprint import api
from .context import body, box, now
from .idempotency import idempotent


@api.post("/baskets/quote")
def quote_basket():
    request = sales.validate_sale(body(), payments_required=False)
    result = sales.quote(request, now(), box())
    notify_quote(current_app, result)
    return jsonify(result)


@api.post("/sales")
def commit_sale():
    request = sales.validate_sale(body(), payments_required=True)
    earlier = idempotency.replayed()
    if earlier is not None:
        return earlier
    # Asking central happens before any lock is taken: a slow WAN never stalls other tills.
    ticket = sales.authorize(box(), request, now())
    try:
        response, status = idempotency.run(lambda: (sales.commit(box(), request, g.till.id, now(), ticket), 201))
    except BaseException:
        sales.release(box(), ticket)  # nothing was recorded: give central's hold back now
        raise
    answer = response.get_json()
    if answer.get("id") != ticket.sale_id:
        sales.release(box(), ticket)  # a concurrent repeat of this request was recorded instead
    if status == 201:
        notify_sale(current_app, answer)  # after the commit; never raises
    return response, status


@api.get("/sales/<sale_id>")
def get_sale(sale_id: str):
    return jsonify(saleviews.sale_view(saleviews.get(sale_id)))


@api.post("/sales/<sale_id>/returns")
@idempotent
def return_sale_lines(sale_id: str):
    wanted = returns.validate_return(body())
    return returns.return_lines(box(), sale_id, wanted, now()), 201
