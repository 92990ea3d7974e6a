"""The bodies of the change-log entry kinds, checked and read: one definition for edge and central.

A signed entry proves who wrote it, not that its body makes sense: a buggy edge can sign
nonsense. These readers turn a body into plain values or raise ``BodyError`` naming the
first bad field, and the entry is then kept in the log, answered ``rejected`` and queued as
a ``malformed_body`` exception. ``sync.kinds.check`` runs them on the edge before it signs.

Text is 1 to the field's ``*_MAX`` characters (the till API's limits too), without control
characters or lone surrogates. Fields no reader names are ignored at both ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from shared.currency import Conversion, parse_conversion
from shared.engine import Line
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


class EntryBody:
    """A kind's body as one class: the edge builds one to write (``body()``, the exact wire
    dict, every field present), central reads one back (``read``, ``BodyError`` naming the
    first bad field). ``KIND`` is the entry kind it is the body of."""

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
    vouchers_issued: list = ()
    provisional: bool = False  # a card an offline shop did not know (docs/sync-protocol.md)

    @classmethod
    def read(cls, body: dict) -> "Registration":
        return registration(body)

    def body(self) -> dict[str, Any]:
        """As ``EntryBody.body``, but the welcome voucher and its rules version only when there is
        one, and ``provisional`` only when true."""
        written = EntryBody.body(self)
        if not self.vouchers_issued:
            del written["vouchers_issued"], written["rules_version"]
        else:
            written["vouchers_issued"] = list(self.vouchers_issued)
        if not self.provisional:
            del written["provisional"]
        return written


def registration(body: dict) -> Registration:
    """A ``customer.registered`` body (``Registration.read``). ``provisional: true`` is a card an
    offline shop did not know: the card number is required, the names may be absent (``""``),
    and central links it to the customer already holding the card, if any (docs/sync-protocol.md)."""
    provisional = body.get("provisional", False)
    if type(provisional) is not bool:
        raise BodyError("provisional must be true or false")
    return Registration(
        customer_id=_text(body, "customer_id", limit=ID_MAX),
        card_number=_text(body, "card_number", optional=not provisional, limit=CARD_MAX),
        first_name=_text(body, "first_name", optional=provisional, limit=NAME_MAX) or "",
        last_name=_text(body, "last_name", optional=provisional, limit=NAME_MAX) or "",
        email=_text(body, "email", optional=True, limit=EMAIL_MAX),
        phone=_text(body, "phone", optional=True, limit=PHONE_MAX),
        birth_date=_text(body, "birth_date", optional=True, limit=BIRTH_DATE_MAX),
        tier=_text(body, "tier", optional=True, limit=60),
        rules_version=_int(body, "rules_version", optional=True),
        vouchers_issued=tuple(_items(body, "vouchers_issued", _voucher_problem, required=False)),
        provisional=provisional,
    )


@dataclass(frozen=True, slots=True)
class RulesInstalled(EntryBody):
    """``rules.installed``: a rules document the box installed itself (a standalone edge)."""

    KIND: ClassVar[str] = RULES_INSTALLED
    version: int
    effective_from: str | None
    document: dict

    @classmethod
    def read(cls, body: dict) -> "RulesInstalled":
        version = _int(body, "version")
        document = body.get("document")
        if not isinstance(document, dict):
            raise BodyError("document must be a rules document (an object)")
        _time(body, "effective_from")
        return cls(version, body.get("effective_from"), document)


def installed_rules(body: dict) -> tuple[int, dict]:
    """A ``rules.installed`` body's version and document (``RulesInstalled.read``)."""
    installed = RulesInstalled.read(body)
    return installed.version, installed.document


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
    vouchers_issued: list = ()  # [{"code", "amount", "expires_at"}]

    def coded_payments(self, method: str) -> dict[str, int]:
        """``{code: amount}`` of the sale's ``gift_card`` or ``voucher`` payments."""
        found: dict[str, int] = {}
        for raw in self.payments:
            if raw.get("method") == method and raw.get("code"):
                found[raw["code"]] = found.get(raw["code"], 0) + raw.get("amount", 0)
        return found
    conversion: Conversion | None = None  # a sale in another currency (shared.currency)
    vip_code: str | None = None  # the VIP card that gave the sale its discount (shared.vip)
    vip_percent: int = 0

    @property
    def rate(self):
        """The sale's exchange rate to the brand currency (None: sold in the brand currency)."""
        return self.conversion.rate if self.conversion else None

    def line_key(self) -> tuple:
        """The lines as a hashable value (the inputs of ``shared.engine.earn``)."""
        return tuple((raw["sku"], raw["qty"], raw["unit_price"], raw.get("discount", 0), raw.get("category"),
                      raw.get("reward", False)) for raw in self.lines)

    def engine_lines(self) -> list[Line]:
        return [Line(raw["sku"], raw["qty"], raw["unit_price"], raw.get("discount", 0), raw.get("category"),
                     bool(raw.get("reward", False))) for raw in self.lines]

    def tier_discounts(self) -> tuple[int, ...]:
        """The tier discount the edge gave each line (absent in older entries: 0)."""
        return tuple(raw.get("tier_discount", 0) for raw in self.lines)


