"""Shops and their edge boxes (``/shops``): create shops, make enrolment tokens, watch and revoke devices."""

from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for

from shared.times import format_time, parse_time

from .. import enrolment, settings, stores
from ..errors import CentralError
from ..web import clock
from .web import actor, area, notify, requires

shops = area("ui_shops", url_prefix="/shops")

STALE_AFTER_SECONDS = 3600
"""A device not synced for longer than this is flagged (the dashboard counts such shops too)."""


def _age(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = int((now - parse_time(stamp)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def _devices_view(found: list[dict], now: datetime) -> list[dict]:
    for store in found:
        for device in store["devices"]:
            last = device["last_sync_at"]
            device["last_sync_age"] = _age(last, now)
            device["stale"] = not device["revoked"] and (
                last is None or (now - parse_time(last)).total_seconds() > STALE_AFTER_SECONDS)
    return found


def _index(problems: dict | None = None, values: dict | None = None, enrolment_token: dict | None = None,
           status: int = 200):
    now = clock()
    return render_template("shops.html", stores=_devices_view(stores.list_stores(), now), problems=problems or {},
                           values=values or {}, enrolment_token=enrolment_token, now=format_time(now),
                           central_url=request.host_url.rstrip("/"), hours=settings.ENROLMENT_HOURS), status


@shops.get("/")
@requires("shops.view")
def index():
    """Every shop with its devices: last sync, acknowledged seq, backlog, clock skew, revoked."""
    return _index()


@shops.post("/")
@requires("shops.change")
def create():
    """Add a shop; a problem is shown next to its field and nothing is written."""
    code, name = request.form.get("code", "").strip(), request.form.get("name", "")
    try:
        stores.create_store(code, name, clock(), actor=actor())
    except CentralError as error:
        field = {"invalid_store_name": "name"}.get(error.code, "code")
        return _index({field: error.message}, {"code": code, "name": name}, status=error.status)
    notify(f"Shop {code} created.")
    return redirect(url_for("ui_shops.index"), 303)


@shops.post("/<code>/enrolments")
@requires("shops.change")
def enrol(code: str):
    """Make a one-time enrolment token and show it once, with the command to paste on the box."""
    hours = request.form.get("hours", str(settings.ENROLMENT_HOURS)).strip()
    if not hours.isdigit() or not 1 <= int(hours) <= 24 * 365:
        return _index({f"hours-{code}": "hours must be a whole number from 1 to 8760"}, status=422)
    secret, expires_at = enrolment.create_token(code, clock(), int(hours), actor=actor())
    return _index(enrolment_token={"store": code, "token": secret, "expires_at": expires_at})


@shops.post("/devices/<device_id>/revoke")
@requires("shops.change")
def revoke(device_id: str):
    """Refuse the device from now on (its store's feed is told)."""
    device = stores.revoke_device(device_id, clock(), actor=actor())
    notify(f"Device {device.id} of shop {device.store_code} revoked: central refuses it from now on.")
    return redirect(url_for("ui_shops.index"), 303)
