"""What ``fidelis-edge status`` and ``GET /api/v1/status`` report."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from . import rulebook
from .box import EdgeBox
from .changelog import head
from .models import LogEntry, Setting


def status(box: EdgeBox) -> dict[str, Any]:
    """Identity, log head, pending entries, sync state and the rules in force."""
    seq, digest = head()
    acked = Setting.get_or_none(Setting.key == "acked_seq")
    acked_seq = int(acked.value) if acked else 0
    last_sync = Setting.get_or_none(Setting.key == "last_sync_at")
    rules = rulebook.in_force(datetime.now(timezone.utc))
    return {
        "store": box.store_code,
        "device_id": box.device_id,
        "device_public_key": box.public_key_b64,
        "provisioned": Setting.get_or_none(Setting.key == "central_url") is not None,
        "log_head": {"seq": seq, "hash": digest},
        "acked_seq": acked_seq,
        "pending_entries": LogEntry.select().where(LogEntry.seq > acked_seq).count(),
        "last_sync": last_sync.value if last_sync else None,
        "rules_version": rules.version,
        "online": False,
    }
