"""Peripheral endpoints: print a sale's receipt, follow a print job, long-poll the scanner."""

from __future__ import annotations

import re

from flask import current_app, g, jsonify, request

from .. import customers, openapi, rulebook, sales
from ..accounts import customer_view
from ..errors import ApiError, not_found
from ..models import PrintJob
from ..peripherals import get_peripherals
from ..printqueue import job_view
from . import api
from .context import now

SCAN_TIMEOUT_DEFAULT = 20.0
SCAN_TIMEOUT_MAX = 30.0
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")
RETRY_AFTER = "10"  # seconds a till should wait before asking about an unavailable printer again


def _peripherals():
    return get_peripherals(current_app)


def error_response(error: ApiError):
    response = jsonify(error.body())
    response.status_code = error.status
    return response


@api.post("/sales/<sale_id>/receipt")
def print_sale_receipt(sale_id: str):
    """Queue the sale's receipt (a reprint if it was printed before) and say how it went."""
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = key.strip()
        if not key or len(key) > 200:
            raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1 to 200 characters")
    queue = _peripherals().print_queue
    if queue is None:
        sales.get(sale_id)  # an unknown sale is 404 whatever the printer
        raise ApiError(503, "printer_unavailable",
                       'no printer configured: set FIDELIS_PRINTER or "printer" in the edge\'s config.json',
                       {"job_id": None})
    outcome = queue.submit(sale_id, g.till.id, key)
    if outcome.status == "unavailable":
        response = error_response(ApiError(
            503, "printer_unavailable",
            f"printer unavailable ({outcome.error}); the receipt is kept and prints when the printer is back",
            {"job_id": outcome.job["job_id"], "sale_id": sale_id, "attempts": outcome.job["attempts"],
             "error": outcome.error}))
        response.headers["Retry-After"] = RETRY_AFTER
    elif outcome.status == "failed":
        response = error_response(ApiError(
            500, "receipt_failed", f"the receipt cannot be printed: {outcome.error}",
            {"job_id": outcome.job["job_id"], "sale_id": sale_id}))
    else:
        response = jsonify({"job_id": outcome.job["job_id"], "status": outcome.status,
                            "kind": outcome.job["kind"], "sale_id": sale_id})
        response.status_code = 202
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@api.get("/print-jobs/<job_id>")
def get_print_job(job_id: str):
    job = PrintJob.get_or_none(PrintJob.id == job_id)
    if job is None:
        raise not_found("print_job_not_found", f"no print job with id {job_id}")
    return jsonify(job_view(job))


@api.get("/scanner/next")
def next_scanned_code():
    """The next code the shop's scanner read that this till has not seen; 204 after the wait."""
    raw = request.args.get("timeout")
    timeout = SCAN_TIMEOUT_DEFAULT
    if raw is not None:
        # ASCII only: float() would also read "５", "1_0", " 5 " and "1e1".
        if not _SECONDS.fullmatch(raw):
            raise ApiError(400, "bad_timeout", f"timeout must be a number of seconds from 0 to {SCAN_TIMEOUT_MAX:g}")
        timeout = float(raw)
    peripherals = _peripherals()
    if peripherals.scanner is None:
        raise ApiError(503, "scanner_unavailable",
                       'no scanner configured: set FIDELIS_SCANNER or "scanner" in the edge\'s config.json')
    code = peripherals.scans.next(g.till.id, min(timeout, SCAN_TIMEOUT_MAX))
    if code is None:
        return "", 204
    customer = None
    try:
        found = customers.lookup(card=code)
    except ApiError:  # not a loyalty card: an article barcode, a voucher...
        found = None
    if found is not None:
        moment = now()
        customer = customer_view(found, rulebook.in_force(moment), moment)
    return jsonify({"code": code, "customer": customer})


@api.get("/devices")
def device_status():
    """What the edge knows of its peripherals right now (no hardware is probed)."""
    return jsonify({"devices": _peripherals().status()})


# --- the OpenAPI document ----------------------------------------------------------------------

