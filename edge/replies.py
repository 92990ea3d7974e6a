"""The till API's response bodies, each declared once (``sync.declared.Reply``).

They are the source of the OpenAPI components (``edge.openapi``); schemathesis checks every
answer against them. A reply may gain fields in a later release, never lose one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from sync.declared import Reply

from .schemas import ReturnedLine


class ErrorDetail(Reply):
    code: str
    message: str
    details: dict[str, Any]


class Error(Reply):
    """Every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


class Points(Reply):
    available: int
    pending: int
    offline_spendable: int


class WalletPocket(Reply):
    category: Annotated[str | None, Field(description="money of a typed load that may pay only this category; "
                                                      "null: any line")] = None
    balance: int


class Wallet(Reply):
    """The customer's wallet (e-purse), in minor units."""

    balance: Annotated[int, Field(description="central's last word plus this edge's movements since; "
                                              "negative only after an offline overdraft")]
    offline_spendable: Annotated[int, Field(description="what this edge would let the wallet pay "
                                                        "if central could not be reached")] = 0
    pockets: list[WalletPocket] = []
class Expiring(Reply):
    """Points of the customer's that expire at one moment."""

    points: int
    at: str


class Customer(Reply):
    """The contract's customer object."""

    id: str
    card_number: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    birth_date: str | None = None
    tier: str | None
    tier_locked: Annotated[bool, Field(description="head office locked the tier")] = False
    provisional: Annotated[bool, Field(description="a card sold to while central was unreachable: it earns, "
                                       "spends nothing until central links it to its customer")] = False
    points: Points
    balance_negative: bool = False
    expiring: Annotated[list[Expiring], Field(description="points due to expire within 90 days, soonest first")] = []
    alerts: list[str]
    wallet: Wallet | None = None


class SaleLine(Reply):
    """A line as priced: the request's line with the customer's tier discount on it."""

    sku: str
    name: str | None = None
    qty: int
    unit_price: int
    discount: int
    category: str | None = None
    reward: bool = False
    tier_discount: Annotated[int, Field(ge=0, description=(
        "minor units the customer's tier takes off this line: floor((qty × unit_price − discount) × "
        "tier discount_percent / 100); 0 on reward lines"))] = 0


class Payment(Reply):
    method: str
    amount: int | None = None
    points: int | None = None
    code: str | None = None


class GiftCard(Reply):
    """A gift card: ``status`` is active, used or expired."""

    code: str
    amount: int
    expires_at: str
    status: str


class GiftCardSpent(Reply):
    """A gift card a sale used up: what it was worth, what the sale took, what was lost."""

    code: str
    value: int
    paid: int
    forfeited: int


class VoucherIssued(Reply):
    code: str
    amount: int
    expires_at: str


class VoucherOffered(Reply):
    """A voucher a quoted sale would issue; its code exists only once the sale is written."""

    amount: int
    expires_at: str


class RewardOffer(Reply):
    sku: str
    name: str
    cost: int
    affordable: bool


class QuoteProblem(Reply):
    code: str
    message: str
    details: Annotated[dict[str, Any] | None, Field(description="for a gift card or voucher the sale would refuse: "
                                                                   "the sale's error details (its code)")] = None


_TOTAL = "Σ(qty × unit_price − discount − tier_discount) in minor units; the payments must add up to exactly this"


class Quote(Reply):
    """What a basket would cost and earn."""

    lines: list[SaleLine]
    tier: str | None
    tier_discount: Annotated[int, Field(ge=0, description="Σ of the lines' tier_discount")]
    total: Annotated[int, Field(description=_TOTAL)]
    eligible_amount: int
    points_to_earn: int
    max_points_redeemable: int
    rewards: list[RewardOffer]
    rules_version: int
    problems: list[QuoteProblem]
    gift_cards: Annotated[list[GiftCardSpent], Field(description="the gift cards the basket's payments name: what "
                                                                 "the sale would take of each and what it would lose "
                                                                 "(checked as the sale checks them, nothing reserved)")] = []
    vouchers_issued: Annotated[list[VoucherOffered], Field(description="vouchers the sale would issue (rules "
                                                                       "vouchers.at_sale), without a code")] = []


