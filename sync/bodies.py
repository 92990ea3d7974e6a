"""The bodies of the change-log entry kinds, checked and read: one definition for edge and central.

A signed entry proves who wrote it, not that its body makes sense: a buggy edge can sign
nonsense. These readers turn a body into plain values or raise ``BodyError`` naming the
first bad field, and the entry is then kept in the log, answered ``rejected`` and queued as
a ``malformed_body`` exception. ``sync.kinds.check`` runs them on the edge before it signs.
The kinds of a sale (``sale.completed``, ``sale.returned``, ``gift_card.issued``) are in
``sync.sale_bodies``, the wallet's in ``sync.wallet``, the box's own in ``sync.kinds``.

Text is 1 to the field's ``*_MAX`` characters (the till API's limits too), without control
characters or lone surrogates. Fields no reader names are ignored at both ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from shared.times import format_time, parse_time
from sync.canonical import MAX_SAFE_INTEGER

CUSTOMER_REGISTERED = "customer.registered"
RULES_INSTALLED = "rules.installed"
SALE_COMPLETED = "sale.completed"
SALE_RETURNED = "sale.returned"
GIFT_CARD_ISSUED = "gift_card.issued"

# Length limits of text fields, in characters (NAME: first and last names; METHOD: payments).
ID_MAX, CARD_MAX, NAME_MAX, EMAIL_MAX, PHONE_MAX, BIRTH_DATE_MAX = 64, 32, 100, 254, 32, 10  # tier names: 60
SKU_MAX, LINE_NAME_MAX, CATEGORY_MAX, METHOD_MAX, TILL_NAME_MAX, STORE_MAX, URL_MAX = 64, 120, 64, 32, 60, 16, 2000
CODE_MAX = 32  # gift card and voucher codes


class BodyError(ValueError):
    """A body that cannot be applied; the message names the field."""


_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")  # lone surrogates have no UTF-8: unsignable


def text_problem(value: str) -> str | None:
    """Why ``value`` breaks the text rule (besides its length), or None when it does not."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    if found.group() >= "\ud800":
        return "must be valid Unicode text (it holds a lone surrogate)"
    return f"must not contain control characters (found U+{ord(found.group()):04X})"


def usable_key(value: Any, limit: int = 64) -> bool:
    """Whether ``value`` could be an id or card number at all (worth looking up)."""
    return type(value) is str and 0 < len(value) <= limit and not _CONTROL.search(value)


def plain_text(value: str, limit: int = 64) -> str:
    """``value`` cut to ``limit`` with control characters replaced, for informational columns."""
    value = value[:limit]
    return _CONTROL.sub("?", value) if _CONTROL.search(value) else value


def read_text(body: dict, name: str, *, optional: bool = False, limit: int = 200) -> str | None:
    """``body[name]`` as text of 1 to ``limit`` characters (``optional``: None when absent or null)."""
    value = body.get(name)
    if value is None and optional:
        return None
    if type(value) is not str or not 0 < len(value) <= limit or _CONTROL.search(value):
        raise BodyError(f"{name} must be a string of 1-{limit} characters without control characters")
    return value


def read_int(body: dict, name: str, *, optional: bool = False) -> int:
    """``body[name]`` as a safe integer >= 0 (``optional``: 0 when absent or null)."""
    value = body.get(name)
    if value is None and optional:
        return 0
    if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
        raise BodyError(f"{name} must be an integer >= 0")
    return value


def _is_stored_form(text: str) -> bool:
    # format_time's own output (what edges write): "2026-01-31T23:59:59.123Z".
    return len(text) == 24 and text[-1] == "Z" and text[10] == "T" and text[19] == "." and text[:4].isdigit()