def _json(schema, description, **extra):
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def _error(description):
    return _json({"$ref": "#/components/schemas/Error"}, description)


_STR, _INT = {"type": "string"}, {"type": "integer"}
_NULLABLE_STR = {"type": "string", "nullable": True}
_PATH = {"in": "path", "required": True, "schema": _STR}
_AUTH = {"401": _error("Missing or invalid till key")}

openapi.SCHEMAS.setdefault("PrintJob", {"type": "object", "properties": {
    "job_id": _STR, "sale_id": _STR, "kind": {"type": "string", "enum": ["receipt", "reprint"]},
    "status": {"type": "string", "enum": ["queued", "printed", "failed"]}, "attempts": _INT,
    "last_error": _NULLABLE_STR, "created_at": _STR, "printed_at": _NULLABLE_STR}})
openapi.PATHS.setdefault("/api/v1/sales/{sale_id}/receipt", {"post": {
    "summary": "Print (or reprint) the sale's receipt",
    "parameters": [{"name": "sale_id", **_PATH}, {
        **openapi.IDEMPOTENCY_KEY,
        "description": "1 to 200 characters (400 bad_idempotency_key otherwise); a repeat returns the same job "
                       "instead of printing again."}],
    "responses": {
        "202": _json({"type": "object", "properties": {
            "job_id": _STR, "status": {"type": "string", "enum": ["printed", "queued"]}, "kind": _STR,
            "sale_id": _STR}}, "printed, or queued while the printer works through earlier jobs",
            links={"GetPrintJob": {"operationRef": "#/paths/~1api~1v1~1print-jobs~1{job_id}/get",
                                   "parameters": {"job_id": "$response.body#/job_id"}}}),
        "400": _error("bad_idempotency_key: an empty or over-long Idempotency-Key"),
        "404": _error("sale_not_found"),
        "409": _error("idempotency_conflict"),
        "500": _error("receipt_failed: the receipt cannot be laid out; the job is failed"),
        "503": _error("printer_unavailable: no printer configured (nothing kept), or the printer is off, "
                      "unreachable or out of paper (details.job_id: the job is kept and retried)"),
        **_AUTH}}})
openapi.PATHS.setdefault("/api/v1/print-jobs/{job_id}", {"get": {
    "summary": "A print job's state", "parameters": [{"name": "job_id", **_PATH}],
    "responses": {"200": _json({"$ref": "#/components/schemas/PrintJob"}, "the job"),
                  "404": _error("print_job_not_found"), **_AUTH}}})
openapi.PATHS.setdefault("/api/v1/scanner/next", {"get": {
    "summary": "Long-poll the next scanned code this till has not seen",
    "parameters": [{"name": "timeout", "in": "query", "required": False,
                    "schema": {"type": "number", "minimum": 0, "default": SCAN_TIMEOUT_DEFAULT},
                    "description": f"seconds to wait, written in ASCII digits (12 or 0.5); more than "
                                   f"{SCAN_TIMEOUT_MAX:g} waits {SCAN_TIMEOUT_MAX:g}"}],
    "responses": {
        "200": _json({"type": "object", "properties": {
            "code": _STR, "customer": {"allOf": [{"$ref": "#/components/schemas/Customer"}], "nullable": True}}},
            "a scanned code; customer is set when it is a loyalty card number"),
        "204": {"description": "nothing scanned within the timeout"},
        "400": _error("bad_timeout"),
        "503": _error("scanner_unavailable: no scanner configured"),
        **_AUTH}}})
_DEVICE = {"type": "object", "properties": {
    "device": _STR, "configured": {"type": "boolean"}, "url": _NULLABLE_STR, "connected": {"type": "boolean"},
    "last_error": _NULLABLE_STR}}
openapi.PATHS.setdefault("/api/v1/devices", {"get": {
    "summary": "The edge's peripherals as it last saw them",
    "responses": {
        "200": _json({"type": "object", "properties": {"devices": {"type": "array", "items": _DEVICE}}},
                     "one entry per device kind"),
        **_AUTH}}})
