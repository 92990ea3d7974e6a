"""``fidelis-edge doctor``: one line per thing a technician would check first."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from . import box as boxes
from . import rejections
from .changelog import head
from .db import database
from .syncer import client_for, setting

Check = tuple[str, bool, str]


def checks(data_dir: Path) -> list[Check]:
    """Database, keys, clock, central, rejected entries, devices; each ``(name, ok, detail)``. Never raises."""
    try:
        box = boxes.load(data_dir)
    except boxes.BoxError as exc:
        return [("database", False, str(exc))]
    results: list[Check] = []
    integrity = database.execute_sql("PRAGMA quick_check").fetchone()[0]
    journal = database.execute_sql("PRAGMA journal_mode").fetchone()[0]
    results.append(("database", integrity == "ok" and journal == "wal",
                    f"{integrity}, journal {journal}, log head seq {head()[0]}"))
    mode = os.stat(data_dir / boxes.KEY_FILE).st_mode & 0o777
    results.append(("keys", mode == 0o600, f"device key mode {mode:o}, public key {box.public_key_b64}"))
    results.append(_clock(box))
    results.append(_central(box))
    results.append(_rejected())
    from .peripherals import device_report

    results.extend((e["device"], e["ok"], e["detail"]) for e in device_report(box))
    return results


def _clock(box: boxes.EdgeBox) -> Check:
    now = datetime.now(timezone.utc)
    last = box.changelog.clock.last
    if last and int(last.split("-")[0]) > now.timestamp() * 1000 + 5 * 60_000:
        return ("clock", False, f"the wall clock is behind the change log ({last}); check NTP")
    return ("clock", True, f"{now.isoformat(timespec='seconds')} (check it against a reference)")


def _rejected() -> Check:
    found = rejections.outstanding()
    if not found:
        return ("rejected", True, "central has rejected none of this box's entries")
    return ("rejected", False, f"{rejections.summary(found)}; {rejections.WHAT_TO_DO}")


def _central(box: boxes.EdgeBox) -> Check:
    client = client_for(box, timeout=3)
    if client is None:
        return ("central", True, "standalone (not provisioned)")
    state = setting("sync_state")
    if state == "device_revoked":
        return ("central", False, f"{client.base_url}: this device was REVOKED by head office")
    if state == "fork":
        return ("central", False, f"{client.base_url}: sync stopped on a fork; call support")
    from sync.client import Offline, Refused

    try:
        remote = client.head()
    except Offline as exc:
        return ("central", False, f"{client.base_url}: unreachable ({exc})")
    except Refused as exc:
        if exc.code == "device_revoked":
            return ("central", False, f"{client.base_url}: this device was REVOKED by head office")
        return ("central", False, f"{client.base_url}: refused ({exc.code})")
    pending = head()[0] - remote["seq"]
    return ("central", True, f"{client.base_url}: reachable, {pending} entries not yet acknowledged")
