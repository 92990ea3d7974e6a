"""Central's request bodies, each declared once (``sync.declared``).

A class is the whole check of its body's shape (types, limits, which fields exist) and the
source of its OpenAPI component (``central.openapi``). What only the database can answer —
whether a store exists, whether a token is still good — stays with the service that owns it,
with its own error code (``invalid_store_code``, ``invalid_expiry``, ``store_not_found`` …).

Head-office bodies (``/api/v1``) refuse unknown fields. Sync bodies (``/sync/v1``) from the
edges ignore them, as they always have: a box of a newer release may tell an older central
more than it knows, and central must still enrol it. A push is the exception, a frame of
exactly one field (``entries``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.vip import code_problem as vip_code_problem
from sync.bodies import ID_MAX
from sync.canonical import MAX_SAFE_INTEGER
from sync.declared import Body, BodyProblems, Text, read
from sync.refusal import invalid_body
from sync.entry import EntryError, load_public_key_b64

from . import settings

MAX_POINTS = 1_000_000_000
CARD_PATTERN = r"^[A-Za-z0-9]{4,32}$"
STORE_PATTERN = f"^[A-Za-z0-9-]{{1,{settings.STORE_CODE_MAX}}}$"
RESOLUTION_MAX = 2000
TOKEN_MAX = 200

B = TypeVar("B", bound=Body)

Key = Text(ID_MAX)
"""An id or card number as the database can look it up (``sync.bodies.usable_key``)."""


class SyncBody(Body):
    """A body an edge sends: strict types, fields this release does not know are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# --- /api/v1: head office ---------------------------------------------------------------------


class NewStore(Body):
    """``POST /stores``: a store code and its name (``422 invalid_store_code``/``invalid_store_name``
    when they are strings that cannot be one)."""

    code: Annotated[str, Field(description="1-16 letters, digits or dashes (422 invalid_store_code otherwise)",
                               json_schema_extra={"pattern": STORE_PATTERN})]
    name: Annotated[str, Field(description="1-200 characters, not blank (422 invalid_store_name otherwise)",
                               json_schema_extra={"minLength": 1, "maxLength": 200, "pattern": r"\S"})]


class NewEnrolment(Body):
    """``POST /enrolments``: a one-time enrolment token for a store."""

    store: str
    expires_in_hours: Annotated[int, Field(description="the token's lifetime (422 invalid_expiry outside 1-8760)",
                                           json_schema_extra={"minimum": 1, "maximum": 8760})] \
        = settings.ENROLMENT_HOURS


class PairingApproval(Body):
    """``POST /pairings/{code}/approve``: the store the box joins."""

    store: Annotated[str, Field(description="a store code")]


class Resolution(Body):
    """``POST /exceptions/{id}/resolve``: an optional note (an empty body resolves with none)."""

    resolution: Annotated[str, Field(max_length=RESOLUTION_MAX)] = ""

    @field_validator("resolution")
    @classmethod
    def _no_nul(cls, note: str) -> str:
        # Line breaks are part of a note; a NUL is not text (and PostgreSQL refuses it).
        if "\x00" in note:
            raise PydanticCustomError("nul", "must not contain NUL characters")
        return note


class Adjustment(Body):
    """``POST /customers/{id}/adjustments``: points to add (or take, when negative) and why."""

    points: Annotated[int, Field(ge=-MAX_POINTS, le=MAX_POINTS, description="≠ 0")]
    reason: Text(500)

    @field_validator("points")
    @classmethod
    def _not_zero(cls, points: int) -> int:
        if points == 0:
            raise PydanticCustomError("not_zero", "must not be 0")
        return points

    @field_validator("reason")
    @classmethod
    def _said(cls, reason: str) -> str:
        if not reason.strip():
            raise PydanticCustomError("blank", "must not be blank")
        return reason.strip()


class TierChoice(Body):
    """``PUT /customers/{id}/tier``: a tier of the rules in force, and whether to lock it."""

    tier: Text(60)
    locked: bool = False


class NewCard(Body):
    """``POST /customers/{id}/card``: the card replacing a lost one."""

    card_number: Annotated[str, Field(min_length=4, max_length=32, json_schema_extra={"pattern": CARD_PATTERN})]

    @field_validator("card_number")
    @classmethod
    def _card(cls, card: str) -> str:
        if not (card.isascii() and card.isalnum()):
            raise PydanticCustomError("card", "must be 4 to 32 letters or digits")
        return card


