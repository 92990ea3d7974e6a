"""Central's response bodies, each declared once (``sync.declared.Reply``).

They are the source of the OpenAPI components (``central.openapi``); schemathesis checks every
answer against them. A reply may gain fields in a later release, never lose one. A field that
some answers leave out or set to null is declared ``T | None = None``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from sync.declared import Reply

from . import activity, feed, giftcards, jobs, vip, vouchers


FEED_KINDS = (feed.RULES_VERSION, feed.CUSTOMER_STATE, feed.DEVICE_REVOKED, feed.CARD_BLOCKED, feed.CUSTOMER_MERGED,
              feed.LINKED, giftcards.GIFT_CARD_STATE, vouchers.VOUCHER_STATE, jobs.POINTS_EXPIRED, vip.VIP_ISSUED)
ACT_KINDS = tuple(sorted(set(activity.KINDS.values())))


class ErrorDetail(Reply):
    code: str
    message: str
    details: dict[str, Any]


class Error(Reply):
    """Every 4xx and 5xx: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


class Health(Reply):
    status: str


class Points(Reply):
    available: int
    pending: int


class Expiring(Reply):
    """Points of the customer's that expire at one moment (within the next 90 days)."""

    points: int
    at: str


class Pocket(Reply):
    category: str | None
    balance: int


class Wallet(Reply):
    """The brand-wide wallet in minor units; ``held``: reserved by holds."""

    balance: int
    held: int
    pockets: list[Pocket]


class Customer(Reply):
    """A customer with the brand-wide balance."""

    id: str
    card_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: str | None = None
    tier: str | None = None
    tier_locked: bool
    balance_negative: bool
    held: int
    points: Points
    wallet: Wallet | None = None
    expiring: list[Expiring] = []
    created_at: str | None = None
    updated_at: str | None = None


class Device(Reply):
    id: str
    store: str
    acked_seq: int
    head_hash: str
    last_sync_at: str | None
    revoked: bool
    frozen: bool
    enrolled_at: str
    public_key: str
    reported_seq: int | None
    backlog: int | None
    clock_skew_ms: int | None


class Store(Reply):
    code: str
    name: str
    devices: list[Device]


class Enrolment(Reply):
    token: Annotated[str, Field(description="shown once; only its hash is kept")]
    store: str
    expires_at: str


class RulesVersion(Reply):
    version: int
    effective_from: str
    document: Annotated[dict[str, Any], Field(description='docs/contract.md "Rules document"')]
    signature: str
    published_at: str


class Published(Reply):
    version: int
    effective_from: str


class Exception(Reply):  # noqa: A001 (the document's name for it; nothing here raises)
    """An entry of the exceptions queue."""

    id: int
    kind: str
    status: str
    device_id: str | None
    store: str | None
    customer_id: str | None
    seq: int | None
    entry_id: str | None
    details: dict[str, Any]
    created_at: str
    resolved_at: str | None
    resolution: str | None


class Head(Reply):
    seq: int
    hash: str
    frozen: bool | None = None


class StoreName(Reply):
    code: str
    name: str


class EnrollResponse(Reply):
    device_id: str
    store: StoreName
    central_public_key: str
    head: Head


class PairingCode(Reply):
    code: str
    secret: str
    expires_at: str
    poll_interval: int


class PairingState(Reply):
    """``pending`` (with ``expires_at``) until approved; then the enrolment, as ``/enroll`` answers."""

    status: Literal["pending", "approved"]
    expires_at: str | None = None
    device_id: str | None = None
    store: StoreName | None = None
    central_public_key: str | None = None
    head: Head | None = None


class ApprovedPairing(Reply):
    code: str
    status: str
    store: str
    device_id: str
    expires_at: str


class PushResult(Reply):
    seq: int | None = None
    id: str | None = None
    reason: str | None = None
    status: Literal["applied", "duplicate", "rejected"]


class PushResponse(Reply):
    head: Head
    results: list[PushResult]


class FeedItem(Reply):
    cursor: int
    kind: Literal[FEED_KINDS]  # type: ignore[valid-type]
    body: dict[str, Any]


class Feed(Reply):
    cursor: int
    more: bool
    items: list[FeedItem]


class Authorization(Reply):
    authorized: bool
    hold_id: str
    available: int
    expires_at: str


class Release(Reply):
    sale_id: str
    released: bool


