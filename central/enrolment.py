"""Enrolment: a one-time, expiring token binds a device's public key to a store.

``fidelis-central enroll create --store S001`` makes the token; the edge presents it once at
``POST /sync/v1/enroll`` with its device id and public key (docs/sync-protocol.md).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.times import format_time
from sync.entry import GENESIS_PREV

from . import audit, db, settings
from .auth import hash_secret
from .errors import CentralError, conflict
from .models import Device, EnrolmentToken
from .stores import get_store

if TYPE_CHECKING:  # the body model's module loads pydantic, which the command line does not need
    from .schemas import EnrollRequest

TOKEN_PREFIX = "fce_"


def create_token(store_code: str, now: datetime, hours: float = settings.ENROLMENT_HOURS,
                 actor: str = "cli") -> tuple[str, str]:
    """A new one-time token for ``store_code``; returns ``(secret, expires_at)``. Only its hash is kept."""
    if not 0 < hours <= 24 * 365:
        raise CentralError(422, "invalid_expiry", "--expires-in must be between 0 and 8760 hours")
    store = get_store(store_code)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(24)
    expires_at = format_time(now + timedelta(hours=hours))
    with db.database.atomic():
        EnrolmentToken.create(token_hash=hash_secret(secret), store=store.code, created_at=format_time(now),
                              expires_at=expires_at)
        # The secret itself is never recorded: only that a token was made, for which store, until when.
        audit.record(actor, "enrolment.create", f"store:{store.code}", None, {"expires_at": expires_at}, now)
    return secret, expires_at


def enroll(body: EnrollRequest, now: datetime, central_public_key: str) -> dict[str, Any]:
    """Enrol a device with a one-time token; the token is consumed in the same transaction."""
    token, device_id, public_key, store = body.token, body.device_id, body.public_key, body.store
    token_hash = hash_secret(token)
    stamp = format_time(now)
    with db.database.atomic():
        found = db.rows("SELECT store_code, expires_at, used_at FROM enrolmenttoken WHERE token_hash = ?"
                        + db.for_update(), (token_hash,))
        if not found or found[0][2] is not None or found[0][1] <= stamp:
            raise CentralError(403, "enrollment_token_invalid", "the enrolment token is unknown, used or expired")
        token_store = found[0][0]
        if store is not None and store != token_store:
            raise conflict("store_mismatch",
                           f"this token enrols into store {token_store}, the edge was set up for {store}",
                           token_store=token_store, edge_store=store)
        device = Device.get_or_none(Device.id == device_id)
        if device is not None:
            if device.public_key != public_key or device.store_code != token_store:
                raise conflict("device_conflict", f"device {device_id} is already enrolled with another key or store")
            if device.revoked:
                raise CentralError(403, "device_revoked", f"device {device_id} was revoked")
        used = db.execute("UPDATE enrolmenttoken SET used_at = ?, device_id = ? "
                          "WHERE token_hash = ? AND used_at IS NULL", (stamp, device_id, token_hash))
        if used.rowcount != 1:
            raise CentralError(403, "enrollment_token_invalid", "the enrolment token is unknown, used or expired")
        if device is None:
            device = Device.create(id=device_id, store=token_store, public_key=public_key, enrolled_at=stamp,
                                   head_seq=0, head_hash=GENESIS_PREV, revoked=False, frozen=False)
        store_row = get_store(token_store)
        return {
            "device_id": device_id,
            "store": {"code": store_row.code, "name": store_row.name},
            "central_public_key": central_public_key,
            "head": {"seq": device.head_seq, "hash": device.head_hash},
        }
