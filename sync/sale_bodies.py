"""The bodies of a sale's entry kinds: ``sale.completed``, ``sale.returned``, ``gift_card.issued``.

Each is one class (``sync.bodies.EntryBody``): the edge builds it and writes ``body()``,
central reads it back with ``read`` (``BodyError`` naming the first bad field). A sale's
optional parts — the points' dates, the wallet pockets, the vouchers issued, a foreign
currency, a VIP card — are left out of the body when the sale has none, as edges always wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from shared.currency import Conversion, parse_conversion
from shared.engine import Line
from sync.bodies import (
    CARD_MAX,
    CATEGORY_MAX,
    CODE_MAX,
    GIFT_CARD_ISSUED,
    ID_MAX,
    LINE_NAME_MAX,
    METHOD_MAX,
    SALE_COMPLETED,
    SALE_RETURNED,
    SKU_MAX,
    BodyError,
    EntryBody,
    read_int,
    read_items,
    read_text,
    read_time,
    text_problem,
    usable_key,
    voucher_problem,
)
from sync.canonical import MAX_SAFE_INTEGER
from sync.wallet import pockets

# --- the parts of a sale ------------------------------------------------------------------------


def _bad_text(value: Any, limit: int) -> bool:
    return type(value) is not str or not 0 < len(value) <= limit or text_problem(value) is not None


def _line_problem(raw: Any) -> str | None:
    if type(raw) is not dict:
        return "must be an object"
    sku, qty, price, discount = raw.get("sku"), raw.get("qty"), raw.get("unit_price"), raw.get("discount", 0)
    if _bad_text(sku, SKU_MAX):
        return f"sku must be a string of 1-{SKU_MAX} characters without control characters"
    for name, value in (("qty", qty), ("unit_price", price), ("discount", discount),
                        ("tier_discount", raw.get("tier_discount", 0))):
        if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
            return f"{name} must be an integer >= 0"
    for name, limit in (("name", LINE_NAME_MAX), ("category", CATEGORY_MAX)):
        text = raw.get(name)
        if text is not None and _bad_text(text, limit):
            return f"{name} must be a string of 1-{limit} characters without control characters"
    if type(raw.get("reward", False)) is not bool:
        return "reward must be true or false"
    return None


def _returned_line_problem(raw: Any) -> str | None:
    # A returned line is a sold line's sku and qty: the sale's rules for those apply.
    return _line_problem({"unit_price": 0, **raw}) if type(raw) is dict else "must be an object"


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


def _code_problem(raw: Any) -> str | None:
    return None if usable_key(raw, CODE_MAX) else f"must be a string of 1-{CODE_MAX} characters"


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
    code = read_text(vip, "code", limit=CARD_MAX)
    percent = vip.get("discount_percent")
    if type(percent) is not int or not 1 <= percent <= 100:
        raise BodyError("vip.discount_percent must be an integer from 1 to 100")
    return code, percent


def _wallet(body: dict) -> tuple:
    # The list as written; ``sync.wallet.pockets`` checks it once the rest of the body is read.
    return tuple(body["wallet"]) if type(body.get("wallet")) is list else ()


def _pockets(items: tuple) -> dict[str | None, int]:
    return {item.get("category"): item["amount"] for item in items}


# --- sale.completed -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleCompleted(EntryBody):
    """``sale.completed``: the sale as the edge priced it, its points and what paid it.

    ``lines``, ``payments``, ``wallet`` (what each wallet pocket paid: ``{"category",
    "amount"}``) and ``vouchers_issued`` are the wire's objects as written. ``converted_total``
    and ``original_eligible_amount`` are carried as written: no reader ever checked them, so
    reading does not start to now.
    """

    KIND: ClassVar[str] = SALE_COMPLETED
    sale_id: str
    customer_id: str | None
    till_id: str | None
    lines: tuple
    payments: tuple
    total: int
    eligible_amount: int
    rules_version: int
    tier: str | None
    tier_after: str | None
    points_earned: int
    points_paid: int
    reward_points: int
    available_at: str | None = None  # with expires_at, only when the sale earned
    expires_at: str | None = None
    wallet: tuple = ()
    vouchers_issued: tuple = ()  # [{"code", "amount", "expires_at"}]
    conversion: Conversion | None = None  # a sale in another currency (shared.currency)
    converted_total: int | None = None
    original_eligible_amount: int | None = None
    vip_code: str | None = None  # the VIP card that gave the sale its discount (shared.vip)
    vip_percent: int = 0

    @classmethod
    def read(cls, body: dict) -> "SaleCompleted":
        """The sale, its wallet pockets adding up to its ``wallet`` payments. A body without a
        ``wallet`` list is read as earlier edges wrote it: a payment named ``wallet`` there was a
        tender's name, not the customer's wallet."""
        payments = read_items(body, "payments", _payment_problem, required=False)
        vip_code, vip_percent = _vip(body)
        sale = cls(
            sale_id=read_text(body, "sale_id", limit=ID_MAX),
            customer_id=read_text(body, "customer_id", optional=True, limit=ID_MAX),
            till_id=read_text(body, "till_id", optional=True, limit=ID_MAX),
            lines=read_items(body, "lines", _line_problem, required=True),
            payments=payments,
            total=read_int(body, "total", optional=True),
            eligible_amount=read_int(body, "eligible_amount", optional=True),
            rules_version=read_int(body, "rules_version"),
            tier=read_text(body, "tier", optional=True, limit=60),
            tier_after=read_text(body, "tier_after", optional=True, limit=60),
            points_earned=read_int(body, "points_earned", optional=True),
            points_paid=read_int(body, "points_paid", optional=True),
            reward_points=read_int(body, "reward_points", optional=True),
            available_at=read_time(body, "available_at"),
            expires_at=read_time(body, "expires_at"),
            wallet=_wallet(body),
            vouchers_issued=read_items(body, "vouchers_issued", voucher_problem, required=False),
            conversion=_conversion(body),
            converted_total=body.get("converted_total"),
            original_eligible_amount=body.get("original_eligible_amount"),
            vip_code=vip_code,
            vip_percent=vip_percent,
        )
        paid = pockets(body)
        if "wallet" in body:
            by_method = sum(p.get("amount", 0) for p in sale.payments if p.get("method") == "wallet")
            if sum(paid.values()) != by_method:
                raise BodyError(f"wallet: the pockets pay {sum(paid.values())}, the wallet payments {by_method}")
            if paid and sale.customer_id is None:
                raise BodyError("wallet: an anonymous sale cannot be paid from a wallet")
        return sale

    def body(self) -> dict[str, Any]:
        """The sale as signed: its optional parts only when it has them."""
        written: dict[str, Any] = {
            "sale_id": self.sale_id, "customer_id": self.customer_id, "till_id": self.till_id,
            "lines": list(self.lines), "payments": list(self.payments), "total": self.total,
            "eligible_amount": self.eligible_amount, "rules_version": self.rules_version, "tier": self.tier,
            "tier_after": self.tier_after, "points_earned": self.points_earned, "points_paid": self.points_paid,
            "reward_points": self.reward_points,
        }
        if self.available_at is not None or self.expires_at is not None:
            written.update(available_at=self.available_at, expires_at=self.expires_at)
        if self.wallet:
            written["wallet"] = list(self.wallet)
        if self.vouchers_issued:
            written["vouchers_issued"] = list(self.vouchers_issued)
        if self.conversion is not None:
            written.update(currency=self.conversion.currency, rate=self.conversion.text)
            for name in ("converted_total", "original_eligible_amount"):
                if getattr(self, name) is not None:
                    written[name] = getattr(self, name)
        if self.vip_code is not None:
            written["vip"] = {"code": self.vip_code, "discount_percent": self.vip_percent}
        return written

    def pockets(self) -> dict[str | None, int]:
        """What each wallet pocket paid, ``{category: amount}`` (empty: the wallet paid nothing)."""
        return _pockets(self.wallet)

    def coded_payments(self, method: str) -> dict[str, int]:
        """``{code: amount}`` of the sale's ``gift_card`` or ``voucher`` payments."""
        found: dict[str, int] = {}
        for raw in self.payments:
            if raw.get("method") == method and raw.get("code"):
                found[raw["code"]] = found.get(raw["code"], 0) + raw.get("amount", 0)
        return found

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


