"""RFC 3339 timestamps: the only way times cross an API or the change log."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with an explicit offset into an aware UTC datetime.

    Raises ``ValueError`` for naive or malformed times.
    """
    if not isinstance(text, str) or not _RFC3339.fullmatch(text):
        raise ValueError(f"not an RFC 3339 time with offset: {text!r}")
    normalized = text.replace("z", "Z").replace("Z", "+00:00")
    # fromisoformat accepts at most 6 fractional digits; extra precision is noise here.
    normalized = re.sub(r"(\.\d{6})\d+", r"\1", normalized)
    return datetime.fromisoformat(normalized).astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC, always with milliseconds and ``Z``.

    The fixed width makes stored times sort correctly as text.
    """
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
