"""The till API's request bodies, each declared once (``sync.declared``); responses are in
``edge.replies``.

A request class is the whole validation of its body (types, limits, text rules, which fields
exist) and, with the response classes, the source of the OpenAPI components
(``edge.openapi``). Rules that tie fields together — a discount within its line, a reward
line at no price, the shape of a points payment — are checked after the types, by the
``problems`` method of the class that holds them, with the same ``{"path", "message"}``
problems.

Text is checked for control characters before it is trimmed (a control character means the
till sent something other than what a person typed or scanned), then trimmed; an optional
field left blank means none.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo

from sync.bodies import (
    BIRTH_DATE_MAX,
    CARD_MAX,
    CATEGORY_MAX,
    CODE_MAX,
    EMAIL_MAX,
    ID_MAX,
    LINE_NAME_MAX,
    METHOD_MAX,
    NAME_MAX,
    PHONE_MAX,
    SKU_MAX,
    text_problem,
)
from shared.giftcards import CODE as GIFT_CARD_CODE
from shared.currency import code_problem, rate_problem
from shared.vip import code_problem as vip_code_problem
from sync.declared import MAX_MONEY, Body

MAX_LINES = 500
MAX_QTY = 100_000
SCAN_TIMEOUT_DEFAULT = 20.0  # seconds a scanner long-poll waits by default
SCAN_TIMEOUT_MAX = 30.0
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_CHARS = re.compile(r"[\s().-]")
PHONE = re.compile(r"^\+?[0-9]{6,15}$")
CARD = re.compile(r"^[A-Za-z0-9]{4,32}$")

Problem = dict[str, str]


def normalize_phone(text: str) -> str:
    """Phone numbers compare without spaces, dots, dashes and brackets."""
    return PHONE_CHARS.sub("", text)


def _trimmed(value: Any) -> Any:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        return value.strip()
    return value


def _blank_is_none(value: Any) -> Any:
    value = _trimmed(value)
    return None if value == "" else value


def _text(max_length: int, description: str | None = None) -> Any:
    """Required text: trimmed, 1 to ``max_length`` characters."""
    return Annotated[str, BeforeValidator(_trimmed), Field(min_length=1, max_length=max_length,
                                                           description=description)]


def _optional(max_length: int, description: str | None = None, *checks: Any) -> Any:
    """Optional text: trimmed, blank means none."""
    bounded = Annotated[str, Field(max_length=max_length)]
    return Annotated[bounded | None, BeforeValidator(_blank_is_none), *checks,
                     Field(default=None, description=description)]


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    if not EMAIL.match(value):
        raise ValueError("must be an email address like name@example.com")
    if len(value.lower()) > EMAIL_MAX:  # lower() can lengthen: "İ" becomes two characters
        raise ValueError(f"must be at most {EMAIL_MAX} characters")
    return value.lower()


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    normalized = normalize_phone(value)
    if not PHONE.match(normalized):
        raise ValueError("must be a phone number of 6 to 15 digits, optionally starting with +")
    return normalized


def _birth_date(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("must be a date as YYYY-MM-DD")
    today = (info.context or {}).get("today") or date.today()
    if parsed > today or parsed.year < 1900:
        raise ValueError("must be a date between 1900-01-01 and today")
    return value


def _card(value: str | None) -> str | None:
    if value is not None and not CARD.match(value):
        raise ValueError("must be 4 to 32 letters or digits")
    return value


Card = _optional(CARD_MAX, "4 to 32 letters or digits", AfterValidator(_card))
Money = Annotated[int, Field(ge=0, le=MAX_MONEY, description="minor units")]


# --- requests -----------------------------------------------------------------------------


class Registration(Body):
    """A customer to register; a card number is generated when none is given."""

    first_name: _text(NAME_MAX)
    last_name: _text(NAME_MAX)
    email: _optional(EMAIL_MAX, "an email address like name@example.com", AfterValidator(_email))
    phone: _optional(PHONE_MAX, "6 to 15 digits, optionally starting with +; spaces, dots, dashes and "
                                "brackets are ignored", AfterValidator(_phone))
    birth_date: _optional(BIRTH_DATE_MAX, "YYYY-MM-DD, from 1900-01-01 to today", AfterValidator(_birth_date))
    card_number: Card


class Line(Body):
    """A basket line; a reward line (``reward: true``) claims a catalogue reward for points."""

    sku: _text(SKU_MAX)
    name: _optional(LINE_NAME_MAX)
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]
    unit_price: Money
    discount: Annotated[int, Field(ge=0, le=MAX_MONEY, description="minor units off the whole line, "
                                                                  "at most qty × unit_price")] = 0
    category: _optional(CATEGORY_MAX)
    reward: bool = False

    def problems(self, path: str) -> list[Problem]:
        found = []
        if self.discount > self.qty * self.unit_price:
            found.append({"path": f"{path}.discount", "message": "must not exceed qty × unit_price"})
        if self.reward and (self.unit_price or self.discount):
            found.append({"path": f"{path}.unit_price",
                          "message": "a reward line costs points: unit_price and discount must be 0"})
        return found


CODED_METHODS = ("gift_card", "voucher")
"""Payment methods that name what pays: a gift card's or a voucher's ``code``."""


class PaymentIn(Body):
    """``{"method": "points", "points": n}``, ``{"method": "gift_card" or "voucher", "code": c,
    "amount": n}`` or ``{"method": "cash" (or another), "amount": n}``; ``{"method": "wallet",
    "amount": n}`` pays from the customer's wallet."""

    method: _text(METHOD_MAX)
    amount: Money | None = None
    points: Annotated[int, Field(ge=1, le=MAX_MONEY)] | None = None
    code: _optional(CODE_MAX, "the gift card's or voucher's code (methods gift_card and voucher)")

    def problems(self, path: str) -> list[Problem]:
        if (self.method in CODED_METHODS) != (self.code is not None):
            message = "required" if self.method in CODED_METHODS else "only a gift_card or voucher payment has a code"
            return [{"path": f"{path}.code", "message": message}]
        if self.method == "points":
            if self.amount is not None:
                return [{"path": f"{path}.amount", "message": "a points payment gives points, not amount"}]
            if self.points is None:
                return [{"path": f"{path}.points", "message": "required"}]
            return []
        if self.points is not None:
            return [{"path": f"{path}.points", "message": "only a points payment gives points"}]
        if self.amount is None:
            return [{"path": f"{path}.amount", "message": "required"}]
        return []


