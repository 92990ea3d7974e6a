"""Stores, the devices enrolled in them, revocation and the per-device log export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator

from peewee import IntegrityError

from shared.times import format_time
from sync.bodies import usable_key

from . import audit, db, feed, settings
from .errors import CentralError, conflict, invalid, not_found
from .models import Device, Store


def check_store_code(code: Any) -> str:
    """A store code: 1-16 letters, digits or dashes (``S001``)."""
    if (not isinstance(code, str) or not code or len(code) > settings.STORE_CODE_MAX
            or not code.replace("-", "").isalnum() or not code.isascii()):
        raise invalid("invalid_store_code",
                      f"store code must be 1-{settings.STORE_CODE_MAX} letters, digits or dashes, e.g. S001")
    return code


def create_store(code: str, name: str, now: datetime, actor: str = "cli") -> Store:
    """Add a store; 409 ``store_exists`` when the code is taken."""
    check_store_code(code)
    if not usable_key(name, 200) or not name.strip():
        raise invalid("invalid_store_name", "a store needs a name of 1-200 characters")
    try:
        with db.database.atomic():
            store = Store.create(code=code, name=name.strip(), created_at=format_time(now))
            audit.record(actor, "store.create", f"store:{code}", None, {"code": code, "name": store.name}, now)
            return store
    except IntegrityError:
        raise conflict("store_exists", f"store {code} already exists") from None


def store_filter(code: Any) -> str | None:
    """A report's ``?store=`` filter: None when absent, else the code of a store that exists;
    ``400 bad_query`` naming the parameter otherwise (a typo is not a shop without figures)."""
    if code is None:
        return None
    if not (usable_key(code, settings.STORE_CODE_MAX) and db.rows("SELECT 1 FROM store WHERE code = ?", (code,))):
        raise CentralError(400, "bad_query", "store must be the code of a store, e.g. S001", {"parameter": "store"})
    return code


def get_store(code: str) -> Store:
    store = Store.get_or_none(Store.code == code) if usable_key(code, 16) else None
    if store is None:
        raise not_found("store_not_found", f"no store with code {code}")
    return store


def device_view(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "store": device.store_code,
        "acked_seq": device.head_seq,
        "head_hash": device.head_hash,
        "last_sync_at": device.last_sync_at,
        "revoked": bool(device.revoked),
        "frozen": bool(device.frozen),
        "enrolled_at": device.enrolled_at,
        "public_key": device.public_key,
        # What the device last reported: its own log's length and its clock's distance from ours.
        "reported_seq": device.reported_seq,
        "backlog": None if device.reported_seq is None else max(0, device.reported_seq - device.head_seq),
        "clock_skew_ms": device.clock_skew_ms,
    }


def list_stores() -> list[dict[str, Any]]:
    """Every store with its devices: ``[{"code", "name", "devices": [...]}]``."""
    devices: dict[str, list[dict[str, Any]]] = {}
    for device in Device.select().order_by(Device.enrolled_at, Device.id):
        devices.setdefault(device.store_code, []).append(device_view(device))
    return [{"code": s.code, "name": s.name, "devices": devices.get(s.code, [])}
            for s in Store.select().order_by(Store.code)]


def get_device(device_id: str) -> Device:
    device = Device.get_or_none(Device.id == device_id) if usable_key(device_id) else None
    if device is None:
        raise not_found("device_not_found", f"no device with id {device_id}")
    return device


def revoke_device(device_id: str, now: datetime, actor: str = "cli") -> Device:
    """Refuse the device from now on and tell its store's feed; revoking twice is harmless."""
    with db.database.atomic():
        device = get_device(device_id)
        if not device.revoked:
            stamp = format_time(now)
            db.execute("UPDATE device SET revoked = ?, revoked_at = ? WHERE id = ?", (True, stamp, device_id))
            feed.append([(device.store_code, feed.DEVICE_REVOKED, {"device_id": device_id})], now)
            audit.record(actor, "device.revoke", f"device:{device_id}", {"revoked": False},
                         {"revoked": True, "store": device.store_code}, now)
        return get_device(device_id)


def export_log(device_id: str, after_seq: int = 0, page: int = 1000) -> Iterator[str]:
    """The device's entries as central holds them (canonical JSON lines with ``sig``), oldest first."""
    get_device(device_id)
    while True:
        found = db.rows("SELECT seq, line FROM logentry WHERE device_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (device_id, after_seq, page))
        if not found:
            return
        for _, line in found:
            yield line
        after_seq = found[-1][0]
