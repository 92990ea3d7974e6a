"""Central's JSON API for head office and integrations, ``/api/v1``.

Every endpoint but ``/health`` and ``/openapi.json`` needs ``Authorization: Bearer <token>``
(``fidelis-central token create``). POSTs that create things honour ``Idempotency-Key``.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import peewee
from flask import Blueprint, Response, g, jsonify, request, stream_with_context

from shared.times import format_time
from sync.bodies import usable_key
from sync.web import idempotency_key, replay, require_bearer

from . import (activity, auth, care, customers, dashboard, enrolment, giftcards, pairing, reports, schemas, search,
               settings, stores, traffic, vip, vouchers)
from . import exceptions as queue
from . import rules as rulebook
from .db import database
from .errors import CentralError
from .models import IdempotencyRecord
from .openapi import document as openapi_document
from .web import clock, declared_body, int_arg, int_path, state

api = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.health", "api.openapi"}


@api.before_request
def require_token():
    """``Authorization: Bearer <token>`` on every endpoint but the public ones; else 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.token = require_bearer(auth.authenticate, "a valid API token is required: Authorization: Bearer <token>")
    return None


def api_actor() -> str:
    """The request's API token as the audit log names it: ``token:<name>``."""
    return f"token:{g.token.name}"


def _idempotent(produce: Callable[[], tuple[dict[str, Any], int]]):
    """Run ``produce`` once per ``Idempotency-Key``: a repeat replays the first response."""
    asked = idempotency_key()
    if asked is None:
        body, status = produce()
        return jsonify(body), status
    where = (IdempotencyRecord.token_id == g.token.id) & (IdempotencyRecord.key == asked.key)
    found = IdempotencyRecord.get_or_none(where)
    if found is not None:
        return replay(asked, found.request_hash, found.response, found.status)
    try:
        with database.atomic():
            body, status = produce()
            IdempotencyRecord.create(token_id=g.token.id, key=asked.key, request_hash=asked.fingerprint,
                                     status=status, response=json.dumps(body), created_at=format_time(clock()))
    except peewee.IntegrityError:
        found = IdempotencyRecord.get_or_none(where)
        if found is None:
            raise
        return replay(asked, found.request_hash, found.response, found.status)
    return jsonify(body), status


@api.get("/health")
def health():
    return jsonify({"status": "ok"})


@api.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@api.get("/customers/<customer_id:customer_id>")
def get_customer(customer_id: str):
    return jsonify(customers.get(customer_id, clock()))


@api.get("/customers")
def find_customer():
    return jsonify(customers.by_card(request.args.get("card"), clock()))


@api.get("/customers/search")
def search_customers():
    """Customers by card (old ones too), e-mail, phone or name prefix: ``?q=…&limit=50&offset=0``."""
    query = request.args.get("q", "")
    if not query.strip() or not usable_key(query, search.MAX_QUERY):
        raise CentralError(400, "bad_query",
                           f"q must be 1-{search.MAX_QUERY} characters: a card, an e-mail, a phone or a name")
    limit = int_arg("limit", 50, 1, 500)
    return jsonify(search.find(query, clock(), limit, int_arg("offset", 0, 0, 10**9)))


@api.get("/customers/<customer_id>/activity")
def customer_activity(customer_id: str):
    """The customer's activity, newest first (``?limit=50&offset=0``); a merged id gives the one kept."""
    limit, offset = int_arg("limit", 50, 1, 500), int_arg("offset", 0, 0, 10**9)
    return jsonify(activity.feed(customers.get(customer_id, clock())["id"], limit, offset))


def _actor() -> str:
    """Who acts through the JSON API, for the audit log: the token's name."""
    return f"token:{g.token.name}"


@api.post("/customers/<customer_id>/adjustments")
def adjust_customer(customer_id: str):
    def produce():
        body = declared_body(schemas.Adjustment)
        return care.adjust(customer_id, body, _actor(), state().key, clock()), 201
    return _idempotent(produce)


@api.put("/customers/<customer_id>/tier")
def set_customer_tier(customer_id: str):
    return jsonify(care.set_tier(customer_id, declared_body(schemas.TierChoice), _actor(), state().key, clock()))


@api.post("/customers/<customer_id>/card")
def replace_customer_card(customer_id: str):
    def produce():
        return care.replace_card(customer_id, declared_body(schemas.NewCard), _actor(), state().key, clock()), 200
    return _idempotent(produce)


@api.post("/customers/<customer_id>/vip")
def issue_vip_card(customer_id: str):
    def produce():
        return vip.issue(customer_id, declared_body(vip.VipIssue), _actor(), state().key, clock()), 201
    return _idempotent(produce)


