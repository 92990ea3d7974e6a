"""Till API keys: made once, shown once, stored only as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from shared.times import format_time
from sync.bodies import TILL_NAME_MAX, text_problem
from sync.kinds import TillAdded

from .box import EdgeBox
from .db import database, write_transaction
from .models import Till

KEY_PREFIX = "ftk_"


def _digest(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add(box: EdgeBox, name: str) -> tuple[Till, str]:
    """Create a till; return it and its key (which is never stored in clear)."""
    problem = text_problem(name or "")
    if problem:
        raise ValueError(f"a till name {problem}")
    name = (name or "").strip()
    if not name or len(name) > TILL_NAME_MAX:
        raise ValueError(f"a till name must be 1 to {TILL_NAME_MAX} characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        till = Till.create(
            id=str(uuid.uuid4()), name=name, key_hash=_digest(key), created_at=format_time(datetime.now(timezone.utc))
        )
        box.changelog.write(TillAdded(till_id=till.id, name=name))
    return till, key


@dataclass(frozen=True)
class AuthenticatedTill:
    id: str
    name: str


def authenticate(key: str) -> AuthenticatedTill | None:
    """The till that owns ``key``, or None. Every live till is compared, in constant time."""
    digest = _digest(key)
    found = None
    rows = database.execute_sql("SELECT id, name, key_hash FROM till WHERE revoked = 0").fetchall()
    for till_id, name, key_hash in rows:
        if hmac.compare_digest(key_hash, digest):
            found = AuthenticatedTill(till_id, name)
    return found
