"""The bodies of the change-log entry kinds central applies, checked and read.

A signed entry proves who wrote it, not that its body makes sense: a buggy edge can sign
nonsense. These readers turn a body into plain values or raise ``BodyError`` naming the
first bad field, and the entry is then kept in the log, answered ``rejected`` and queued as
a ``malformed_body`` exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.engine import Line
from shared.times import format_time, parse_time
from sync.canonical import MAX_SAFE_INTEGER

CUSTOMER_REGISTERED = "customer.registered"
RULES_INSTALLED = "rules.installed"
SALE_COMPLETED = "sale.completed"
SALE_RETURNED = "sale.returned"


class BodyError(ValueError):
    """A body that cannot be applied; the message names the field."""


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def usable_key(value: Any, limit: int = 64) -> bool:
    """Whether ``value`` could be an id or card number at all (worth looking up)."""
    return type(value) is str and 0 < len(value) <= limit and not _CONTROL.search(value)


def plain_text(value: str, limit: int = 64) -> str:
    """``value`` cut to ``limit`` with control characters replaced, for informational columns."""
    value = value[:limit]
    return _CONTROL.sub("?", value) if _CONTROL.search(value) else value


def _text(body: dict, name: str, *, optional: bool = False, limit: int = 200) -> str | None:
    value = body.get(name)
    if value is None and optional:
        return None
    if type(value) is not str or not 0 < len(value) <= limit or _CONTROL.search(value):
        raise BodyError(f"{name} must be a string of 1-{limit} characters without control characters")
    return value


def _int(body: dict, name: str, *, optional: bool = False) -> int:
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


def _time(body: dict, name: str) -> str | None:
    """An optional RFC 3339 time, normalized to central's fixed-width form."""
    value = body.get(name)
    if value is None:
        return None
    try:
        moment = normal_time(value)
    except (ValueError, TypeError):
        raise BodyError(f"{name} must be an RFC 3339 time") from None
    return value if _is_stored_form(value) else format_time(moment)


@dataclass(frozen=True, slots=True)
class Registration:
    customer_id: str
    card_number: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    birth_date: str | None
    tier: str | None


def registration(body: dict) -> Registration:
    return Registration(
        customer_id=_text(body, "customer_id", limit=64),
        card_number=_text(body, "card_number", optional=True, limit=32),
        first_name=_text(body, "first_name"),
        last_name=_text(body, "last_name"),
        email=_text(body, "email", optional=True, limit=254),
        phone=_text(body, "phone", optional=True, limit=40),
        birth_date=_text(body, "birth_date", optional=True, limit=10),
        tier=_text(body, "tier", optional=True, limit=60),
    )


def installed_rules(body: dict) -> tuple[int, dict]:
    version = _int(body, "version")
    document = body.get("document")
    if not isinstance(document, dict):
        raise BodyError("document must be a rules document (an object)")
    return version, document


@dataclass(frozen=True, slots=True)
class SaleFacts:
    sale_id: str
    customer_id: str | None
    till_id: str | None
    lines: list
    payments: list
    total: int
    eligible_amount: int
    rules_version: int
    tier: str | None
    tier_after: str | None
    points_earned: int
    points_paid: int
    reward_points: int
    available_at: str | None
    expires_at: str | None

    def line_key(self) -> tuple:
        """The lines as a hashable value (the inputs of ``shared.engine.earn``)."""
        return tuple((raw["sku"], raw["qty"], raw["unit_price"], raw.get("discount", 0), raw.get("category"),
                      raw.get("reward", False)) for raw in self.lines)

    def engine_lines(self) -> list[Line]:
        return [Line(raw["sku"], raw["qty"], raw["unit_price"], raw.get("discount", 0), raw.get("category"),
                     bool(raw.get("reward", False))) for raw in self.lines]


def _line_problem(raw: Any) -> str | None:
    if type(raw) is not dict:
        return "must be an object"
    sku, qty, price, discount = raw.get("sku"), raw.get("qty"), raw.get("unit_price"), raw.get("discount", 0)
    if type(sku) is not str or not 0 < len(sku) <= 64 or _CONTROL.search(sku):
        return "sku must be a string of 1-64 characters"
    for name, value in (("qty", qty), ("unit_price", price), ("discount", discount)):
        if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
            return f"{name} must be an integer >= 0"
    category = raw.get("category")
    if category is not None and (type(category) is not str or len(category) > 64 or _CONTROL.search(category)):
        return "category must be a string of at most 64 characters"
    if type(raw.get("reward", False)) is not bool:
        return "reward must be true or false"
    return None


def _lines(body: dict) -> list:
    lines = body.get("lines")
    if type(lines) is not list:
        raise BodyError("lines must be a list")
    for index, raw in enumerate(lines):
        problem = _line_problem(raw)
        if problem:
            raise BodyError(f"lines[{index}]: {problem}")
    return lines


def sale(body: dict) -> SaleFacts:
    payments = body.get("payments", [])
    if not isinstance(payments, list):
        raise BodyError("payments must be a list")
    return SaleFacts(
        sale_id=_text(body, "sale_id", limit=64),
        customer_id=_text(body, "customer_id", optional=True, limit=64),
        till_id=_text(body, "till_id", optional=True, limit=64),
        lines=_lines(body),
        payments=payments,
        total=_int(body, "total", optional=True),
        eligible_amount=_int(body, "eligible_amount", optional=True),
        rules_version=_int(body, "rules_version"),
        tier=_text(body, "tier", optional=True, limit=60),
        tier_after=_text(body, "tier_after", optional=True, limit=60),
        points_earned=_int(body, "points_earned", optional=True),
        points_paid=_int(body, "points_paid", optional=True),
        reward_points=_int(body, "reward_points", optional=True),
        available_at=_time(body, "available_at"),
        expires_at=_time(body, "expires_at"),
    )


@dataclass(frozen=True, slots=True)
class ReturnFacts:
    return_id: str
    sale_id: str
    customer_id: str | None
    lines: list
    amount_refunded: int
    points_reversed: int


def sale_return(body: dict) -> ReturnFacts:
    lines = body.get("lines", [])
    if not isinstance(lines, list):
        raise BodyError("lines must be a list")
    return ReturnFacts(
        return_id=_text(body, "return_id", limit=64),
        sale_id=_text(body, "sale_id", limit=64),
        customer_id=_text(body, "customer_id", optional=True, limit=64),
        lines=lines,
        amount_refunded=_int(body, "amount_refunded", optional=True),
        points_reversed=_int(body, "points_reversed", optional=True),
    )


def entry_time(text: Any, now: datetime) -> datetime:
    """The entry's ``at``, clamped so a device clock running ahead cannot date points in the future."""
    try:
        at = normal_time(text)
    except (ValueError, TypeError):
        return now
    return at if at <= now else now