class ReturnView(Reply):
    """A return as recorded."""

    id: str
    sale_id: str | None = None
    lines: list[ReturnedLine]
    amount_refunded: int
    points_reversed: int
    wallet_refunded: Annotated[int, Field(description="the part of amount_refunded put back on the wallet "
                                                      "that paid the sale")] = 0
    created_at: str
    customer: Customer | None = None
    vouchers_voided: Annotated[list[str], Field(description="codes of the vouchers the sale issued, voided by "
                                                            "this return (a full return)")] = []


class Sale(Reply):
    """A sale as committed, with its returns."""

    id: str
    customer_id: str | None
    till_id: str | None
    created_at: str
    lines: list[SaleLine]
    payments: list[Payment]
    total: Annotated[int, Field(description=_TOTAL)]
    tier_discount: Annotated[int, Field(ge=0, description="Σ of the lines' tier_discount")]
    eligible_amount: int
    points_earned: int
    points_redeemed: int
    rules_version: int
    tier: str | None
    returns: list[ReturnView]
    customer: Customer | None = None
    gift_cards: Annotated[list[GiftCardSpent], Field(description="the gift cards the sale used up")] = []
    vouchers_issued: Annotated[list[VoucherIssued], Field(description="vouchers the sale issued "
                                                                      "(rules vouchers.at_sale)")] = []


class Registered(Customer):
    """A customer just registered, with the welcome voucher the rules gave (``vouchers.welcome``)."""

    vouchers_issued: list[VoucherIssued] = []


class LogHead(Reply):
    seq: int | None
    hash: str | None


class DatabaseState(Reply):
    integrity: Literal["ok", "corrupt"]
    read_only: bool
    reason: str | None = None


class Status(Reply):
    """As ``fidelis-edge status --json``."""

    store: str | None
    device_id: str | None
    device_public_key: str | None
    fingerprint: Annotated[str | None, Field(
        description="SHA-256 of the TLS certificate (DER), AB:CD:… — tills pin it")] = None
    central: str | None = None
    log_head: LogHead
    acked_seq: int | None
    pending_entries: int | None
    rejected_entries: int | None
    last_sync: str | None
    sync_state: str
    rules_version: int | None
    online: bool
    database: DatabaseState | None = None


class PrintJob(Reply):
    """A receipt print job."""

    job_id: str
    sale_id: str
    kind: Literal["receipt", "reprint"]
    status: Literal["queued", "printed", "failed"]
    attempts: int
    last_error: str | None
    created_at: str
    printed_at: str | None


class PrintAccepted(Reply):
    """A receipt printed, or queued while the printer works through earlier jobs."""

    job_id: str
    status: Literal["printed", "queued"]
    kind: str
    sale_id: str


class Scan(Reply):
    """A scanned code; ``customer`` is set when it is a loyalty card number."""

    code: str
    customer: Customer | None


class DeviceState(Reply):
    """One device; ``connected`` and ``last_error`` once its link has been started, the print
    queue's figures for the printer, ``visits_counted`` for the people counter."""

    device: Literal["printer", "scanner", "display", "counter"]
    configured: bool
    url: str | None
    connected: bool | None = None
    last_error: str | None = None


class Devices(Reply):
    """One entry per device kind, as the edge last saw it."""

    devices: list[DeviceState]


class Health(Reply):
    status: Literal["ok", "read_only"]
    reason: str | None = None


class WalletLoaded(Reply):
    """A load recorded: the customer with the wallet's new balance."""

    id: str
    customer_id: str
    amount: int
    type: str | None = None
    created_at: str
    wallet: Wallet
    customer: Customer


class WalletConverted(Reply):
    """A conversion recorded: ``points`` left the balance, ``amount`` came onto the wallet."""

    id: str
    customer_id: str
    points: int
    amount: int
    created_at: str
    wallet: Wallet
    customer: Customer


RESPONSES = (WalletLoaded, WalletConverted, GiftCard, Registered, Error, Health, Customer, Quote, Sale, ReturnView,
             Status, PrintJob, PrintAccepted, Scan, Devices)
