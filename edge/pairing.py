"""``fidelis-edge pair``: enrol a box with a code printed in the shop instead of a typed token.

The box asks central for a code (``central.pairing``), prints it on the shop's receipt
printer and on stdout, and polls until head office approves it; the approval's reply is
the same as a token enrolment's and ends in ``provisioning.complete``. Waiting survives a
flaky WAN: a failed poll is retried after a jittered backoff until the code expires.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from shared.times import parse_time
from sync.backoff import Backoff
from sync.client import Offline, Refused
from sync.entry import public_key_raw_b64

from . import box as boxes
from .provisioning import complete, prepare

__all__ = ["pair", "print_code"]

log = logging.getLogger("fidelis.edge.pair")


def pair(data_dir: Path, central_url: str, announce: Callable[[dict[str, Any]], None], *,
         ca_file: str | None = None, poll_interval: float | None = None,
         sleep: Callable[[float], None] = time.sleep) -> tuple[boxes.EdgeBox, dict[str, Any]]:
    """Ask for a code, ``announce`` it (``{"code", "expires_at", "device_id", "store"}``), wait
    for approval, enrol. Raises ``BoxError`` when central refuses or the code expires."""
    key, device_id, store, client = prepare(data_dir, central_url, ca_file)
    try:
        issued = client.request_pairing(public_key_raw_b64(key), store)
    except Offline as exc:
        raise boxes.BoxError(f"cannot reach central: {exc}") from None
    except Refused as exc:
        raise boxes.BoxError(f"central refused to give a pairing code: {exc}") from None
    announce({"code": issued["code"], "expires_at": issued["expires_at"], "device_id": device_id, "store": store})
    interval = poll_interval if poll_interval is not None else float(issued.get("poll_interval", 2))
    expires = parse_time(issued["expires_at"])
    backoff = Backoff(max(interval, 0.05), 30.0, floor=interval)
    while True:
        try:
            reply = client.poll_pairing(issued["code"], issued["secret"])
        except Offline as exc:
            if datetime.now(timezone.utc) > expires:
                raise boxes.BoxError(f"central could not be reached before the code expired: {exc}") from None
            wait = backoff.failed()
            log.warning("central unreachable (%s); asking again in %.1f s", exc, wait)
            sleep(wait)
            continue
        except Refused as exc:
            if exc.code == "pairing_expired":
                raise boxes.BoxError("nobody approved the code within 15 minutes; run 'fidelis-edge pair' again") \
                    from None
            raise boxes.BoxError(f"central refused the pairing: {exc}") from None
        if reply.get("status") == "approved":
            return complete(data_dir, central_url, reply), reply
        backoff.succeeded()
        sleep(interval)


def print_code(settings, code: str, expires_at: str, store: str | None, device_id: str) -> None:
    """Print the code on the shop's receipt printer (``DeviceUnavailable`` when it cannot)."""
    from devices.printer import print_pairing_code

    from .peripherals.receipts import open_configured_printer

    printer = open_configured_printer(settings)
    print_pairing_code(printer, code, [("Store", store or "(from head office)"), ("Device", device_id[:8]),
                                       ("Valid until", expires_at[:16].replace("T", " ") + " UTC")],
                       width=settings.paper_width)
