"""Receipts from stored sales, and opening and checking the configured printer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devices import DeviceConfigError, DeviceUnavailable
from shared.money import format_minor
from shared.times import parse_time

from .. import accounts, rulebook, saleviews
from ..models import Customer

# printer_status()'s error when the printer gave no status reply: some printers (and print
# servers) never answer DLE EOT, yet print fine.
NO_STATUS_REPLY = "printer did not answer the status query"
RECEIPT, REPRINT = "receipt", "reprint"


def one_line(text: str) -> str:
    """An error message on one line, for logs and job records."""
    return " ".join(str(text).split())


def open_configured_printer(settings):
    """A python-escpos printer for ``settings.printer``; config problems name their key."""
    from devices.printer import open_printer

    options: dict[str, Any] = {}
    if settings.printer_profile:
        options["profile"] = settings.printer_profile
    if settings.paper_width:
        options["width"] = settings.paper_width
    try:
        return open_printer(settings.printer, **options)
    except DeviceConfigError as exc:
        keys = ["printer"] + [k for k in ("printer_profile", "paper_width") if getattr(settings, k)]
        where = " / ".join(settings.source(k) for k in keys)
        from .settings import PeripheralConfigError

        raise PeripheralConfigError(f"{where}: {exc}") from None


def check_printer(printer) -> str | None:
    """Ask the printer for its status; raise :class:`DeviceUnavailable` when it is off,
    unreachable, offline (cover open) or out of paper.

    Returns ``NO_STATUS_REPLY`` when the printer was reached but never answers status
    queries (the job is then sent anyway), "low" when paper runs low, else None.
    """
    from devices.printer import printer_status

    status = printer_status(printer)
    error = one_line(status["error"]) if status["error"] else None
    if status["paper"] == "out":
        raise DeviceUnavailable("printer is out of paper")
    if status["reachable"]:
        if error:
            raise DeviceUnavailable(error)
        return "low" if status["paper"] == "low" else None
    if error == NO_STATUS_REPLY:
        return NO_STATUS_REPLY
    raise DeviceUnavailable(f"printer not reachable: {error or 'no answer'}")


def _local_time(stamp: str, tz) -> str:
    try:
        return parse_time(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


def build_receipt(sale_id: str, settings, store: str, kind: str, now: datetime, *, drawer: bool = True):
    """The ``devices.printer.Receipt`` of a stored sale, with the customer's balance now.

    The first receipt (``kind`` receipt) of a sale paid (partly) in cash opens the drawer,
    unless ``drawer`` is False; a reprint never does.
    """
    from devices.printer import Payment, Receipt, ReceiptLine

    sale = saleviews.get(sale_id)
    view = saleviews.sale_view(sale)
    rules = rulebook.version(sale.rules_version)
    customer = Customer.get_or_none(Customer.id == sale.customer_id) if sale.customer_id else None
    balance = accounts.account(customer.id).points(now).available if customer else None
    lines = []
    for line in view["lines"]:
        name = line.get("name") or line["sku"]
        if line.get("reward"):
            name = f"{name} (reward)"
        lines.append(ReceiptLine(name, line["qty"], line["unit_price"], line.get("discount", 0),
                                 tier_discount=line.get("tier_discount", 0)))
    payments = []
    for pay in view["payments"]:
        if pay["method"] == "points":
            payments.append(Payment("points", pay["points"] * rules.point_value, pay["points"]))
        else:
            payments.append(Payment(pay["method"], pay["amount"]))
    qr = None
    if settings.qr_url:
        qr = settings.qr_url.format_map({"sale_id": sale.id, "store": store, "total": sale.total,
                                         "card_number": customer.card_number if customer else ""})
    footer = [f"Ref {sale.id}"]
    if settings.footer:
        footer.insert(0, settings.footer)
    if kind == REPRINT:
        footer.insert(0, "*** COPY ***")
    return Receipt(
        brand=settings.brand,
        shop=settings.shop_lines,
        sale_id=sale.id[:8],
        at=_local_time(sale.created_at, settings.timezone),
        lines=lines,
        total=sale.total,
        payments=payments,
        points_earned=sale.points_earned,
        points_redeemed=view["points_redeemed"],
        balance_after=balance,
        tier=customer.tier if customer else None,
        card_number=customer.card_number if customer else None,
        vouchers=tuple(f"{v['code']}  {format_minor(v['amount'], settings.minor_digits)}  "
                       f"until {_local_time(v['expires_at'], settings.timezone)[:10]}" for v in view["vouchers_issued"]),
        qr_url=qr,
        footer="\n".join(footer),
        logo_path=settings.logo,
        currency=settings.currency,
        minor_digits=settings.minor_digits,
        open_drawer=drawer and kind == RECEIPT and any(p.method.lower() == "cash" for p in payments),
        width=settings.paper_width,
        discount_tier=sale.tier,
    )
