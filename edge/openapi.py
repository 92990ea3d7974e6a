"""The till API's OpenAPI 3.1 document (served at ``GET /api/v1/openapi.json``).

The bodies come from their declarations (``edge.schemas``); this module says which route
takes and answers which, and every error a route can give.
"""

from __future__ import annotations

import copy
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sync.declared import components

from . import replies, schemas
from .schemas import SCAN_TIMEOUT_DEFAULT, SCAN_TIMEOUT_MAX


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR_TEXTS = {
    "400": "malformed_json: not one well-formed JSON document (invalid, a duplicate key, NaN, a lone "
           "surrogate, nested deeper than 64 levels); bad_idempotency_key: an empty or over-long "
           "Idempotency-Key; bad_lookup, bad_timeout: a bad query",
    "401": "unauthorized: missing or invalid till key",
    "404": "customer_not_found, sale_not_found, print_job_not_found, gift_card_not_found",
    "409": "card_in_use, email_in_use, phone_in_use, gift_card_exists, card_blocked (a card head office blocked as lost), "
           "idempotency_conflict (this Idempotency-Key was used with another request)",
    "413": "request_entity_too_large: the body is over 1 MiB",
    "422": "validation_error (details.problems lists every problem) or a business rule refused "
           "(payment_mismatch, insufficient_points, redeem_limit_exceeded, reward_limit_exceeded, "
           "unknown_reward, customer_required, return_exceeds_sale, insufficient_wallet, "
           "wallet_ceiling_exceeded, unknown_wallet_type, wallet_amount_fixed, gift_card_used, "
           "gift_card_invalid, voucher_invalid, vip_card_invalid, currency_not_payable_with_points, "
           "currency_not_payable_with_stored_value); nothing was written",
    "500": "receipt_failed: the receipt cannot be laid out; the job is failed",
    "503": "no_rules_in_force: the edge has no rules version in force yet; printer_unavailable, "
           "scanner_unavailable: the device is not configured or cannot be reached",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "1 to 200 characters (400 bad_idempotency_key otherwise). The same key and body replays "
                   "the first response; a different body is 409 idempotency_conflict.",
}
_STR = {"type": "string"}


def error(code: str) -> dict[str, Any]:
    """The documented error response for HTTP status ``code``."""
    return _json(_ref("Error"), _ERROR_TEXTS[code])


SCHEMAS: dict[str, Any] = components(*schemas.REQUESTS, *replies.RESPONSES)
"""Every body of the till API, from its one declaration in ``edge.schemas`` or ``edge.replies``."""


def _op(summary: str, ok: dict[str, Any], *, errors: tuple[str, ...] = ("401",), body: str | None = None,
        idempotent: bool = False, params: list | None = None, links: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**ok, **{code: error(code) for code in errors}}}
    if links:
        next(iter(ok.values()))["links"] = links
    parameters = list(params or [])
    if idempotent:
        parameters.append(IDEMPOTENCY_KEY)
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR}