def _line_problem(raw: Any) -> str | None:
    if type(raw) is not dict:
        return "must be an object"
    sku, qty, price, discount = raw.get("sku"), raw.get("qty"), raw.get("unit_price"), raw.get("discount", 0)
    if type(sku) is not str or not 0 < len(sku) <= SKU_MAX or _CONTROL.search(sku):
        return f"sku must be a string of 1-{SKU_MAX} characters without control characters"
    for name, value in (("qty", qty), ("unit_price", price), ("discount", discount),
                        ("tier_discount", raw.get("tier_discount", 0))):
        if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
            return f"{name} must be an integer >= 0"
    for name, limit in (("name", LINE_NAME_MAX), ("category", CATEGORY_MAX)):
        text = raw.get(name)
        if text is not None and (type(text) is not str or not 0 < len(text) <= limit or _CONTROL.search(text)):
            return f"{name} must be a string of 1-{limit} characters without control characters"
    if type(raw.get("reward", False)) is not bool:
        return "reward must be true or false"
    return None


def _payment_problem(raw: Any) -> str | None:
    if type(raw) is not dict:
        return "must be an object"
    if not usable_key(raw.get("method"), METHOD_MAX):
        return f"method must be a string of 1-{METHOD_MAX} characters without control characters"
    if any(type(raw.get(n, 0)) is not int or not 0 <= raw.get(n, 0) <= MAX_SAFE_INTEGER for n in ("amount", "points")):
        return "amount and points must be integers >= 0"
    if raw.get("code") is not None and not usable_key(raw["code"], CODE_MAX):
        return f"code must be a string of 1-{CODE_MAX} characters without control characters"
    return None


def _voucher_problem(raw: Any) -> str | None:
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


def _code_problem(raw: Any) -> str | None:
    return None if usable_key(raw, CODE_MAX) else f"must be a string of 1-{CODE_MAX} characters"


def _items(body: dict, name: str, problem_of, required: bool) -> list:
    """The list ``body[name]``, each item checked by ``problem_of``; ``BodyError`` at the first bad one."""
    items = body.get(name) if required else body.get(name, [])
    if type(items) is not list:
        raise BodyError(f"{name} must be a list")
    for index, raw in enumerate(items):
        problem = problem_of(raw)
        if problem:
            raise BodyError(f"{name}[{index}]: {problem}")
    return items


def _lines(body: dict) -> list:
    return _items(body, "lines", _line_problem, required=True)


def _payments(body: dict) -> list:
    return _items(body, "payments", _payment_problem, required=False)


def _conversion(body: dict) -> Conversion | None:
    conversion, problems = parse_conversion(body.get("currency"), body.get("rate"))
    if problems:
        name, message = problems[0]
        raise BodyError(f"{name} {message}")
    return conversion


def _vip(body: dict) -> tuple[str | None, int]:
    vip = body.get("vip")
    if vip is None:
        return None, 0
    if type(vip) is not dict:
        raise BodyError("vip must be an object")
    code = _text(vip, "code", limit=CARD_MAX)
    percent = vip.get("discount_percent")
    if type(percent) is not int or not 1 <= percent <= 100:
        raise BodyError("vip.discount_percent must be an integer from 1 to 100")
    return code, percent


def sale(body: dict) -> SaleFacts:
    payments = _payments(body)
    vip_code, vip_percent = _vip(body)
    return SaleFacts(
        sale_id=_text(body, "sale_id", limit=ID_MAX),
        customer_id=_text(body, "customer_id", optional=True, limit=ID_MAX),
        till_id=_text(body, "till_id", optional=True, limit=ID_MAX),
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
        vouchers_issued=_items(body, "vouchers_issued", _voucher_problem, required=False),
        conversion=_conversion(body),
        vip_code=vip_code,
        vip_percent=vip_percent,
    )


@dataclass(frozen=True, slots=True)
class ReturnFacts:
    return_id: str
    sale_id: str
    customer_id: str | None
    lines: list
    amount_refunded: int
    points_reversed: int
    eligible_reversed: int
    vouchers_voided: list = ()  # codes of the vouchers the sale issued, voided by a full return


def _returned_line_problem(raw: Any) -> str | None:
    # A returned line is a sold line's sku and qty: the sale's rules for those apply.
    return _line_problem({"unit_price": 0, **raw}) if type(raw) is dict else "must be an object"


def _returned_lines(body: dict) -> list:
    return _items(body, "lines", _returned_line_problem, required=False)


def sale_return(body: dict) -> ReturnFacts:
    lines = _returned_lines(body)
    _int(body, "rules_version", optional=True)
    return ReturnFacts(
        return_id=_text(body, "return_id", limit=ID_MAX),
        sale_id=_text(body, "sale_id", limit=ID_MAX),
        customer_id=_text(body, "customer_id", optional=True, limit=ID_MAX),
        lines=lines,
        amount_refunded=_int(body, "amount_refunded", optional=True),
        points_reversed=_int(body, "points_reversed", optional=True),
        eligible_reversed=_int(body, "eligible_reversed", optional=True),
        vouchers_voided=_items(body, "vouchers_voided", _code_problem, required=False),
    )


@dataclass(frozen=True, slots=True)
class GiftCardFacts:
    code: str
    amount: int
    expires_at: str
    till_id: str | None


def gift_card_issued(body: dict) -> GiftCardFacts:
    """``gift_card.issued``: a card sold at a till, worth ``amount`` until ``expires_at``."""
    if _voucher_problem(body):
        raise BodyError(_voucher_problem(body))
    return GiftCardFacts(body["code"], body["amount"], _time(body, "expires_at"),
                         _text(body, "till_id", optional=True, limit=ID_MAX))


def entry_time(text: Any, now: datetime) -> datetime:
    """The entry's ``at``, clamped so a device clock running ahead cannot date points in the future."""
    try:
        at = normal_time(text)
    except (ValueError, TypeError):
        return now
    return at if at <= now else now
