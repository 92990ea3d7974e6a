"""Finding customers for head office: by card (old cards too), e-mail, phone or name.

One box takes whatever support has in hand. Cards, e-mails and phones match exactly (a phone
without its spaces, dots, dashes and brackets, as the tills keep them); names match by prefix
on "first last" or "last first", ignoring case and accents ("stef" finds "Ștefan"). Every
condition is served by an index, so a search costs the same with a hundred customers or
twenty million; names are kept folded on the customer row (``name_fl``, ``name_lf``) and
compared by code point (``COLLATE "C"`` on PostgreSQL, SQLite's default), so a prefix is a
plain index range. Customers merged into another are not listed: their card finds the one
kept.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from . import db, ledger

MAX_QUERY = 200
MAX_MATCHES = 5000
"""The most matches one search sorts and pages; past it, the answer says to narrow the query."""
_PHONE_CHARS = re.compile(r"[\s().\-]")
_SPACES = re.compile(r"\s+")
_PHONE = re.compile(r"^\+?[0-9]{4,}$")
_TOP = "\U0010ffff"  # sorts after every character that can follow a prefix
LIST_COLUMNS = ("id", "card_number", "first_name", "last_name", "email", "phone", "tier", "tier_locked",
                "balance_negative", "created_at")


_PLAIN_LETTERS = str.maketrans({"ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
"""Letters with a mark Unicode does not decompose, as people type them without it."""


def fold(text: str) -> str:
    """``text`` without accents, case or repeated spaces: what name search compares."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", plain.casefold().translate(_PLAIN_LETTERS)).strip()


def name_keys(first_name: str | None, last_name: str | None) -> tuple[str, str]:
    """The folded ``("first last", "last first")`` a customer row keeps for name search."""
    first, last = fold(first_name or ""), fold(last_name or "")
    return f"{first} {last}".strip(), f"{last} {first}".strip()


def _ordered(column: str) -> str:
    """``column`` compared by code point on both backends (PostgreSQL's default may be a locale)."""
    return f'{column} COLLATE "C"' if db.is_postgres() else column


def _blocked_owner(text: str) -> str | None:
    found = db.rows("SELECT customer_id FROM retiredcard WHERE card_number = ? AND status = 'blocked'", (text,))
    return found[0][0] if found else None


def _where(text: str, blocked_owner: str | None) -> tuple[str, list[Any]]:
    """The condition matching ``text`` and its parameters: only terms an index serves."""
    terms = ["card_number = ?"]
    params: list[Any] = [text]
    if "@" in text:
        terms.append("email = ?")
        params.append(text.lower())
    phone = _PHONE_CHARS.sub("", text)
    if _PHONE.match(phone):
        terms.append("phone = ?")
        params.append(phone)
    folded = fold(text)
    if folded:
        for column in ("name_fl", "name_lf"):
            terms.append(f"({_ordered(column)} >= ? AND {_ordered(column)} < ?)")
            params += [folded, folded + _TOP]
    if blocked_owner is not None:
        terms.append("id = ?")
        params.append(blocked_owner)
    return f"merged_into IS NULL AND ({' OR '.join(terms)})", params


def find(query: str, now: datetime, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Customers matching ``query``, by last name.

    ``{"query", "items", "total", "truncated", "limit", "offset"}``: at most ``MAX_MATCHES``
    are sorted and paged (``truncated`` says there were more: the query should be narrower).
    Each item has the list columns, ``points`` (available and pending) and ``blocked_card``
    when it was found by a card reported lost.
    """
    text = query.strip()
    blocked_owner = _blocked_owner(text) if text else None
    where, params = _where(text, blocked_owner)
    # The inner LIMIT keeps each backend from walking a name index in order and filtering
    # (fast for common names, a full scan for a card): matches are found through the
    # indexes first, then at most MAX_MATCHES of them are sorted.
    matches = f"SELECT {', '.join(LIST_COLUMNS)}, name_lf FROM customer WHERE {where} LIMIT {MAX_MATCHES + 1}"
    total = db.rows(f"SELECT COUNT(*) FROM ({matches}) matches", params)[0][0]
    found = db.rows(f"SELECT {', '.join(LIST_COLUMNS)} FROM ({matches}) matches "
                    f"ORDER BY {_ordered('name_lf')}, id LIMIT ? OFFSET ?", [*params, limit, offset])
    items = [dict(zip(LIST_COLUMNS, values)) for values in found]
    points = ledger.balances([item["id"] for item in items], now)
    for item in items:
        balance = points[item["id"]]
        item["tier_locked"] = bool(item["tier_locked"])
        item["balance_negative"] = bool(item["balance_negative"])
        item["points"] = {"available": balance.available, "pending": balance.pending}
        if item["id"] == blocked_owner:
            item["blocked_card"] = text
    return {"query": query, "items": items, "total": min(total, MAX_MATCHES), "truncated": total > MAX_MATCHES,
            "limit": limit, "offset": offset}


def index_statements() -> list[str]:
    """The indexes search needs (a migration step runs them)."""
    return [
        "CREATE INDEX IF NOT EXISTS customer_email ON customer (email)",
        "CREATE INDEX IF NOT EXISTS customer_phone ON customer (phone)",
        f"CREATE INDEX IF NOT EXISTS customer_name_fl ON customer ({_ordered('name_fl')})",
        f"CREATE INDEX IF NOT EXISTS customer_name_lf ON customer ({_ordered('name_lf')})",
        # Partial: only merged customers are looked up by it, and a full one would tempt SQLite
        # to read every live customer through it for "merged_into IS NULL".
        "CREATE INDEX IF NOT EXISTS customer_merged_into ON customer (merged_into) WHERE merged_into IS NOT NULL",
    ]