class Merge(Body):
    """``POST /customers/merge``: the customer kept and the duplicate it absorbs."""

    keep: Text(64)
    absorb: Text(64)


# --- /sync/v1: the edges ----------------------------------------------------------------------


def _device_id(value: str) -> str:
    try:
        if str(uuid.UUID(value)) == value:
            return value
    except ValueError:
        pass
    raise PydanticCustomError("device_id", "must be a UUID in canonical lowercase form")


def _public_key(value: str) -> str:
    try:
        load_public_key_b64(value)
    except (EntryError, TypeError):
        raise PydanticCustomError("public_key", "must be a raw 32-byte Ed25519 key, base64url without padding") \
            from None
    return value


DeviceId = Annotated[str, AfterValidator(_device_id), Field(description="a UUID in canonical lowercase form")]
PublicKey = Annotated[str, AfterValidator(_public_key),
                      Field(description="raw 32-byte Ed25519 key, base64url without padding")]


class EnrollRequest(SyncBody):
    """``POST /sync/v1/enroll``: a box's id and public key with the one-time token head office made."""

    token: Annotated[str, Field(min_length=1, max_length=TOKEN_MAX, description="the enrolment token")]
    device_id: DeviceId
    public_key: PublicKey
    store: Annotated[str | None, Field(description="the store the box was set up for, if any")] = None


class PairingRequest(SyncBody):
    """``POST /sync/v1/pairings``: a new box's id and public key, and the store it was set up for."""

    device_id: DeviceId
    public_key: PublicKey
    store: Annotated[str | None, Field(description="the store the box was set up for, if any")] = None


class PairingPoll(SyncBody):
    """``POST /sync/v1/pairings/poll``: the code the box printed and the secret only it knows."""

    code: str
    secret: str


ENTRY = {"type": "object", "description": 'a signed change-log entry (docs/contract.md "Change-log entry")',
         "required": ["v", "device", "seq", "prev", "at", "hlc", "kind", "id", "body", "sig"]}
"""An entry's outline; ``sync.entry`` and ``sync.bodies`` check each one (``422 bad_entry``)."""


class PushRequest(Body):
    """``POST /sync/v1/push``: consecutive signed entries; each is checked on its own
    (``422 bad_entry``), more than 500 is ``422 batch_too_large``."""

    entries: Annotated[list[Any], Field(json_schema_extra={"maxItems": settings.MAX_PUSH_ENTRIES, "items": ENTRY})]


class AuthorizeRequest(SyncBody):
    """``POST /sync/v1/authorize``: hold a customer's points for a sale being made."""

    customer_id: Key
    points: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)]
    sale_id: Key


class WalletAuthorizeRequest(SyncBody):
    """``POST /sync/v1/wallet/authorize``: hold wallet money (minor units) for a sale being made."""

    customer_id: Key
    amount: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER, description="minor units")]
    sale_id: Key


class VipIssue(Body):
    """``POST /customers/{id}/vip``: the rate and last day; a code is made when none is given."""

    code: Annotated[str | None, Field(default=None, max_length=32, description="#VIP# and 1-27 letters or digits")]
    discount_percent: Annotated[int, Field(ge=1, le=100)]
    until: Annotated[str, Field(min_length=10, max_length=10, description="the card's last day, YYYY-MM-DD")]

    @field_validator("code")
    @classmethod
    def _code(cls, code: str | None) -> str | None:
        if code is not None and vip_code_problem(code):
            raise PydanticCustomError("vip_code", vip_code_problem(code))
        return code

    @field_validator("until")
    @classmethod
    def _until(cls, until: str) -> str:
        try:
            date.fromisoformat(until)
        except ValueError:
            raise PydanticCustomError("date", "must be a date as YYYY-MM-DD") from None
        return until



REQUESTS = (NewStore, NewEnrolment, PairingApproval, Resolution, Adjustment, TierChoice, NewCard, Merge,
            PairingRequest, EnrollRequest, PairingPoll, PushRequest, AuthorizeRequest, WalletAuthorizeRequest, VipIssue)


def read_body(model: type[B], data: Any) -> B:
    """``data`` as its declared ``model``; ``422 validation_error`` listing every problem."""
    try:
        return read(model, data)
    except BodyProblems as exc:
        raise invalid_body(exc.problems) from None
