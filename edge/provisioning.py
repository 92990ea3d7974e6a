"""``fidelis-edge provision`` and ``pair``: enrol this box with central.

``provision`` presents a one-time token; ``pair`` (``edge.pairing``) gets the same enrolment
reply once head office approves a printed code. Both end in :func:`complete`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.bodies import URL_MAX, text_problem
from sync.client import Offline, Refused, SyncClient
from sync.entry import public_key_raw_b64
from sync.kinds import DeviceProvisioned

from . import box as boxes
from .db import write_transaction
from .syncer import session_for, set_setting, setting


def prepare(data_dir: Path, central_url: str, ca_file: str | None = None
            ) -> tuple[Ed25519PrivateKey, str, str | None, SyncClient]:
    """The key, device id and store (None before ``init``) of a box about to enrol, and a client.

    Refuses a URL that is not http(s) and a box already provisioned.
    """
    if not central_url.startswith(("http://", "https://")):
        raise boxes.BoxError(f"central URL must start with http:// or https://, got {central_url!r}")
    if text_problem(central_url) or len(central_url) > URL_MAX:
        raise boxes.BoxError(f"central URL must be at most {URL_MAX} characters without control characters")
    key, device_id = boxes.prepare_identity(data_dir)
    if setting("central_url"):
        raise boxes.BoxError(f"this box is already provisioned to {setting('central_url')}")
    client = SyncClient(central_url, device_id, key, timeout=10, session=session_for(central_url.rstrip("/")),
                        ca_file=ca_file)
    return key, device_id, setting("store_code"), client


def complete(data_dir: Path, central_url: str, reply: dict[str, Any]) -> boxes.EdgeBox:
    """Record central's address and key from an enrolment reply; initialise a fresh box."""
    code = reply["store"]["code"]
    store = setting("store_code")
    box, _ = boxes.initialise(data_dir, code, local_rules=False) if store is None else (boxes.load(data_dir), False)
    with write_transaction():
        set_setting("central_url", central_url.rstrip("/"))
        set_setting("central_public_key", reply["central_public_key"])
        set_setting("store_name", reply["store"].get("name") or code)
        box.changelog.write(DeviceProvisioned(store=code, central=central_url.rstrip("/")))
    return box


def provision(data_dir: Path, central_url: str, token: str, ca_file: str | None = None
              ) -> tuple[boxes.EdgeBox, dict[str, Any]]:
    """Enrol the box (initialised or not) and record central's address and key.

    Keeps an existing device key and id, so a box that sold standalone uploads its whole
    log on the next sync. Refuses a box already provisioned, and whatever central refuses
    (used or expired token, another store) with central's reason.
    """
    key, _, store, client = prepare(data_dir, central_url, ca_file)
    try:
        reply = client.enroll(token, public_key_raw_b64(key), store)
    except Offline as exc:
        raise boxes.BoxError(f"cannot reach central: {exc}") from None
    except Refused as exc:
        raise boxes.BoxError(f"central refused the enrolment: {exc}") from None
    return complete(data_dir, central_url, reply), reply