class Dashboard(Reply):
    """Every figure with its inputs; ratios in basis points (docs/reports.md)."""

    liability: dict[str, Any]
    points: dict[str, Any]
    redemption_rate: dict[str, Any]
    breakage: dict[str, Any]
    active_members: dict[str, Any]
    enrolments: dict[str, Any]
    member_share: dict[str, Any]
    visit_frequency: dict[str, Any]
    tiers: dict[str, Any]
    lapsed_members: dict[str, Any]
    offline_exposure: dict[str, Any]
    unsynced_shops: dict[str, Any]
    open_exceptions: dict[str, Any]


class LiabilityFigures(Reply):
    opening: int
    issued: int
    adjusted: int
    redeemed: int
    expired: int
    reversed: int
    closing: int
    closing_money: int


class StoreLiability(LiabilityFigures):
    store: str | None
    name: str | None = None


class LiabilityReport(LiabilityFigures):
    """closing = opening + issued + adjusted - redeemed - expired - reversed; money in minor units at
    point_value (docs/reports.md)."""

    month: str
    from_: Annotated[str, Field(alias="from")]
    to: str
    complete: bool
    point_value: int
    money: dict[str, int]
    members_balance: int
    difference: int
    reconciled: bool
    refreshed_at: str | None
    waiting: int
    by_store: list[StoreLiability]
    outstanding: Annotated[dict[str, Any], Field(description="points outstanding at the end of today: available, "
                                                             "pending, ageing and what expires within 3/6/12 months")]


class FoundCustomer(Reply):
    id: str
    card_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    tier: str | None = None
    tier_locked: bool | None = None
    balance_negative: bool | None = None
    created_at: str | None = None
    blocked_card: Annotated[str | None, Field(description="present when found by a card reported lost")] = None
    points: Points | None = None


class CustomerPage(Reply):
    query: str
    total: int
    truncated: bool
    limit: int
    offset: int
    items: list[FoundCustomer]


class Act(Reply):
    """One line of a customer's activity."""

    at: str
    kind: Literal[ACT_KINDS]  # type: ignore[valid-type]
    points: int | None = None
    store: str | None = None
    device_id: str | None = None
    sale_id: str | None = None
    sale_total: int | None = None
    details: dict[str, Any] | None = None


class Activity(Reply):
    total: int
    limit: int
    offset: int
    items: list[Act]


class AdjustmentResult(Reply):
    id: str
    points: int
    reason: str
    at: str
    available_at: str | None
    expires_at: str | None
    signature: Annotated[str, Field(description="central's Ed25519 signature of the act (sync/acts.py)")]
    customer: Customer


class VipCard(Reply):
    """A VIP card head office issued: its discount applies at every shop through ``until``."""

    customer_id: str
    code: str
    discount_percent: int
    until: str


class GiftCard(Reply):
    """A gift card as central knows it; ``status`` is as of the answer (``expired`` past its date).
    ``used_sale`` and ``paid`` (what that sale took) only once a sale has used it."""

    code: str
    amount: int
    expires_at: str
    status: Literal["active", "used", "expired"]
    store: str | None = None
    used_sale: str | None = None
    paid: int | None = None


class Voucher(Reply):
    """A voucher as central knows it; ``stores`` null: good in every shop. ``sale_id``: the sale
    that issued it (null for a welcome, birthday or campaign voucher); ``used_sale``: the one that
    spent it."""

    code: str
    amount: int
    expires_at: str
    status: Literal["active", "used", "voided", "expired"]
    customer_id: str | None = None
    stores: list[str] | None = None
    sale_id: str | None = None
    used_sale: str | None = None


class FoundBy(Reply):
    card_number: str | None = None
    customer_id: str | None = None
    status: Literal["current", "merged"]


class CustomerLookup(Reply):
    """``GET /sync/v1/customers``: the ``customer.state`` body (docs/sync-protocol.md) and how
    the card or id found it."""

    state: dict[str, Any]
    found_by: FoundBy


RESPONSES = (VipCard, CustomerLookup, Error, Health, Customer, Device, Store, Enrolment, RulesVersion, Published, Exception, Head,
             EnrollResponse, PairingCode, PairingState, ApprovedPairing, PushResponse, Feed, Authorization,
             Release, Dashboard, LiabilityReport, CustomerPage, Activity, AdjustmentResult, GiftCard, Voucher)
