"""Peripheral endpoints: print a sale's receipt, follow a print job, long-poll the scanner."""

from __future__ import annotations

import re

from flask import current_app, g, jsonify, request

from sync.web import error_response, idempotency_key

from .. import customers, rulebook, saleviews
from ..schemas import SCAN_TIMEOUT_DEFAULT, SCAN_TIMEOUT_MAX
from ..accounts import customer_view
from ..errors import ApiError, not_found
from ..models import PrintJob
from ..peripherals import get_peripherals
from ..peripherals.printqueue import job_view
from .blueprint import api
from .context import now

_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")
RETRY_AFTER = "10"  # seconds a till should wait before asking about an unavailable printer again


def _peripherals():
    return get_peripherals(current_app)


@api.post("/sales/<sale_id>/receipt")
def print_sale_receipt(sale_id: str):
    """Queue the sale's receipt (a reprint if it was printed before) and say how it went."""
    asked = idempotency_key()
    key = asked.key if asked else None
    queue = _peripherals().print_queue
    if queue is None:
        saleviews.get(sale_id)  # an unknown sale is 404 whatever the printer
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
