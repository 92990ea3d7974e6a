"""Central's OpenAPI 3.1 document (``GET /api/v1/openapi.json``): the JSON API and the sync API.

The bodies come from their declarations (``central.schemas`` for requests, ``central.replies``
for responses); this module says which route takes and answers which, and every error a route
can give."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sync.declared import components
from sync.untrusted import MAX_INT64

from . import replies, schemas, search, settings

_STR = {"type": "string"}
_OBJ = {"type": "object"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    texts = {
        "400": "malformed_json: not one well-formed JSON document (invalid, a duplicate key, NaN, a lone "
               "surrogate, nested deeper than 64 levels); bad_query: a query parameter out of its bounds "
               "(integers in ASCII digits only); bad_idempotency_key: an empty or over-long Idempotency-Key",
        "401": "Missing or invalid credentials (unauthorized; for sync: unknown_device, bad_signature, "
               "stale_request, replayed_request)",
        "403": "Refused (device_revoked, enrollment_token_invalid, pairing_invalid)",
        "404": "Not found (customer_not_found, store_not_found, device_not_found, exception_not_found, "
               "gift_card_not_found, voucher_not_found)",
        "409": "Conflict (idempotency_conflict: this Idempotency-Key was used with another request; store_exists, "
               "store_mismatch, device_conflict, fork_detected, device_frozen, seq_gap, exception_resolved, "
               "sale_already_recorded, hold_settled, pairing_used, card_blocked: a card reported lost, card_in_use, "
               "customer_merged: the customer was merged into details.merged_into)",
        "410": "Gone (pairing_expired)",
        "413": "request_entity_too_large: the body is over 8 MiB",
        "422": "Validation or business rule refused (validation_error with details.problems, invalid_rules, "
               "invalid_store_code, invalid_store_name, invalid_expiry, insufficient_points, unknown_tier); "
               "nothing was written",
        "429": "Too many attempts from this address (rate_limited; details.retry_after in seconds)",
        "503": "Transient fault (database_unavailable); retry with backoff",
    }
    return {code: _json(_ref("Error"), texts[code]) for code in codes}


def _op(summary: str, responses: dict[str, Any], *, body: str | None = None, params: list | None = None,
        errors: tuple[str, ...] = ("401",), security: list | None = None, idempotent: bool = False) -> dict[str, Any]:
    # Every route that reads a body can be 400 malformed_json or 413; every one that touches the
    # database can be 503 database_unavailable (all but the two public documents).
    codes = set(errors) | ({"400", "413"} if body else set()) | ({"503"} if errors else set())
    operation: dict[str, Any] = {"summary": summary, "responses": {**responses, **_errors(*sorted(codes))}}
    parameters = list(params or [])
    if idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                           "description": "1 to 200 characters (400 bad_idempotency_key otherwise). The same key "
                                          "and body replays the first response; another body is 409."})
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if security is not None:
        operation["security"] = security
    return operation


def _optional_body(operation: dict[str, Any]) -> dict[str, Any]:
    operation["requestBody"]["required"] = False
    return operation


def _path(name: str, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or _STR}


def _query(name: str, schema: dict | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or _STR}


SCHEMAS: dict[str, Any] = {
    # Not a body declared here: the rules engine checks it (shared.rules, every problem listed).
    "RulesDocument": {"type": "object", "description": 'docs/contract.md "Rules document"'},
    **components(*schemas.REQUESTS, *replies.RESPONSES),
}
"""Every other body of central's APIs, from its one declaration in ``central.schemas`` or ``central.replies``."""

_SIGNED = [{"deviceSignature": []}]
_PAGE = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
         _query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0})]
_CHANGE = ("400", "401", "404", "409", "422")
_SEQ = {"type": "integer", "minimum": 0, "maximum": MAX_INT64, "default": 0,
        "description": "exclusive; in ASCII digits (400 bad_query otherwise)"}
_ARRAY = lambda name: {"type": "array", "items": _ref(name)}  # noqa: E731

