"""Customer endpoints: register, look up, get."""

from __future__ import annotations

from flask import jsonify, request

from .. import customers, rulebook, vouchers
from ..accounts import customer_view
from .blueprint import api
from .context import body, box, now
from .idempotency import idempotent


@api.post("/customers")
@idempotent
def register_customer():
    moment = now()
    fields = customers.validate_registration(body(), moment)
    customer = customers.register(box(), fields, moment)
    view = customer_view(customer, rulebook.in_force(moment), moment)
    return {**view, "vouchers_issued": vouchers.welcome_of(customer.id)}, 201


@api.get("/customers/lookup")
def lookup_customer():
    customer = customers.lookup(
        card=request.args.get("card"), phone=request.args.get("phone"), email=request.args.get("email"), box=box()
    )
    moment = now()
    return jsonify(customer_view(customer, rulebook.in_force(moment), moment))


@api.get("/customers/<customer_id>")
def get_customer(customer_id: str):
    moment = now()
    return jsonify(customer_view(customers.get(customer_id, box()), rulebook.in_force(moment), moment))
