"""The sale receipt: what goes on it, and how it is laid out.

Plain values in, ESC/POS out; no database models. Lines and payments may be given as the
dataclasses below, as tuples in field order, or as dicts with the field names.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

from escpos.escpos import Escpos

from ..text import format_money
from .job import Job

__all__ = ["Payment", "Receipt", "ReceiptLine", "print_receipt"]


@dataclass(frozen=True)
class ReceiptLine:
    """One basket line; money in minor units. ``line_total`` defaults to
    qty x price - discount - tier_discount (the customer's tier discount on the line)."""

    name: str
    qty: int
    unit_price: int
    discount: int = 0
    line_total: int | None = None
    tier_discount: int = 0

    @property
    def total(self) -> int:
        """What the customer pays for this line."""
        if self.line_total is not None:
            return self.line_total
        return self.qty * self.unit_price - self.discount - self.tier_discount


@dataclass(frozen=True)
class Payment:
    """One payment: ``method`` (card, cash, points, voucher...), ``amount`` in minor units,
    and ``points`` spent when it was paid with points."""

    method: str
    amount: int
    points: int | None = None


@dataclass(frozen=True)
class Receipt:
    """Everything printed on a sale receipt. Money is in minor units of ``currency``.

    ``shop`` is the shop's name and address lines (a string is split at newlines);
    ``card_number`` prints as a CODE128 barcode; ``qr_url`` as a QR code; ``logo_path`` a
    PNG at the top; ``open_drawer`` kicks the cash drawer; ``width`` overrides the printer's
    characters per line. ``discount_tier`` names the tier whose discount the lines carry
    (the customer's tier when the sale was made; ``tier`` is the tier now).
    """

    brand: str
    shop: Sequence[str]
    sale_id: str
    at: str
    lines: Sequence[ReceiptLine]
    total: int
    payments: Sequence[Payment] = ()
    points_earned: int = 0
    points_redeemed: int = 0
    balance_after: int | None = None
    tier: str | None = None
    card_number: str | None = None
    vouchers: Sequence[str] = ()
    qr_url: str | None = None
    footer: str | None = None
    logo_path: str | None = None
    currency: str = "EUR"
    minor_digits: int = 2
    open_drawer: bool = False
    width: int | None = None
    discount_tier: str | None = None

    def __post_init__(self) -> None:
        shop = self.shop.splitlines() if isinstance(self.shop, str) else list(self.shop)
        object.__setattr__(self, "shop", tuple(shop))
        object.__setattr__(self, "lines", tuple(_coerce(ReceiptLine, x) for x in self.lines))
        object.__setattr__(self, "payments", tuple(_coerce(Payment, x) for x in self.payments))
        object.__setattr__(self, "vouchers", tuple(self.vouchers))
        amounts = [self.total, self.points_earned, self.points_redeemed]
        amounts += [n for line in self.lines
                    for n in (line.qty, line.unit_price, line.discount, line.tier_discount, line.total)]
        amounts += [n for pay in self.payments for n in (pay.amount, pay.points or 0)]
        if self.balance_after is not None:
            amounts.append(self.balance_after)
        bad = [n for n in amounts if type(n) is not int]
        if bad:  # a float here means money was computed the wrong way upstream
            raise TypeError(f"receipt amounts must be ints of minor units, got {bad[0]!r}")


def _coerce(cls: type, value: Any) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        if cls is ReceiptLine and "name" not in value and "sku" in value:
            value = {**value, "name": value["sku"]}  # a sale line as the API stores it
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})
    return cls(*value)


def print_receipt(printer: Escpos, receipt: Receipt) -> None:
    """Print ``receipt`` on ``printer`` (from :func:`open_printer`) and cut.

    Raises :class:`DeviceUnavailable` if the printer cannot be reached; nothing is sent
    unless the whole receipt could be laid out.
    """
    job = Job(printer, receipt.width)

    def money(amount: int, currency: str | None = None) -> str:
        return format_money(amount, receipt.minor_digits, currency=currency)

    job.start()
    if receipt.open_drawer:
        job.kick_drawer()  # first, so the cashier makes change while the receipt prints
    if receipt.logo_path:
        job.logo(receipt.logo_path)
    job.title(receipt.brand)
    for shop_line in receipt.shop:
        job.centred(shop_line)
    job.line()
    job.pair(f"Sale {receipt.sale_id}", receipt.at)
    job.rule()

    for item in receipt.lines:
        if item.qty == 1 and not item.discount and not item.tier_discount:
            job.pair(item.name, money(item.total))
            continue
        job.lines(item.name)
        job.pair(f"  {item.qty} x {money(item.unit_price)}", money(item.total))
        if item.discount:
            job.pair("  discount", money(-item.discount))
        if item.tier_discount:
            job.pair(f"  {receipt.discount_tier or 'Tier'} discount", money(-item.tier_discount))
    job.rule()

    job.escpos.set(bold=True, double_height=True)
    job.pair("TOTAL", money(receipt.total, receipt.currency))
    job.escpos.set(bold=False, normal_textsize=True)
    for pay in receipt.payments:
        method = pay.method if pay.points is None else f"{pay.method} ({pay.points} pts)"
        job.pair(method, money(pay.amount))

    if receipt.card_number or receipt.points_earned or receipt.points_redeemed:
        job.rule()
        if receipt.points_earned:
            job.pair("Points earned", f"+{receipt.points_earned}")
        if receipt.points_redeemed:
            job.pair("Points redeemed", f"-{receipt.points_redeemed}")
        if receipt.balance_after is not None:
            job.pair("Points balance", str(receipt.balance_after))
        if receipt.tier:
            job.pair("Tier", receipt.tier)
        if receipt.card_number:
            job.line()
            job.barcode(receipt.card_number)

    if receipt.vouchers:
        job.rule()
        job.centred("Vouchers", bold=True)
        for code in receipt.vouchers:
            job.centred(code)
    if receipt.qr_url:
        job.line()
        job.qr(receipt.qr_url)
    if receipt.footer:
        job.line()
        job.centred(receipt.footer)
    job.cut()
    job.send()