def normal_time(text: Any) -> datetime:
    """Parse an RFC 3339 time; the common fixed-width form takes the fast path."""
    if isinstance(text, str) and _is_stored_form(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return parse_time(text)


def read_time(body: dict, name: str) -> str | None:
    """An optional RFC 3339 time, normalized to central's fixed-width form."""
    value = body.get(name)
    if value is None:
        return None
    try:
        moment = normal_time(value)
    except (ValueError, TypeError):
        raise BodyError(f"{name} must be an RFC 3339 time") from None
    return value if _is_stored_form(value) else format_time(moment)


def voucher_problem(raw: Any) -> str | None:
    """Why ``raw`` is not an issued voucher or card (``{"code", "amount", "expires_at"}``), or None."""
    if type(raw) is not dict:
        return "must be an object"
    if not usable_key(raw.get("code"), CODE_MAX):
        return f"code must be a string of 1-{CODE_MAX} characters without control characters"
    if type(raw.get("amount")) is not int or not 0 < raw["amount"] <= MAX_SAFE_INTEGER:
        return "amount must be an integer > 0"
    try:
        normal_time(raw.get("expires_at"))
    except (ValueError, TypeError):
        return "expires_at must be an RFC 3339 time"
    return None


def read_items(body: dict, name: str, problem_of, required: bool) -> tuple:
    """The list ``body[name]`` (absent and not ``required``: empty), each item checked by
    ``problem_of``; ``BodyError`` at the first bad one."""
    items = body.get(name) if required else body.get(name, [])
    if type(items) is not list:
        raise BodyError(f"{name} must be a list")
    for index, raw in enumerate(items):
        problem = problem_of(raw)
        if problem:
            raise BodyError(f"{name}[{index}]: {problem}")
    return tuple(items)


class EntryBody:
    """A kind's body as one class: the edge builds one to write (``body()``, the exact wire
    dict: every field present unless the kind leaves an empty one out), central reads one back
    (``read``, ``BodyError`` naming the first bad field). ``KIND`` is the entry kind it is the
    body of; list fields are tuples here and lists on the wire."""

    __slots__ = ()
    KIND: ClassVar[str]

    @classmethod
    def read(cls, body: dict) -> "EntryBody":  # pragma: no cover - every kind defines it
        raise NotImplementedError

    def body(self) -> dict[str, Any]:
        """The body as it is signed: every field by name, ``None`` as null."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True, slots=True)
class Registration(EntryBody):
    """``customer.registered``: the customer as the edge made it (the card is always set)."""

    KIND: ClassVar[str] = CUSTOMER_REGISTERED
    customer_id: str
    card_number: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    birth_date: str | None
    tier: str | None
    rules_version: int = 0  # the rules that gave the welcome voucher, when there is one
    vouchers_issued: tuple = ()  # [{"code", "amount", "expires_at"}]
    provisional: bool = False  # a card an offline shop did not know (docs/sync-protocol.md)

    @classmethod
    def read(cls, body: dict) -> "Registration":
        """``provisional: true`` is a card an offline shop did not know: the card number is
        required, the names may be absent (``""``), and central links it to the customer already
        holding the card, if any (docs/sync-protocol.md)."""
        provisional = body.get("provisional", False)
        if type(provisional) is not bool:
            raise BodyError("provisional must be true or false")
        return cls(
            customer_id=read_text(body, "customer_id", limit=ID_MAX),
            card_number=read_text(body, "card_number", optional=not provisional, limit=CARD_MAX),
            first_name=read_text(body, "first_name", optional=provisional, limit=NAME_MAX) or "",
            last_name=read_text(body, "last_name", optional=provisional, limit=NAME_MAX) or "",
            email=read_text(body, "email", optional=True, limit=EMAIL_MAX),
            phone=read_text(body, "phone", optional=True, limit=PHONE_MAX),
            birth_date=read_text(body, "birth_date", optional=True, limit=BIRTH_DATE_MAX),
            tier=read_text(body, "tier", optional=True, limit=60),
            rules_version=read_int(body, "rules_version", optional=True),
            vouchers_issued=read_items(body, "vouchers_issued", voucher_problem, required=False),
            provisional=provisional,
        )

    def body(self) -> dict[str, Any]:
        """As ``EntryBody.body``, but the welcome voucher and its rules version only when there is
        one, and ``provisional`` only when true; a provisional card's body holds only what the
        shop knew (its absent names and contacts are left out, not written empty)."""
        written = EntryBody.body(self)
        if not self.vouchers_issued:
            del written["vouchers_issued"], written["rules_version"]
        else:
            written["vouchers_issued"] = list(self.vouchers_issued)
        if not self.provisional:
            del written["provisional"]
        else:
            for name in ("first_name", "last_name", "email", "phone", "birth_date", "tier"):
                if not written[name]:
                    del written[name]
        return written


@dataclass(frozen=True, slots=True)
class RulesInstalled(EntryBody):
    """``rules.installed``: a rules document the box installed itself (a standalone edge)."""

    KIND: ClassVar[str] = RULES_INSTALLED
    version: int
    effective_from: str | None
    document: dict

    @classmethod
    def read(cls, body: dict) -> "RulesInstalled":
        version = read_int(body, "version")
        document = body.get("document")
        if not isinstance(document, dict):
            raise BodyError("document must be a rules document (an object)")
        read_time(body, "effective_from")
        return cls(version, body.get("effective_from"), document)


def entry_time(text: Any, now: datetime) -> datetime:
    """The entry's ``at``, clamped so a device clock running ahead cannot date points in the future."""
    try:
        at = normal_time(text)
    except (ValueError, TypeError):
        return now
    return at if at <= now else now
