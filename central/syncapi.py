"""The sync API for edges, ``/sync/v1`` (docs/sync-protocol.md): enroll, head, push, pull, customer
look-up, authorize, release.

Every endpoint but ``enroll`` and the pairing of a new box (``central.pairing``) is a signed request. Central refuses, in this order: unknown
device, bad signature, stale timestamp (``sync.protocol.check_request``), a nonce seen in the
last 10 minutes, a revoked device. Each refusal is logged with the device id and the reason;
secrets, tokens and signatures never reach the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import peewee
from flask import Blueprint, Response, g, jsonify, request

from shared.times import format_time
from sync.bodies import usable_key
from sync.protocol import NONCE_TTL, RequestRefused, check_request

from . import db, enrolment, feed, ingest, ledger, pairing, reach, settings, wallet
from .errors import CentralError
from .schemas import AuthorizeRequest, EnrollRequest, PushRequest, WalletAuthorizeRequest
from .web import clock, declared_body, int_arg, json_body, state

sync = Blueprint("sync", __name__, url_prefix="/sync/v1")
log = logging.getLogger("fidelis.central.sync")
UNSIGNED_ENDPOINTS = {"sync.enroll", "sync.request_pairing", "sync.poll_pairing"}
_last_sweep = [0.0]


def _printable(device_id: str) -> str:
    """The device id as it may appear in a log line (it comes from an untrusted header)."""
    return repr(device_id[:64])


def _refuse(device_id: str, status: int, code: str, message: str) -> CentralError:
    log.warning("refused sync request: device=%s reason=%s path=%s", _printable(device_id), code, request.path)
    return CentralError(status, code, message)


def _signed_path() -> str:
    query = request.query_string.decode("latin-1")
    return request.script_root + request.path + (f"?{query}" if query else "")


def _remember_nonce(device_id: str, nonce: str, now) -> bool:
    """Store the nonce; False if it was seen before (the primary key decides, across app servers)."""
    if time.monotonic() - _last_sweep[0] > settings.NONCE_SWEEP_SECONDS:
        _last_sweep[0] = time.monotonic()
        db.execute("DELETE FROM nonce WHERE expires_at < ?", (format_time(now),))
    try:
        with db.database.atomic():
            db.execute("INSERT INTO nonce (device_id, nonce, expires_at) VALUES (?, ?, ?)",
                       (device_id, nonce, format_time(now + NONCE_TTL)))
    except peewee.IntegrityError:
        return False
    return True


@sync.before_request
def authenticate_device():
    """Check the request signature, the nonce and revocation; put the device on ``g``."""
    if request.endpoint in UNSIGNED_ENDPOINTS:
        return None
    now = clock()
    found: dict[str, Any] = {}

    def public_key_of(device_id: str):
        device = ingest.load_device(device_id) if usable_key(device_id) else None
        if device is None:
            return None
        found["device"] = device
        return ingest.public_key(device.public_key)

    claimed = request.headers.get("X-Fidelis-Device", "")
    try:
        signed = check_request(request.headers, request.method, _signed_path(), request.get_data(cache=True),
                               public_key_of, now)
    except RequestRefused as exc:
        raise _refuse(claimed, exc.status, exc.code, str(exc)) from None
    if not _remember_nonce(signed.device_id, signed.nonce, now):
        raise _refuse(claimed, 401, "replayed_request", "this request was already received (nonce seen before)")
    device = found["device"]
    if device.revoked:
        raise _refuse(claimed, 403, "device_revoked", "this device was revoked by head office")
    g.device = device
    g.clock_skew_ms = int((signed.timestamp - now).total_seconds() * 1000)
    return None


@sync.post("/enroll")
def enroll():
    result = enrolment.enroll(declared_body(EnrollRequest), clock(), state().public_key_b64)
    log.info("enrolled device=%s store=%s", _printable(result["device_id"]), result["store"]["code"])
    return jsonify(result), 201


@sync.post("/pairings")
def request_pairing():
    """A new box asks for a pairing code (no token: head office approves the code instead)."""
    body = json_body()
    result = pairing.request_code(body, request.remote_addr or "unknown", clock())
    log.info("pairing requested by device=%s from %s", _printable(body["device_id"]), request.remote_addr)
    return jsonify(result), 201


@sync.post("/pairings/poll")
def poll_pairing():
    """The box asks whether its code was approved; once it is, it is enrolled."""
    result = pairing.poll(json_body(), request.remote_addr or "unknown", clock(), state().public_key_b64)
    if result["status"] == "approved":
        log.info("enrolled device=%s store=%s by pairing", _printable(result["device_id"]), result["store"]["code"])
    return jsonify(result)


@sync.get("/head")
def head():
    device = g.device
    # The edge may say how long its own log is (?local_seq=N): head office sees the backlog.
    local_seq = int_arg("local_seq", -1)
    if local_seq >= 0:
        db.execute("UPDATE device SET reported_seq = ?, clock_skew_ms = ? WHERE id = ?",
                   (local_seq, g.clock_skew_ms, device.id))
    return jsonify({"seq": device.head_seq, "hash": device.head_hash, "frozen": device.frozen})


@sync.post("/push")
def push():
    body = declared_body(PushRequest)
    result = ingest.apply_push(g.device.id, body.entries, clock())  # logs its own refusals
    return jsonify(result.as_json())


@sync.get("/pull")
def pull():
    since = int_arg("since", 0)
    limit = int_arg("limit", settings.PULL_DEFAULT_LIMIT, 1, settings.PULL_MAX_LIMIT)
    page = feed.read_text(g.device.store_code, since, limit)
    db.execute("UPDATE device SET last_sync_at = ?, clock_skew_ms = ? WHERE id = ?",
               (format_time(clock()), g.clock_skew_ms, g.device.id))
    return Response(page, mimetype="application/json")


@sync.get("/customers")
def lookup_customer():
    """The customer holding ``?card=`` (or with ``?id=``), for a shop that does not know it (``central.reach``)."""
    return jsonify(reach.lookup(g.device.store_code, request.args.get("card"), request.args.get("id"), clock()))


@sync.post("/authorize")
def authorize():
    device = g.device
    if device.frozen:
        raise CentralError(409, "device_frozen", "this device is frozen after a fork; it cannot authorize spending")
    return jsonify(ledger.authorize(device.id, declared_body(AuthorizeRequest), clock()))


@sync.delete("/holds/<sale_id>")
def release_hold(sale_id: str):
    """Release the hold of a sale this device did not record (its commit failed)."""
    result = ledger.release(g.device.id, sale_id)
    if result["released"]:
        log.info("released hold: device=%s sale=%s", _printable(g.device.id), _printable(sale_id))
    return jsonify(result)


@sync.post("/wallet/authorize")
def authorize_wallet():
    """Hold wallet money for a sale about to be written (docs/sync-protocol.md)."""
    if g.device.frozen:
        raise CentralError(409, "device_frozen", "this device is frozen after a fork; it cannot authorize spending")
    return jsonify(wallet.authorize(g.device.id, declared_body(WalletAuthorizeRequest), clock()))


@sync.delete("/wallet/holds/<sale_id>")
def release_wallet_hold(sale_id: str):
    """Release the wallet hold of a sale this device did not record."""
    if not usable_key(sale_id):
        raise CentralError(422, "validation_error", "sale_id: must be the id of the sale",
                           {"problems": [{"path": "sale_id", "message": "must be the id of the sale"}]})
    return jsonify(wallet.release(g.device.id, sale_id))
