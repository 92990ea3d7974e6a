"""Who may talk to central, and how: shops and their enrolled devices, enrolment and pairing,
head-office users, API tokens and their idempotent requests, browser sessions and sign-in
attempts, request nonces and the audit log."""

from __future__ import annotations

from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from .base import ID, BaseModel


class Store(BaseModel):
    code = CharField(primary_key=True, max_length=16)
    name = CharField(max_length=200)
    created_at = CharField()


class Device(BaseModel):
    """An enrolled edge: its key, its store and the head of its log as central holds it."""

    id = CharField(primary_key=True, max_length=ID)
    store = ForeignKeyField(Store, column_name="store_code", backref="devices", on_delete="RESTRICT")
    public_key = CharField(max_length=64)
    enrolled_at = CharField()
    head_seq = BigIntegerField(default=0)
    head_hash = CharField(max_length=64)
    last_sync_at = CharField(null=True)
    revoked = BooleanField(default=False)
    revoked_at = CharField(null=True)
    frozen = BooleanField(default=False)
    frozen_at = CharField(null=True)
    # What the device last said of itself (migration 3): the last seq of its own log, and how
    # far its clock was from central's (its signed request time minus central's, in ms).
    reported_seq = BigIntegerField(null=True)
    clock_skew_ms = BigIntegerField(null=True)


class EnrolmentToken(BaseModel):
    """A one-time enrolment token; only its SHA-256 is kept."""

    token_hash = CharField(primary_key=True, max_length=64)
    store = ForeignKeyField(Store, column_name="store_code", on_delete="CASCADE")
    created_at = CharField()
    expires_at = CharField()
    used_at = CharField(null=True)
    device_id = CharField(null=True, max_length=ID)


class User(BaseModel):
    """A head-office user; the password is kept as a ``werkzeug.security`` hash (salted scrypt)."""

    id = CharField(primary_key=True, max_length=ID)
    email = CharField(unique=True, max_length=254)
    role = CharField(max_length=16)
    password_hash = CharField(max_length=255)
    created_at = CharField()

    class Meta:
        table_name = "central_user"  # "user" is reserved in PostgreSQL


class ApiToken(BaseModel):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    id = CharField(primary_key=True, max_length=ID)
    name = CharField(max_length=200)
    token_hash = CharField(unique=True, max_length=64)
    created_at = CharField()
    revoked = BooleanField(default=False)


class Nonce(BaseModel):
    """A request nonce seen recently; the primary key refuses a second use of it."""

    device_id = CharField(max_length=ID)
    nonce = CharField(max_length=64)
    expires_at = CharField(index=True)

    class Meta:
        primary_key = CompositeKey("device_id", "nonce")


class IdempotencyRecord(BaseModel):
    """The first response to a JSON API POST carrying an ``Idempotency-Key``."""

    token_id = CharField(max_length=ID)
    key = CharField(max_length=200)
    request_hash = CharField(max_length=64)
    status = IntegerField()
    response = TextField()
    created_at = CharField()

    class Meta:
        primary_key = CompositeKey("token_id", "key")


class WebSession(BaseModel):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    token_hash = CharField(primary_key=True, max_length=64)
    user_id = CharField(max_length=ID, index=True)
    csrf_token = CharField(max_length=64)
    created_at = CharField()
    seen_at = CharField()
    address = CharField(null=True, max_length=64)

    class Meta:
        table_name = "websession"


class SignInAttempt(BaseModel):
    """One sign-in attempt, kept for a day to throttle failures per account and per address."""

    id = BigAutoField()
    email = CharField(max_length=254)
    address = CharField(max_length=64)
    ok = BooleanField()
    at = CharField()

    class Meta:
        table_name = "signinattempt"
        indexes = ((("email", "at"), False), (("address", "at"), False))


class AuditLog(BaseModel):
    """Who changed what and when (``central.audit``); ``before``/``after`` are JSON or NULL."""

    id = BigAutoField()
    at = CharField()
    actor = CharField(max_length=300)
    action = CharField(max_length=64)
    target = CharField(max_length=300)
    before = TextField(null=True)
    after = TextField(null=True)

    class Meta:
        table_name = "auditlog"


# --- made by migration 3 (``central.migrations._pairings``), not by the initial schema ------


class Pairing(BaseModel):
    """A box waiting for (or given) head office's approval; only hashes of code and secret kept."""

    code_hash = CharField(primary_key=True, max_length=64)
    secret_hash = CharField(max_length=64)
    device_id = CharField(max_length=ID)
    public_key = CharField(max_length=64)
    edge_store = CharField(null=True, max_length=16)
    address = CharField(max_length=64)
    requested_at = CharField(max_length=40)
    expires_at = CharField(max_length=40)
    store_code = CharField(null=True, max_length=16)
    approved_at = CharField(null=True, max_length=40)
    approved_by = CharField(null=True, max_length=200)
    enrolled_at = CharField(null=True, max_length=40)


class PairingAttempt(BaseModel):
    """One pairing request or failed guess from an address, for rate limiting."""

    id = CharField(primary_key=True, max_length=36)
    address = CharField(max_length=64)
    at = CharField(max_length=40)
    kind = CharField(max_length=16)
