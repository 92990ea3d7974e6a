"""The box's own settings (central's URL and key, the pull cursor, the sync state): one table."""

from __future__ import annotations

from .db import database
from .models import Setting


def setting(key: str, default: str | None = None) -> str | None:
    row = database.execute_sql("SELECT value FROM setting WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def set_setting(key: str, value: str) -> None:
    Setting.replace(key=key, value=value).execute()
