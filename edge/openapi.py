"""The till API's OpenAPI 3 document (served at ``GET /api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from importlib.metadata import PackageNotFoundError, version


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR_TEXTS = {
    "400": "malformed_json: not one well-formed JSON document (invalid, a duplicate key, NaN, a lone "
           "surrogate, nested deeper than 64 levels); bad_idempotency_key: an empty or over-long "
           "Idempotency-Key; bad_lookup, bad_timeout: a bad query",
    "401": "unauthorized: missing or invalid till key",
    "404": "customer_not_found, sale_not_found, print_job_not_found",
    "409": "card_in_use, email_in_use, phone_in_use, card_blocked (a card head office blocked as lost), "
           "idempotency_conflict (this Idempotency-Key was used with another request)",
    "413": "request_entity_too_large: the body is over 1 MiB",
    "422": "validation_error (details.problems lists every problem) or a business rule refused "
           "(payment_mismatch, insufficient_points, redeem_limit_exceeded, reward_limit_exceeded, "
           "unknown_reward, customer_required, return_exceeds_sale); nothing was written",
    "503": "no_rules_in_force: the edge has no rules version in force yet",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "1 to 200 characters (400 bad_idempotency_key otherwise). The same key and body replays "
                   "the first response; a different body is 409 idempotency_conflict.",
}
_INT = {"type": "integer"}
_STR = {"type": "string"}
_TOTAL = {"type": "integer", "description": "Σ(qty × unit_price − discount − tier_discount) in minor units; "
                                            "the payments must add up to exactly this"}
_TIER_DISCOUNT = {"type": "integer", "minimum": 0, "description": "Σ of the lines' tier_discount"}
_NSTR = {"type": "string", "nullable": True}
MAX_MONEY, MAX_QTY, MAX_LINES = 10**11, 100_000, 500  # validation.MAX_MONEY, sales.MAX_QTY, sales.MAX_LINES


def error(code: str) -> dict[str, Any]:
    """The documented error response for HTTP status ``code``."""
    return _json(_ref("Error"), _ERROR_TEXTS[code])


def _text(max_length: int, *, nullable: bool = False, description: str | None = None) -> dict[str, Any]:
    # Values are trimmed first; a required one must keep at least one character.
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if nullable:
        schema["nullable"] = True
    else:
        schema.update(minLength=1, pattern=r"\S")
    if description:
        schema["description"] = description
    return schema


def _money(low: int = 0, description: str = "minor units") -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": MAX_MONEY, "description": description}


# 4 to 32 letters or digits; surrounding spaces are trimmed and an empty value means none.
_CARD = {"type": "string", "pattern": r"^\s*([A-Za-z0-9]{4,32}\s*)?$", "nullable": True}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {"code": _STR, "message": _STR, "details": {"type": "object"}},
            }
        },
    },
    "Points": {
        "type": "object",
        "required": ["available", "pending", "offline_spendable"],
        "properties": {"available": _INT, "pending": _INT, "offline_spendable": _INT},
    },
    "Customer": {
        "type": "object",
        "required": ["id", "card_number", "first_name", "last_name", "tier", "points", "alerts"],
        "properties": {
            "id": _STR, "card_number": _STR, "first_name": _STR, "last_name": _STR,
            "email": _NSTR, "phone": _NSTR, "birth_date": {"type": "string", "format": "date", "nullable": True},
            "tier": _NSTR, "tier_locked": {"type": "boolean", "description": "head office locked the tier"},
            "points": _ref("Points"),
            "balance_negative": {"type": "boolean"}, "alerts": {"type": "array", "items": _STR},
        },
    },
    "Registration": {
        "type": "object",
        "required": ["first_name", "last_name"],
        "additionalProperties": False,
        "properties": {
            "first_name": _text(100), "last_name": _text(100),
            "email": {**_text(254, nullable=True), "pattern": r"^\s*([^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}\s*)?$",
                      "description": "an email address like name@example.com; empty means none"},
            "phone": _text(32, nullable=True, description="6 to 15 digits, optionally starting with +; "
                                                          "spaces, dots, dashes and brackets are ignored"),
            "birth_date": {"type": "string", "nullable": True, "pattern": r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2}\s*)?$",
                           "description": "YYYY-MM-DD, from 1900-01-01 to today; empty means none"},
            "card_number": {**_CARD, "description": "generated when absent"},
        },
    },
    "Line": {
        "type": "object",
        "required": ["sku", "qty", "unit_price"],
        "additionalProperties": False,
        "properties": {
            "sku": _text(64), "name": _text(120, nullable=True),
            "qty": {"type": "integer", "minimum": 1, "maximum": MAX_QTY},
            "unit_price": _money(), "discount": _money(description="minor units off the whole line, "
                                                                    "at most qty × unit_price"),
            "category": _text(64, nullable=True), "reward": {"type": "boolean"},
        },
    },
    "SaleLine": {
        "type": "object",
        "description": "A line as priced: the request's line with the customer's tier discount on it",
        "properties": {
            "sku": _STR, "name": _STR, "qty": _INT, "unit_price": _INT, "discount": _INT, "category": _STR,
            "reward": {"type": "boolean"},
            "tier_discount": {"type": "integer", "minimum": 0, "description": (
                "minor units the customer's tier takes off this line: floor((qty × unit_price − discount) × "
                "tier discount_percent / 100); 0 on reward lines")},
        },
    },
    "Payment": {
        "type": "object",
        "required": ["method"],
        "additionalProperties": False,
        "description": '{"method": "points", "points": n} or {"method": "cash" (or another), "amount": n}',
        "properties": {"method": _text(32), "amount": _money(), "points": _money(1, "points")},
    },
    "Basket": {
        "type": "object",
        "required": ["lines"],
        "additionalProperties": False,
        "description": "customer_id or card_number (not both), or neither for an anonymous sale",
        "properties": {
            "customer_id": _text(64, nullable=True), "card_number": _CARD,
            "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": _ref("Line")},
            "payments": {"type": "array", "items": _ref("Payment")},
        },
    },
    "SaleRequest": {
        "allOf": [_ref("Basket")],
        "required": ["lines", "payments"],
        "description": "a basket with its payments, whose money value must equal the total",
    },
    "Quote": {
        "type": "object",
        "properties": {
            "total": _TOTAL, "eligible_amount": _INT, "points_to_earn": _INT, "max_points_redeemable": _INT,
            "rules_version": _INT, "lines": {"type": "array", "items": _ref("SaleLine")},
            "tier": {"type": "string", "nullable": True}, "tier_discount": _TIER_DISCOUNT,
            "rewards": {"type": "array", "items": {"type": "object", "properties": {
                "sku": _STR, "name": _STR, "cost": _INT, "affordable": {"type": "boolean"}}}},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Sale": {
        "type": "object",
        "required": ["id", "total", "points_earned", "points_redeemed", "lines", "payments", "returns"],
        "properties": {
            "id": _STR, "total": _TOTAL, "tier_discount": _TIER_DISCOUNT, "points_earned": _INT,
            "points_redeemed": _INT, "eligible_amount": _INT, "rules_version": _INT,
            "customer_id": _NSTR, "till_id": _NSTR, "created_at": _STR, "tier": _NSTR,
            "lines": {"type": "array", "items": _ref("SaleLine")},
            "payments": {"type": "array", "items": _ref("Payment")},
            "customer": _ref("Customer"), "returns": {"type": "array", "items": _ref("Return")},
        },
    },
    "ReturnRequest": {
        "type": "object",
        "required": ["lines"],
        "additionalProperties": False,
        "properties": {"lines": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["sku", "qty"], "additionalProperties": False,
            "properties": {"sku": _text(64), "qty": {"type": "integer", "minimum": 1, "maximum": MAX_QTY}}}}},
    },
    "Return": {
        "type": "object",
        "properties": {"id": _STR, "sale_id": _STR, "amount_refunded": _INT, "points_reversed": _INT,
                       "lines": {"type": "array", "items": {"type": "object"}}, "customer": _ref("Customer")},
    },
    "Status": {"type": "object", "properties": {
        "store": _STR, "device_id": _STR, "device_public_key": _STR, "pending_entries": _INT,
        "last_sync": _NSTR, "rules_version": {"type": "integer", "nullable": True},
        "online": {"type": "boolean"}, "rejected_entries": _INT}},
}


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
    "/api/v1/health": {"get": {**_op("Liveness", {"200": _json({"type": "object"}, "ok")}, errors=()),
                               "security": []}},
    "/api/v1/status": {"get": _op("Edge status", {"200": _json(_ref("Status"), "status")})},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3")})},
    "/api/v1/customers": {"post": _op(
        "Register a customer", _json_ok("201", "Customer", "registered"), body="Registration", idempotent=True,
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
        "Return lines of a sale", _json_ok("201", "Return", "recorded"), body="ReturnRequest",
        idempotent=True, params=[_path_param("sale_id")], errors=("400", "401", "404", "409", "413", "422", "503"))},
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    try:
        release = version("fidelis")
    except PackageNotFoundError:  # running from a source tree
        release = "0"
    return {
        "openapi": "3.0.3",
        "info": {"title": "Fidelis edge till API", "version": release},
        "servers": [{"url": "/"}],
        "security": [{"tillKey": []}],
        "components": {
            "securitySchemes": {"tillKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