PATHS: dict[str, Any] = {
    "/api/v1/health": {"get": _op("Liveness", {"200": _json(_ref("Health"), "ok")}, errors=(), security=[])},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json(_OBJ, "OpenAPI 3")}, errors=(), security=[])},
    "/api/v1/customers": {"get": _op(
        "Find a customer by card number", {"200": _json(_ref("Customer"), "found")},
        params=[_query("card")], errors=("400", "401", "404", "409"))},
    "/api/v1/customers/{customer_id}": {"get": _op(
        "A customer with the brand-wide balance", {"200": _json(_ref("Customer"), "found")},
        params=[_path("customer_id")], errors=("401", "404"))},
    "/api/v1/customers/search": {"get": _op(
        "Customers by card (a lost one too), e-mail, phone or name prefix, by last name",
        {"200": _json(_ref("CustomerPage"), "a page of customers")},
        params=[{"name": "q", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": search.MAX_QUERY},
                 "description": "a card number, an e-mail, a phone or the start of a name (400 bad_query when "
                                "blank)"}, *_PAGE], errors=("400", "401"))},
    "/api/v1/customers/{customer_id}/activity": {"get": _op(
        "The customer's activity, newest first: enrolment, earns, spends, returns, corrections, tiers, cards, merges",
        {"200": _json(_ref("Activity"), "a page of activity")}, params=[_path("customer_id"), *_PAGE],
        errors=("400", "401", "404"))},
    "/api/v1/customers/{customer_id}/adjustments": {"post": _op(
        "Correct a customer's points: a ledger movement made and signed by central, with its reason",
        {"201": _json(_ref("AdjustmentResult"), "made")}, body="Adjustment", params=[_path("customer_id")],
        errors=_CHANGE, idempotent=True)},
    "/api/v1/customers/{customer_id}/tier": {"put": _op(
        "Set a customer's tier, locked against central's tier decision or not",
        {"200": _json(_ref("Customer"), "the customer")}, body="TierChoice", params=[_path("customer_id")],
        errors=_CHANGE)},
    "/api/v1/customers/{customer_id}/card": {"post": _op(
        "Replace a lost card: the old one is blocked everywhere (edges after their next sync)",
        {"200": _json(_ref("Customer"), "the customer with the new card")}, body="NewCard",
        params=[_path("customer_id")], errors=_CHANGE, idempotent=True)},
    "/api/v1/customers/{customer_id}/vip": {"post": _op(
        "Issue or renew a VIP card: a discount rate until a last day, given at every shop",
        {"201": _json(_ref("VipCard"), "issued")}, body="VipIssue", params=[_path("customer_id")],
        errors=_CHANGE, idempotent=True)},
    "/api/v1/customers/merge": {"post": _op(
        "Merge a duplicate customer into another: points, lots, history and the card go to the one kept",
        {"200": _json(_ref("Customer"), "the customer kept")}, body="Merge", errors=_CHANGE, idempotent=True)},
    "/api/v1/gift-cards/{code}": {"get": _op(
        "A gift card by its code (upper-cased): amount, expiry, status now, the shop that sold it, its use",
        {"200": _json(_ref("GiftCard"), "found")}, params=[_path("code")], errors=("401", "404"))},
    "/api/v1/vouchers/{code}": {"get": _op(
        "A voucher by its code (upper-cased): amount, expiry, status now, its customer, shops and sales",
        {"200": _json(_ref("Voucher"), "found")}, params=[_path("code")], errors=("401", "404"))},
    "/api/v1/traffic": {
        "get": _op("Visits, sales and conversion (basis points) per shop and day",
                   {"200": _json({"type": "array", "items": {"type": "object"}}, "report")},
                   params=[_query("store", {"type": "string", "maxLength": 16}),
                           _query("from", {"type": "string", "format": "date"}),
                           _query("to", {"type": "string", "format": "date"})],
                   errors=("400", "401")),
    },
    "/api/v1/stores": {
        "get": _op("Stores and their devices", {"200": _json(_ARRAY("Store"), "stores")}),
        "post": _op("Add a store", {"201": _json(_ref("Store"), "created")}, body="NewStore",
                    errors=("400", "401", "409", "422"), idempotent=True)},
    "/api/v1/enrolments": {"post": _op(
        "Make a one-time enrolment token", {"201": _json(_ref("Enrolment"), "created")}, body="NewEnrolment",
        errors=("400", "401", "404", "409", "422"), idempotent=True)},
    "/api/v1/pairings/{code}/approve": {"post": _op(
        "Approve the pairing code a new box printed, for a store", {"200": _json(_ref("ApprovedPairing"), "approved")},
        body="PairingApproval", params=[_path("code")], errors=("400", "401", "404", "409", "410", "422", "429"))},
    "/api/v1/rules": {
        "get": _op("Published rules versions", {"200": _json(_ARRAY("RulesVersion"), "versions")}),
        "post": _op("Publish a rules version", {"201": _json(_ref("Published"), "published")}, body="RulesDocument",
            errors=("400", "401", "409", "422"), idempotent=True)},
    "/api/v1/exceptions": {"get": _op(
        "The exceptions queue (open by default)", {"200": _json(_ARRAY("Exception"), "exceptions")},
        params=[_query("status", {"type": "string", "enum": ["open", "resolved", "all"]}),
                _query("kind", {"type": "string", "maxLength": 40}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": settings.EXCEPTIONS_MAX_LIMIT,
                                 "default": settings.EXCEPTIONS_DEFAULT_LIMIT})], errors=("400", "401"))},
    "/api/v1/exceptions/{exception_id}/resolve": {"post": _optional_body(_op(
        "Resolve an exception", {"200": _json(_ref("Exception"), "resolved")}, body="Resolution",
        params=[_path("exception_id", {"type": "integer", "minimum": 1, "maximum": MAX_INT64})],
        errors=("400", "401", "404", "409", "422")))},
    "/api/v1/reports/liability": {"get": _op(
        "The monthly points-liability report, by store, reconciled to members' balances",
        {"200": _json(_ref("LiabilityReport"), "report")},
        params=[{**_query("month", {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}), "required": True,
                 "description": "YYYY-MM; the month in progress runs to the end of today (400 bad_query for a "
                                "malformed month or one that has not started)"}],
        errors=("400", "401"))},
    "/api/v1/dashboard": {"get": _op(
        "The dashboard's figures for the brand or one shop over a period (docs/reports.md)",
        {"200": _json(_ref("Dashboard"), "figures")},
        params=[_query("store", {"type": "string", "maxLength": 16}),
                _query("from", {"type": "string", "format": "date"}),
                _query("to", {"type": "string", "format": "date"})],
        errors=("400", "401"))},
    "/api/v1/devices/{device_id}": {"get": _op(
        "A device", {"200": _json(_ref("Device"), "device")}, params=[_path("device_id")], errors=("401", "404"))},
    "/api/v1/devices/{device_id}/log": {"get": _op(
        "The device's log as central holds it: canonical JSON lines with sig, oldest first",
        {"200": {"description": "JSON lines", "content": {"application/x-ndjson": {"schema": _STR}}}},
        params=[_path("device_id"), _query("after", _SEQ)], errors=("400", "401", "404"))},
    "/api/v1/devices/{device_id}/revoke": {"post": _op(
        "Revoke a device", {"200": _json(_ref("Device"), "revoked")}, params=[_path("device_id")],
        errors=("401", "404"))},
    "/sync/v1/enroll": {"post": _op(
        "Enrol a device with a one-time token", {"201": _json(_ref("EnrollResponse"), "enrolled")},
        body="EnrollRequest", errors=("400", "403", "409", "422"), security=[])},
    "/sync/v1/pairings": {"post": _op(
        "A new box asks for a pairing code (printed in the shop, approved by head office)",
        {"201": _json(_ref("PairingCode"), "code made")}, body="PairingRequest",
        errors=("400", "422", "429"), security=[])},
    "/sync/v1/pairings/poll": {"post": _op(
        "Has the code been approved? Once it has, the box is enrolled (single use)",
        {"200": _json(_ref("PairingState"), "pending or approved")}, body="PairingPoll",
        errors=("400", "403", "409", "410", "429"), security=[])},
    "/sync/v1/head": {"get": _op("The device's head as central holds it", {"200": _json(_ref("Head"), "head")},
                                 params=[_query("local_seq", {**_SEQ, "description": "the last seq of the "
                                                              "device's own log (head office sees the backlog)"})],
                                 errors=("400", "401", "403"), security=_SIGNED)},
    "/sync/v1/push": {"post": _op(
        "Push up to 500 consecutive entries", {"200": _json(_ref("PushResponse"), "applied")}, body="PushRequest",
        errors=("400", "401", "403", "409", "422", "503"), security=_SIGNED)},
    "/sync/v1/pull": {"get": _op(
        "The store's feed after a cursor", {"200": _json(_ref("Feed"), "items")},
        params=[_query("since", _SEQ), _query("limit", {"type": "integer", "minimum": 1,
                                                        "maximum": settings.PULL_MAX_LIMIT,
                                                        "default": settings.PULL_DEFAULT_LIMIT})],
        errors=("400", "401", "403"), security=_SIGNED)},
    "/sync/v1/customers": {"get": _op(
        "Look a card (or id) up for a shop that does not know it; the shop then knows the customer "
        "and is sent the customer's later changes (409 card_blocked with the signed act, 404 unknown)",
        {"200": _json(_ref("CustomerLookup"), "the customer's customer.state body and how it was found")},
        params=[_query("card"), _query("id")], errors=("400", "401", "403", "404", "409", "422"),
        security=_SIGNED)},
    "/sync/v1/authorize": {"post": _op(
        "Hold points for a sale against the brand-wide balance", {"200": _json(_ref("Authorization"), "held")},
        body="AuthorizeRequest", errors=("400", "401", "403", "404", "409", "422"), security=_SIGNED)},
    "/sync/v1/holds/{sale_id}": {"delete": _op(
        "Release the hold of a sale the device did not record (idempotent; only the device that made it)",
        {"200": _json(_ref("Release"), "released, or nothing to release")}, params=[_path("sale_id")],
        errors=("401", "403", "409", "422"), security=_SIGNED)},
    "/sync/v1/wallet/authorize": {"post": _op(
        "Hold wallet money for a sale against the brand-wide wallet (422 insufficient_wallet)",
        {"200": _json(_ref("Authorization"), "held; available is what the wallet has left beside the hold")},
        body="WalletAuthorizeRequest", errors=("400", "401", "403", "404", "409", "422"), security=_SIGNED)},
    "/sync/v1/wallet/holds/{sale_id}": {"delete": _op(
        "Release the wallet hold of a sale the device did not record (idempotent; only the device that made it)",
        {"200": _json(_ref("Release"), "released, or nothing to release")}, params=[_path("sale_id")],
        errors=("401", "403", "409", "422"), security=_SIGNED)},
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    try:
        release = version("fidelis")
    except PackageNotFoundError:  # running from a source tree
        release = "0"
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fidelis central API", "version": release,
                 "description": "Head-office JSON API (/api/v1) and the edge sync API (/sync/v1, "
                                "docs/sync-protocol.md)."},
        "servers": [{"url": "/"}],
        "security": [{"apiToken": []}],
        "components": {
            "securitySchemes": {
                "apiToken": {"type": "http", "scheme": "bearer"},
                "deviceSignature": {"type": "apiKey", "in": "header", "name": "X-Fidelis-Signature",
                                    "description": "Ed25519 request signature with X-Fidelis-Device, "
                                                   "X-Fidelis-Timestamp and X-Fidelis-Nonce"},
            },
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