# --- sale.returned ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleReturned(EntryBody):
    """``sale.returned``: what came back of a sale, its refund and the points it took back.

    ``wallet`` is what each wallet pocket got back (never more in all than was refunded);
    ``vouchers_voided`` the codes of the vouchers the sale issued, voided by a full return.
    """

    KIND: ClassVar[str] = SALE_RETURNED
    return_id: str
    sale_id: str
    customer_id: str | None
    lines: tuple  # [{"sku", "qty"}]
    amount_refunded: int
    points_reversed: int
    eligible_reversed: int
    rules_version: int  # the sale's
    wallet: tuple = ()
    vouchers_voided: tuple = ()

    @classmethod
    def read(cls, body: dict) -> "SaleReturned":
        lines = read_items(body, "lines", _returned_line_problem, required=False)
        rules_version = read_int(body, "rules_version", optional=True)
        returned = cls(
            return_id=read_text(body, "return_id", limit=ID_MAX),
            sale_id=read_text(body, "sale_id", limit=ID_MAX),
            customer_id=read_text(body, "customer_id", optional=True, limit=ID_MAX),
            lines=lines,
            amount_refunded=read_int(body, "amount_refunded", optional=True),
            points_reversed=read_int(body, "points_reversed", optional=True),
            eligible_reversed=read_int(body, "eligible_reversed", optional=True),
            rules_version=rules_version,
            wallet=_wallet(body),
            vouchers_voided=read_items(body, "vouchers_voided", _code_problem, required=False),
        )
        if sum(pockets(body).values()) > returned.amount_refunded:
            raise BodyError("wallet: more goes back to the wallet than the return refunds")
        return returned

    def body(self) -> dict[str, Any]:
        """The return as signed: ``wallet`` and ``vouchers_voided`` only when it has them."""
        written: dict[str, Any] = {
            "return_id": self.return_id, "sale_id": self.sale_id, "customer_id": self.customer_id,
            "lines": list(self.lines), "amount_refunded": self.amount_refunded,
            "points_reversed": self.points_reversed, "eligible_reversed": self.eligible_reversed,
            "rules_version": self.rules_version,
        }
        if self.wallet:
            written["wallet"] = list(self.wallet)
        if self.vouchers_voided:
            written["vouchers_voided"] = list(self.vouchers_voided)
        return written

    def pockets(self) -> dict[str | None, int]:
        """What each wallet pocket got back, ``{category: amount}``."""
        return _pockets(self.wallet)


# --- gift_card.issued ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GiftCardIssued(EntryBody):
    """``gift_card.issued``: a card sold at a till, worth ``amount`` until ``expires_at``."""

    KIND: ClassVar[str] = GIFT_CARD_ISSUED
    code: str
    amount: int
    expires_at: str
    till_id: str | None

    @classmethod
    def read(cls, body: dict) -> "GiftCardIssued":
        problem = voucher_problem(body)
        if problem:
            raise BodyError(problem)
        return cls(body["code"], body["amount"], read_time(body, "expires_at"),
                   read_text(body, "till_id", optional=True, limit=ID_MAX))
