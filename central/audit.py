"""The audit log: who changed what at head office, when, and what it was before and after.

Every change made through the JSON API or the head-office pages calls ``record`` inside the
transaction that makes the change, so the log can never miss a change nor hold one that was
rolled back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from peewee import BigAutoField, CharField, TextField

from shared.times import format_time

from . import db
from .models import BaseModel


class AuditEntry(BaseModel):
    """One change: ``before`` and ``after`` are JSON objects (NULL for a creation or a removal)."""

    id = BigAutoField()
    at = CharField(index=True)
    actor = CharField(max_length=254)
    action = CharField(max_length=64)
    target = CharField(max_length=200, index=True)
    before = TextField(null=True)
    after = TextField(null=True)

    class Meta:
        table_name = "auditlog"


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record(actor: str, action: str, target: str, before: dict | None, after: dict | None, now: datetime) -> None:
    """Add one entry: ``actor`` did ``action`` (``customer.adjust``) to ``target`` (``customer:<id>``)."""
    db.insert_rows("auditlog", ("at", "actor", "action", "target", "before", "after"),
                   [(format_time(now), actor, action, target, _json(before), _json(after))])


def create_table() -> None:
    """Create the table and its indexes (a migration step; safe to run again)."""
    AuditEntry.create_table(safe=True)