class Basket(Body):
    """A basket to quote: ``customer_id`` or ``card_number`` (not both), or neither for an
    anonymous sale. Gift card and voucher ``payments`` are checked as the sale checks them."""

    customer_id: _optional(ID_MAX)
    card_number: Card
    lines: Annotated[list[Line], Field(min_length=1, max_length=MAX_LINES)]
    payments: list[PaymentIn] | None = None
    currency: Annotated[str | None, Field(default=None, max_length=3, description=(
        "a sale in another currency: its code, three capital letters (with rate); line prices "
        "and payments are then in its minor units"))]
    rate: Annotated[str | None, Field(default=None, max_length=16, description=(
        'brand currency per unit of the sale\'s, a decimal string with at most 6 decimals, e.g. "4.9750"'))]
    vip_code: Annotated[str | None, Field(default=None, max_length=32, description=(
        "a VIP card (#VIP#…) whose discount applies while valid; alone, it names the customer too"))]

    def problems(self) -> list[Problem]:
        found = []
        if self.customer_id and self.card_number:
            found.append({"path": "card_number", "message": "give customer_id or card_number, not both"})
        if self.vip_code is not None and vip_code_problem(self.vip_code):
            found.append({"path": "vip_code", "message": vip_code_problem(self.vip_code)})
        if self.currency is not None or self.rate is not None:
            if self.rate is None:
                found.append({"path": "rate", "message": "required with currency"})
            elif self.currency is None:
                found.append({"path": "currency", "message": "required with rate"})
            for path, problem in (("currency", self.currency is not None and code_problem(self.currency)),
                                  ("rate", self.rate is not None and rate_problem(self.rate))):
                if problem:
                    found.append({"path": path, "message": problem})
        for i, line in enumerate(self.lines):
            found += line.problems(f"lines[{i}]")
        for i, payment in enumerate(self.payments or ()):
            found += payment.problems(f"payments[{i}]")
        return found


class SaleRequest(Basket):
    """A basket with its payments, whose money value must equal the total."""

    payments: list[PaymentIn]


class ReturnedLine(Body):
    sku: _text(SKU_MAX)
    qty: Annotated[int, Field(ge=1, le=MAX_QTY)]


class ReturnRequest(Body):
    """Lines of a sale to take back."""

    lines: Annotated[list[ReturnedLine], Field(min_length=1, max_length=MAX_LINES)]


class WalletLoad(Body):
    """Money put on the customer's wallet; ``type`` names a wallet type of the rules
    (``wallet.types``), whose fixed amount or category condition then applies."""

    amount: Annotated[int, Field(ge=1, le=MAX_MONEY, description="minor units")]
    type: _optional(60, "a wallet type of the rules in force (wallet.types[].name)")


class WalletConversion(Body):
    """Points turned into wallet credit at the rules' ``redeem.point_value``."""

    points: Annotated[int, Field(ge=1, le=MAX_MONEY)]


def _gift_card_code(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.upper()
    if not GIFT_CARD_CODE.match(value):
        raise ValueError("must be 6 to 32 letters or digits")
    return value


class GiftCardRequest(Body):
    """A gift card to sell: its value, and its code (printed on the card) or none to have one made."""

    amount: Annotated[int, Field(ge=1, le=MAX_MONEY, description="minor units")]
    code: _optional(CODE_MAX, "6 to 32 letters or digits, upper-cased; made up when absent",
                    AfterValidator(_gift_card_code))


REQUESTS = (Registration, Basket, SaleRequest, ReturnRequest, WalletLoad, WalletConversion, GiftCardRequest)
