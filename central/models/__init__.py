"""Peewee models of central's database (SQLite or PostgreSQL), by area: ``base`` (what every
model shares), ``access`` (shops, devices, users, tokens, sessions, pairing, audit) and
``brand`` (rules, customers, sales, the ledger, the push's records, care, gift cards,
vouchers). Every model is importable from here: ``from central.models import Customer``.

Times are RFC 3339 UTC text in ``shared.times.format_time``'s fixed width, so they sort
as text on both backends. Every accepted change-log entry is kept verbatim in ``LogEntry``.
"""

from __future__ import annotations

from .access import (
    ApiToken,
    AuditLog,
    Device,
    EnrolmentToken,
    IdempotencyRecord,
    Nonce,
    Pairing,
    PairingAttempt,
    SignInAttempt,
    Store,
    User,
    WebSession,
)
from .base import ID, BaseModel, SchemaVersion
from .brand import (
    CareAct,
    Conflict,
    Customer,
    CustomerDeviceSeq,
    DeviceRules,
    FeedItem,
    GiftCard,
    Hold,
    LogEntry,
    Movement,
    RulesVersion,
    RetiredCard,
    Sale,
    SaleReturn,
    Voucher,
)

__all__ = [
    "ID", "BaseModel", "SchemaVersion", "Store", "Device", "EnrolmentToken", "User", "ApiToken", "Nonce",
    "RulesVersion", "DeviceRules", "Customer", "Sale", "SaleReturn", "Movement", "Hold", "LogEntry", "Conflict",
    "FeedItem", "CustomerDeviceSeq", "IdempotencyRecord", "WebSession", "SignInAttempt", "AuditLog", "Pairing",
    "PairingAttempt", "CareAct", "RetiredCard", "GiftCard", "Voucher", "MODELS",
]

MODELS = [
    SchemaVersion, Store, Device, EnrolmentToken, User, ApiToken, Nonce, RulesVersion, DeviceRules,
    Customer, Sale, SaleReturn, Movement, Hold, LogEntry, Conflict, FeedItem, CustomerDeviceSeq,
    IdempotencyRecord, WebSession, SignInAttempt, AuditLog, CareAct, RetiredCard, GiftCard, Voucher,
]
"""The tables ``central.migrations``' initial schema creates (pairings are made by migration 3 alone)."""
