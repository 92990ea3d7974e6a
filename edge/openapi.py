"""The till API's OpenAPI 3 document (served at ``GET /api/v1/openapi.json``)."""

from __future__ import annotations

import copy
from typing import Any

from importlib.metadata import PackageNotFoundError, version


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Malformed JSON or bad query"),
    "401": _json(_ref("Error"), "Missing or invalid till key"),
    "404": _json(_ref("Error"), "Not found (customer_not_found, sale_not_found)"),
    "409": _json(_ref("Error"), "Conflict (card_in_use, email_in_use, phone_in_use, idempotency_conflict)"),
    "422": _json(_ref("Error"), "Validation or business rule refused; nothing was written"),
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Same key and body replays the first response; a different body is 409 idempotency_conflict.",
}
_INT = {"type": "integer"}
_STR = {"type": "string"}

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
        "properties": {"available": _INT, "pending": _INT, "offline_spendable": _INT},
    },
    "Customer": {
        "type": "object",
        "properties": {
            "id": _STR, "card_number": _STR, "first_name": _STR, "last_name": _STR,
            "email": {"type": "string", "nullable": True}, "phone": {"type": "string", "nullable": True},
            "birth_date": {"type": "string", "format": "date", "nullable": True},
            "tier": {"type": "string", "nullable": True}, "points": _ref("Points"),
            "balance_negative": {"type": "boolean"}, "alerts": {"type": "array", "items": _STR},
        },
    },
    "Registration": {
        "type": "object",
        "required": ["first_name", "last_name"],
        "additionalProperties": False,
        "properties": {
            "first_name": _STR, "last_name": _STR, "email": {"type": "string", "format": "email"},
            "phone": _STR, "birth_date": {"type": "string", "format": "date"},
            "card_number": {"type": "string", "pattern": "^[A-Za-z0-9]{4,32}$"},
        },
    },
    "Line": {
        "type": "object",
        "required": ["sku", "qty", "unit_price"],
        "additionalProperties": False,
        "properties": {
            "sku": _STR, "name": _STR, "qty": {"type": "integer", "minimum": 1},
            "unit_price": {"type": "integer", "minimum": 0, "description": "minor units"},
            "discount": {"type": "integer", "minimum": 0, "description": "minor units off the whole line"},
            "category": _STR, "reward": {"type": "boolean"},
        },
    },
    "Payment": {
        "type": "object",
        "required": ["method"],
        "properties": {"method": _STR, "amount": _INT, "points": _INT},
    },
    "Basket": {
        "type": "object",
        "required": ["lines"],
        "properties": {
            "customer_id": _STR, "card_number": _STR,
            "lines": {"type": "array", "items": _ref("Line")},
            "payments": {"type": "array", "items": _ref("Payment")},
        },
    },
    "Quote": {
        "type": "object",
        "properties": {
            "total": _INT, "eligible_amount": _INT, "points_to_earn": _INT, "max_points_redeemable": _INT,
            "rules_version": _INT,
            "rewards": {"type": "array", "items": {"type": "object", "properties": {
                "sku": _STR, "name": _STR, "cost": _INT, "affordable": {"type": "boolean"}}}},
            "problems": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Sale": {
        "type": "object",
        "properties": {
            "id": _STR, "total": _INT, "points_earned": _INT, "points_redeemed": _INT,
            "eligible_amount": _INT, "rules_version": _INT, "customer_id": {"type": "string", "nullable": True},
            "lines": {"type": "array", "items": _ref("Line")},
            "payments": {"type": "array", "items": _ref("Payment")},
            "customer": _ref("Customer"), "returns": {"type": "array", "items": _ref("Return")},
        },
    },
    "ReturnRequest": {
        "type": "object",
        "required": ["lines"],
        "properties": {"lines": {"type": "array", "items": {
            "type": "object", "required": ["sku", "qty"], "properties": {"sku": _STR, "qty": _INT}}}},
    },
    "Return": {
        "type": "object",
        "properties": {"id": _STR, "sale_id": _STR, "amount_refunded": _INT, "points_reversed": _INT,
                       "lines": {"type": "array", "items": {"type": "object"}}, "customer": _ref("Customer")},
    },
    "Status": {"type": "object", "properties": {
        "store": _STR, "device_id": _STR, "device_public_key": _STR, "pending_entries": _INT,
        "last_sync": {"type": "string", "nullable": True}, "rules_version": _INT, "online": {"type": "boolean"},
        "database": {"type": "object", "properties": {
            "integrity": {"type": "string", "enum": ["ok", "corrupt"]}, "read_only": {"type": "boolean"},
            "reason": {"type": "string", "nullable": True}}}}},
}


def _op(summary: str, ok: dict[str, Any], *, body: str | None = None, idempotent: bool = False,
        params: list | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**ok, **_ERRORS}}
    parameters = list(params or [])
    if idempotent:
        parameters.append(_IDEMPOTENCY)
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return operation


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _STR}


def _query(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": _STR}


PATHS: dict[str, Any] = {
    "/api/v1/health": {"get": {**_op("Liveness", {"200": _json({"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ok", "read_only"]}, "reason": _STR}},
        "ok; read_only (with the reason) when the database failed its integrity check")}), "security": []}},
    "/api/v1/status": {"get": _op("Edge status", {"200": _json(_ref("Status"), "status")})},
    "/api/v1/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3")})},
    "/api/v1/customers": {"post": _op(
        "Register a customer", {"201": _json(_ref("Customer"), "registered")}, body="Registration", idempotent=True)},
    "/api/v1/customers/lookup": {"get": _op(
        "Find a customer by card, phone or email", {"200": _json(_ref("Customer"), "found")},
        params=[_query("card"), _query("phone"), _query("email")])},
    "/api/v1/customers/{customer_id}": {"get": _op(
        "Get a customer", {"200": _json(_ref("Customer"), "found")}, params=[_path_param("customer_id")])},
    "/api/v1/baskets/quote": {"post": _op("Quote a basket", {"200": _json(_ref("Quote"), "quote")}, body="Basket")},
    "/api/v1/sales": {"post": _op(
        "Commit a sale", {"201": _json(_ref("Sale"), "committed")}, body="Basket", idempotent=True)},
    "/api/v1/sales/{sale_id}": {"get": _op(
        "Get a sale as committed", {"200": _json(_ref("Sale"), "sale")}, params=[_path_param("sale_id")])},
    "/api/v1/sales/{sale_id}/returns": {"post": _op(
        "Return lines of a sale", {"201": _json(_ref("Return"), "recorded")}, body="ReturnRequest",
        idempotent=True, params=[_path_param("sale_id")])},
}


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
        "openapi": "3.0.3",
        "info": {"title": "Fidelis edge till API", "version": release},
        "servers": [{"url": "/"}],
        "security": [{"tillKey": []}],
        "components": {
            "securitySchemes": {"tillKey": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": _with_storage_errors(PATHS),
    }
