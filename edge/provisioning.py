"""``fidelis-edge provision``: enrol this box with central using a one-time token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sync.bodies import URL_MAX, text_problem
from sync.client import Offline, Refused, SyncClient
from sync.entry import public_key_raw_b64

from . import box as boxes
from .db import write_transaction
from .syncer import set_setting, setting


def provision(data_dir: Path, central_url: str, token: str) -> tuple[boxes.EdgeBox, dict[str, Any]]:
    """Enrol the box (initialised or not) and record central's address and key.

    Keeps an existing device key and id, so a box that sold standalone uploads its whole
    log on the next sync. Refuses a box already provisioned, and whatever central refuses
    (used or expired token, another store) with central's reason.
    """
    if not central_url.startswith(("http://", "https://")):
        raise boxes.BoxError(f"central URL must start with http:// or https://, got {central_url!r}")
    if text_problem(central_url) or len(central_url) > URL_MAX:
        raise boxes.BoxError(f"central URL must be at most {URL_MAX} characters without control characters")
    key, device_id = boxes.prepare_identity(data_dir)
    if setting("central_url"):
        raise boxes.BoxError(f"this box is already provisioned to {setting('central_url')}")
    store = setting("store_code")
    client = SyncClient(central_url, device_id, key, timeout=10)
    try:
        reply = client.enroll(token, public_key_raw_b64(key), store)
    except Offline as exc:
        raise boxes.BoxError(f"cannot reach central: {exc}") from None
    except Refused as exc:
        raise boxes.BoxError(f"central refused the enrolment: {exc}") from None
    code = reply["store"]["code"]
    box, _ = boxes.initialise(data_dir, code, local_rules=False) if store is None else (boxes.load(data_dir), False)
    with write_transaction():
        set_setting("central_url", central_url.rstrip("/"))
        set_setting("central_public_key", reply["central_public_key"])
        set_setting("store_name", reply["store"].get("name") or code)
        box.changelog.append("device.provisioned", {"store": code, "central": central_url.rstrip("/")})
    return box, reply
