"""Pairing: a new box enrols without anyone typing a token into it.

1. The box asks for a code, presenting its device id and public key (``POST
   /sync/v1/pairings``, unauthenticated). Central answers a short code (``K7QF-3MXD``) to
   print on the shop's receipt printer and a poll secret only the box knows.
2. Head office approves the code for a store (``fidelis-central enroll approve CODE --store
   S001`` or ``POST /api/v1/pairings/{code}/approve``).
3. The box polls with the code and its secret (``POST /sync/v1/pairings/poll``); once
   approved, the poll enrols it exactly as a one-time token would and the pairing is used up.

Codes live 15 minutes and are single use; only hashes of the code and the secret are
stored. Each address may request codes or get a code or secret wrong a few times per
window (``settings.PAIRING_ATTEMPTS``) and is then refused with ``429 rate_limited``.
Neither the code nor the secret is ever written to the log.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from shared.times import format_time
from sync.entry import GENESIS_PREV

from . import db, settings
from .auth import hash_secret
from .errors import CentralError, conflict
from .models import Device, Pairing
from .schemas import PairingPoll, PairingRequest, read_body
from .stores import check_store_code, get_store

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U/V look-alikes on paper
CODE_LENGTH = 8


def normalise_code(code: Any) -> str | None:
    """``k7qf 3mxd`` or ``K7QF-3MXD`` → ``K7QF3MXD``; None when it cannot be a code."""
    if not isinstance(code, str) or len(code) > 32:
        return None
    plain = "".join(c for c in code.upper() if c not in " -")
    if len(plain) != CODE_LENGTH or any(c not in ALPHABET for c in plain):
        return None
    return plain


def format_code(plain: str) -> str:
    """``K7QF3MXD`` → ``K7QF-3MXD`` (how it is printed and typed)."""
    return f"{plain[:4]}-{plain[4:]}"


# --- rate limiting ----------------------------------------------------------------------------

def _window_start(now: datetime) -> str:
    return format_time(now - settings.PAIRING_ATTEMPT_WINDOW)


def check_rate(address: str, now: datetime) -> None:
    """``429 rate_limited`` once ``address`` used up its attempts in the current window."""
    count = db.rows("SELECT COUNT(*) FROM pairingattempt WHERE address = ? AND at > ?",
                    (address[:64], _window_start(now)))[0][0]
    if count >= settings.PAIRING_ATTEMPTS:
        minutes = int(settings.PAIRING_ATTEMPT_WINDOW.total_seconds() // 60)
        raise CentralError(429, "rate_limited",
                           f"too many pairing attempts from this address; try again within {minutes} minutes",
                           {"retry_after": int(settings.PAIRING_ATTEMPT_WINDOW.total_seconds())})


def note_attempt(address: str, now: datetime, kind: str) -> None:
    """Count one attempt against ``address`` (in its own transaction: refusals roll back)."""
    with db.database.atomic():
        db.execute("DELETE FROM pairingattempt WHERE at < ?", (_window_start(now),))
        db.execute("INSERT INTO pairingattempt (id, address, at, kind) VALUES (?, ?, ?, ?)",
                   (str(uuid.uuid4()), address[:64], format_time(now), kind))


# --- the three steps --------------------------------------------------------------------------

def request_code(body: Any, address: str, now: datetime) -> dict[str, Any]:
    """Step 1: a new code and poll secret for the device in ``body``; 201 material."""
    check_rate(address, now)
    request = read_body(PairingRequest, body)
    device_id, public_key, store = request.device_id, request.public_key, request.store
    if store is not None:
        check_store_code(store)
    note_attempt(address, now, "request")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    secret = secrets.token_urlsafe(24)
    expires_at = format_time(now + settings.PAIRING_LIFETIME)
    with db.database.atomic():
        Pairing.create(code_hash=hash_secret(code), secret_hash=hash_secret(secret), device_id=device_id,
                       public_key=public_key, edge_store=store, address=address[:64], requested_at=format_time(now),
                       expires_at=expires_at)
    return {"code": format_code(code), "secret": secret, "expires_at": expires_at,
            "poll_interval": settings.PAIRING_POLL_SECONDS}


def _find(code: Any) -> Pairing | None:
    plain = normalise_code(code)
    return Pairing.get_or_none(Pairing.code_hash == hash_secret(plain)) if plain else None


def approve(code: Any, store_code: Any, now: datetime, approved_by: str, address: str = "cli") -> dict[str, Any]:
    """Step 2: bind the pairing to ``store_code``. Unknown, expired or used codes are refused."""
    check_rate(address, now)
    store = get_store(check_store_code(store_code))
    stamp = format_time(now)
    pairing = _find(code)
    if pairing is None:
        note_attempt(address, now, "approve")
        raise CentralError(404, "pairing_not_found", "no pairing with this code; check it against the receipt")
    if pairing.expires_at <= stamp:
        raise CentralError(410, "pairing_expired", "this pairing code has expired; run 'fidelis-edge pair' again")
    if pairing.approved_at is not None:
        raise conflict("pairing_used", f"this code was already approved for store {pairing.store_code}")
    if pairing.edge_store is not None and pairing.edge_store != store.code:
        raise conflict("store_mismatch", f"the box was set up for store {pairing.edge_store}, not {store.code}",
                       token_store=store.code, edge_store=pairing.edge_store)
    with db.database.atomic():
        done = db.execute("UPDATE pairing SET store_code = ?, approved_at = ?, approved_by = ? "
                          "WHERE code_hash = ? AND approved_at IS NULL",
                          (store.code, stamp, approved_by[:200], pairing.code_hash))
        if done.rowcount != 1:
            raise conflict("pairing_used", "this code was approved meanwhile")
    return {"code": format_code(normalise_code(code)), "status": "approved", "store": store.code,
            "device_id": pairing.device_id, "expires_at": pairing.expires_at}


def poll(body: Any, address: str, now: datetime, central_public_key: str) -> dict[str, Any]:
    """Step 3: ``pending`` until approved; then enrol the device (once) and return what
    ``/sync/v1/enroll`` returns, with ``status: approved``."""
    check_rate(address, now)
    try:  # a malformed poll is a wrong guess like any other: counted, and told nothing more
        request = read_body(PairingPoll, body)
    except CentralError:
        request = None
    pairing = _find(request.code) if request else None
    if pairing is None or not secrets.compare_digest(pairing.secret_hash, hash_secret(request.secret)):
        note_attempt(address, now, "poll")
        raise CentralError(403, "pairing_invalid", "unknown pairing code or wrong secret")
    stamp = format_time(now)
    if pairing.enrolled_at is not None:
        raise conflict("pairing_used", "this pairing was already used to enrol the box")
    if pairing.approved_at is None:
        if pairing.expires_at <= stamp:
            raise CentralError(410, "pairing_expired", "nobody approved this code in time; run 'fidelis-edge pair' again")
        return {"status": "pending", "expires_at": pairing.expires_at}
    with db.database.atomic():
        used = db.execute("UPDATE pairing SET enrolled_at = ? WHERE code_hash = ? AND enrolled_at IS NULL",
                          (stamp, pairing.code_hash))
        if used.rowcount != 1:
            raise conflict("pairing_used", "this pairing was already used to enrol the box")
        device = _bind_device(pairing.device_id, pairing.public_key, pairing.store_code, stamp)
        store = get_store(pairing.store_code)
    return {"status": "approved", "device_id": device.id, "store": {"code": store.code, "name": store.name},
            "central_public_key": central_public_key, "head": {"seq": device.head_seq, "hash": device.head_hash}}


def _bind_device(device_id: str, public_key: str, store_code: str, stamp: str) -> Device:
    """The device row for this key, made if new; the same checks as token enrolment."""
    device = Device.get_or_none(Device.id == device_id)
    if device is None:
        return Device.create(id=device_id, store=store_code, public_key=public_key, enrolled_at=stamp,
                             head_seq=0, head_hash=GENESIS_PREV, revoked=False, frozen=False)
    if device.public_key != public_key or device.store_code != store_code:
        raise conflict("device_conflict", f"device {device_id} is already enrolled with another key or store")
    if device.revoked:
        raise CentralError(403, "device_revoked", f"device {device_id} was revoked")
    return device