def _query(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": _STR, "description": description}


def _link(operation: str, **parameters: str) -> dict[str, Any]:
    return {"operationRef": operation, "parameters": parameters}


def _json_ok(status: str, schema: str, description: str) -> dict[str, Any]:
    return {status: _json(_ref(schema), description)}


_ONE_OF = "give exactly one of card, phone or email (400 bad_lookup otherwise)"
_WRITE = ("400", "401", "409", "413", "422", "503")
_CREATED_ID = "$response.body#/id"
PATHS: dict[str, Any] = {
    "/api/v1/health": {"get": {**_op("Liveness", _json_ok("200", "Health", "ok; read_only (with the reason) when the database failed its integrity check"), errors=()),
                               "security": []}},
    "/api/v1/status": {"get": _op("Edge status", {"200": _json(_ref("Status"), "status")})},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3")})},
    "/api/v1/customers": {"post": _op(
        "Register a customer", _json_ok("201", "Registered", "registered"), body="Registration", idempotent=True,
        errors=_WRITE, links={"GetCustomer": _link("#/paths/~1api~1v1~1customers~1{customer_id}/get",
                                                   customer_id=_CREATED_ID)})},
    "/api/v1/customers/lookup": {"get": _op(
        "Find a customer by exactly one of card, phone or email", _json_ok("200", "Customer", "found"),
        params=[_query("card", _ONE_OF), _query("phone", _ONE_OF), _query("email", _ONE_OF)],
        errors=("400", "401", "404", "409", "422", "503"))},
    "/api/v1/customers/{customer_id}": {"get": _op(
        "Get a customer", _json_ok("200", "Customer", "found"), params=[_path_param("customer_id")],
        errors=("401", "404", "503"))},
    "/api/v1/baskets/quote": {"post": _op(
        "Quote a basket", _json_ok("200", "Quote", "quote"), body="Basket",
        errors=("400", "401", "404", "409", "413", "422", "503"))},
    "/api/v1/sales": {"post": _op(
        "Commit a sale", _json_ok("201", "Sale", "committed"), body="SaleRequest", idempotent=True,
        errors=("400", "401", "404", "409", "413", "422", "503"), links={
            "GetSale": _link("#/paths/~1api~1v1~1sales~1{sale_id}/get", sale_id=_CREATED_ID),
            "ReturnLines": _link("#/paths/~1api~1v1~1sales~1{sale_id}~1returns/post", sale_id=_CREATED_ID),
            "PrintReceipt": _link("#/paths/~1api~1v1~1sales~1{sale_id}~1receipt/post", sale_id=_CREATED_ID)})},
    "/api/v1/sales/{sale_id}": {"get": _op(
        "Get a sale as committed", _json_ok("200", "Sale", "sale"), params=[_path_param("sale_id")],
        errors=("401", "404"))},
    "/api/v1/sales/{sale_id}/returns": {"post": _op(
        "Return lines of a sale", _json_ok("201", "ReturnView", "recorded"), body="ReturnRequest",
        idempotent=True, params=[_path_param("sale_id")], errors=("400", "401", "404", "409", "413", "422", "503"))},
}


PATHS.update({
    "/api/v1/gift-cards": {"post": _op(
        "Sell a gift card", _json_ok("201", "GiftCard", "sold"), body="GiftCardRequest", idempotent=True,
        errors=("400", "401", "409", "413", "422", "503"),
        links={"GetGiftCard": _link("#/paths/~1api~1v1~1gift-cards~1{code}/get", code="$response.body#/code")})},
    "/api/v1/gift-cards/{code}": {"get": _op(
        "Get a gift card (status active, used or expired)", _json_ok("200", "GiftCard", "the card"),
        params=[_path_param("code")], errors=("401", "404"))},
})


PATHS.update({
    "/api/v1/sales/{sale_id}/receipt": {"post": _op(
        "Print (or reprint) the sale's receipt; a repeat with the same Idempotency-Key returns the same job",
        _json_ok("202", "PrintAccepted", "printed, or queued while the printer works through earlier jobs"),
        idempotent=True, params=[_path_param("sale_id")], errors=("400", "401", "404", "409", "500", "503"),
        links={"GetPrintJob": _link("#/paths/~1api~1v1~1print-jobs~1{job_id}/get", job_id="$response.body#/job_id")})},
    "/api/v1/print-jobs/{job_id}": {"get": _op(
        "A print job's state", _json_ok("200", "PrintJob", "the job"), params=[_path_param("job_id")],
        errors=("401", "404"))},
    "/api/v1/scanner/next": {"get": _op(
        "Long-poll the next scanned code this till has not seen",
        {**_json_ok("200", "Scan", "a scanned code"), "204": {"description": "nothing scanned within the timeout"}},
        params=[{"name": "timeout", "in": "query", "required": False,
                 "schema": {"type": "number", "minimum": 0, "default": SCAN_TIMEOUT_DEFAULT},
                 "description": f"seconds to wait, written in ASCII digits (12 or 0.5); more than "
                                f"{SCAN_TIMEOUT_MAX:g} waits {SCAN_TIMEOUT_MAX:g}"}],
        errors=("400", "401", "503"))},
    "/api/v1/devices": {"get": _op(
        "The edge's peripherals as it last saw them", _json_ok("200", "Devices", "one entry per device kind"))},
})

_CUSTOMER_PARAM = [_path_param("customer_id")]
PATHS.update({
    "/api/v1/customers/{customer_id}/wallet/loads": {"post": _op(
        "Put money on the customer's wallet (422 wallet_ceiling_exceeded past wallet.ceiling)",
        _json_ok("201", "WalletLoaded", "loaded: the new balance"), body="WalletLoad", idempotent=True,
        params=_CUSTOMER_PARAM, errors=("400", "401", "404", "409", "413", "422", "503"))},
    "/api/v1/customers/{customer_id}/wallet/conversions": {"post": _op(
        "Convert points to wallet credit at redeem.point_value",
        _json_ok("201", "WalletConverted", "converted: the points and the wallet after it"),
        body="WalletConversion", idempotent=True, params=_CUSTOMER_PARAM,
        errors=("400", "401", "404", "409", "413", "422", "503"))},
})


_CORRUPT = ("database_corrupt: the database failed its integrity check; the box serves read-only and "
            "refuses every write until a backup is restored (details.reason)")
_FULL = ("storage_full: the box cannot write to its disk (full or read-only); nothing was written; "
         "the same request succeeds once space is freed")
_READ_ONLY_POSTS = {"/api/v1/baskets/quote"}


def _with_storage_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Every write may meet a corrupt database (503) or a full disk (507)."""
    result = copy.deepcopy(paths)
    for path, operations in result.items():
        operation = operations.get("post")
        if operation is None or path in _READ_ONLY_POSTS:
            continue
        responses = operation["responses"]
        earlier = responses.get("503", {}).get("description")
        responses["503"] = _json(_ref("Error"), f"{earlier}; or {_CORRUPT}" if earlier else _CORRUPT)
        responses["507"] = _json(_ref("Error"), _FULL)
    return result


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    try:
        release = version("fidelis")
    except PackageNotFoundError:  # running from a source tree
        release = "0"
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fidelis edge till API", "version": release},
        "servers": [{"url": "/"}],
        "security": [{"tillKey": []}],
        "components": {
            "securitySchemes": {"tillKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": _with_storage_errors(PATHS),
    }