@api.post("/customers/merge")
def merge_customers():
    def produce():
        return care.merge(declared_body(schemas.Merge), _actor(), state().key, clock()), 200
    return _idempotent(produce)


@api.get("/gift-cards/<code>")
def get_gift_card(code: str):
    """A gift card by code, upper-cased as the tills read it: is it still good, where was it sold."""
    return jsonify(giftcards.look_up(code, clock()))


@api.get("/vouchers/<code>")
def get_voucher(code: str):
    """A voucher by code, upper-cased as the tills read it: is it still good, whose is it."""
    return jsonify(vouchers.look_up(code, clock()))


@api.get("/stores")
def list_stores():
    return jsonify(stores.list_stores())


@api.post("/stores")
def create_store():
    def produce():
        body = declared_body(schemas.NewStore)
        store = stores.create_store(body.code, body.name, clock(), actor=api_actor())
        return {"code": store.code, "name": store.name, "devices": []}, 201
    return _idempotent(produce)


@api.post("/enrolments")
def create_enrolment():
    def produce():
        body = declared_body(schemas.NewEnrolment)
        token, expires_at = enrolment.create_token(body.store, clock(), body.expires_in_hours, actor=api_actor())
        return {"token": token, "store": body.store, "expires_at": expires_at}, 201
    return _idempotent(produce)


@api.post("/pairings/<code>/approve")
def approve_pairing(code: str):
    """Head office approves the code a new box printed: ``{"store": "S001"}``."""
    body = declared_body(schemas.PairingApproval)
    return jsonify(pairing.approve(code, body.store, clock(), f"token {g.token.name}",
                                   request.remote_addr or "unknown"))


@api.get("/rules")
def list_rules():
    return jsonify(rulebook.list_versions())


@api.post("/rules")
def publish_rules():
    def produce():
        document = rulebook.read_document(request.get_data(cache=True) or b"")
        item = rulebook.publish(document, state().key, clock(), actor=api_actor())
        return {"version": item["version"], "effective_from": item["effective_from"]}, 201
    return _idempotent(produce)


@api.get("/exceptions")
def list_exceptions():
    status = request.args.get("status", "open")
    if status not in ("open", "resolved", "all"):
        raise CentralError(400, "bad_query", "status must be open, resolved or all")
    limit = int_arg("limit", settings.EXCEPTIONS_DEFAULT_LIMIT, 1, settings.EXCEPTIONS_MAX_LIMIT)
    kind = request.args.get("kind")
    if kind is not None and not usable_key(kind, 40):
        raise CentralError(400, "bad_query", "kind must be an exception kind such as overdraft")
    return jsonify(queue.list_exceptions(status, kind, limit))


@api.post("/exceptions/<exception_id>/resolve")
def resolve_exception(exception_id: str):
    number = int_path(exception_id, code="exception_not_found", what="exception")
    body = declared_body(schemas.Resolution) if request.get_data(cache=True) else schemas.Resolution()
    return jsonify(queue.resolve(number, body.resolution, clock(), actor=api_actor()))


@api.get("/traffic")
def traffic_report():
    """Visits, sales and conversion per shop and day (``?store=S001&from=YYYY-MM-DD&to=…``)."""
    store = stores.store_filter(request.args.get("store"))  # as the dashboard's
    return jsonify(traffic.report(store, request.args.get("from"), request.args.get("to")))


@api.get("/reports/liability")
def liability_report():
    """The monthly points-liability report (``?month=YYYY-MM``), reconciled to members' balances."""
    return jsonify(reports.liability(request.args.get("month"), clock()))


@api.get("/dashboard")
def dashboard_figures():
    """The dashboard's figures (``?store=S001&from=YYYY-MM-DD&to=YYYY-MM-DD``; default: the brand, 30 days)."""
    now = clock()
    store, first, last = dashboard.period(request.args.get("store"), request.args.get("from"),
                                          request.args.get("to"), now)
    return jsonify(dashboard.figures(store, first, last, now))


@api.get("/devices/<device_id>")
def get_device(device_id: str):
    return jsonify(stores.device_view(stores.get_device(device_id)))


@api.get("/devices/<device_id>/log")
def export_device_log(device_id: str):
    stores.get_device(device_id)
    # Every check happens here: once the stream has started, an error can no longer be a JSON answer.
    after = int_arg("after", 0)
    lines = stores.export_log(device_id, after)
    return Response(stream_with_context(line + "\n" for line in lines), mimetype="application/x-ndjson")


@api.post("/devices/<device_id>/revoke")
def revoke_device(device_id: str):
    return jsonify(stores.device_view(stores.revoke_device(device_id, clock(), actor=api_actor())))
