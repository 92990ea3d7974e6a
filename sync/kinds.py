"""Every kind of change-log entry an edge writes, and the one check of a body before it is signed.

Each kind's body is one class (``sync.bodies.EntryBody``): the edge builds it and writes
``body()``, central reads it back with ``read``; ``BODIES`` lists them all. The classes of
the customer and the rules are in ``sync.bodies``, a sale's in ``sync.sale_bodies``, the
wallet's in ``sync.wallet``; the box's own facts (its key, its tills, a shop's visits) are here.

``check(kind, body)`` is what the edge's change log runs before signing and what central's
apply holds each body to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, ClassVar

from sync.bodies import (
    ID_MAX,
    STORE_MAX,
    TILL_NAME_MAX,
    URL_MAX,
    BodyError,
    EntryBody,
    Registration,
    RulesInstalled,
    normal_time,
    usable_key,
)
from sync.canonical import MAX_SAFE_INTEGER
from sync.sale_bodies import GiftCardIssued, SaleCompleted, SaleReturned
from sync.wallet import WalletConverted, WalletLoaded

DEVICE_INITIALISED = "device.initialised"
DEVICE_PROVISIONED = "device.provisioned"
TILL_ADDED = "till.added"
TRAFFIC_VISITS = "traffic.visits"


def _texts(body: dict, *fields: tuple[str, int]) -> None:
    for name, limit in fields:
        if not usable_key(body.get(name), limit):
            raise BodyError(f"{name} must be a string of 1-{limit} characters without control characters")


class _TwoTexts(EntryBody):
    """A body of two text fields, each 1 to its limit characters: ``TEXTS`` names them in order."""

    __slots__ = ()
    TEXTS: ClassVar[tuple[tuple[str, int], tuple[str, int]]]

    @classmethod
    def read(cls, body: dict) -> "_TwoTexts":
        _texts(body, *cls.TEXTS)
        return cls(*(body[name] for name, _ in cls.TEXTS))


@dataclass(frozen=True, slots=True)
class DeviceInitialised(_TwoTexts):
    """``device.initialised``: the store code and the device's public key."""

    KIND: ClassVar[str] = DEVICE_INITIALISED
    TEXTS: ClassVar = (("store", STORE_MAX), ("public_key", ID_MAX))
    store: str
    public_key: str


@dataclass(frozen=True, slots=True)
class DeviceProvisioned(_TwoTexts):
    """``device.provisioned``: the store central enrolled the box in, and central's URL."""

    KIND: ClassVar[str] = DEVICE_PROVISIONED
    TEXTS: ClassVar = (("store", STORE_MAX), ("central", URL_MAX))
    store: str
    central: str


@dataclass(frozen=True, slots=True)
class TillAdded(_TwoTexts):
    """``till.added``: the till's id and name."""

    KIND: ClassVar[str] = TILL_ADDED
    TEXTS: ClassVar = (("till_id", ID_MAX), ("name", TILL_NAME_MAX))
    till_id: str
    name: str


@dataclass(frozen=True, slots=True)
class TrafficVisits(EntryBody):
    """``traffic.visits``: the visits a shop's counter saw in one local hour of one day."""

    KIND: ClassVar[str] = TRAFFIC_VISITS
    store: str
    day: str
    hour: int
    visits: int
    counted_at: str | None

    @classmethod
    def read(cls, body: dict) -> "TrafficVisits":
        _texts(body, ("store", STORE_MAX))
        day = body.get("day")
        try:
            valid = type(day) is str and len(day) == 10 and day[4] == day[7] == "-" and bool(date.fromisoformat(day))
        except ValueError:
            valid = False
        if not valid:
            raise BodyError("day must be a date as YYYY-MM-DD")
        for name, high in (("hour", 23), ("visits", MAX_SAFE_INTEGER)):
            if type(body.get(name)) is not int or not 0 <= body[name] <= high:
                raise BodyError(f"{name} must be an integer from 0 to {high}")
        if body.get("counted_at") is not None:
            try:
                normal_time(body["counted_at"])
            except (ValueError, TypeError):
                raise BodyError("counted_at must be an RFC 3339 time") from None
        return cls(body["store"], day, body["hour"], body["visits"], body.get("counted_at"))


BODIES: dict[str, type[EntryBody]] = {cls.KIND: cls for cls in (
    Registration, RulesInstalled, SaleCompleted, SaleReturned, GiftCardIssued, WalletLoaded, WalletConverted,
    DeviceInitialised, DeviceProvisioned, TillAdded, TrafficVisits)}
"""Every kind an edge writes, by its body's class: the one definition of what a body of that
kind may hold, written by the edge and read by central with the same code."""

KINDS: dict[str, Callable[[dict], EntryBody]] = {kind: cls.read for kind, cls in BODIES.items()}
"""The reader of each kind's body (``BODIES``' ``read``)."""


def check(kind: str, body: Any) -> None:
    """Raise ``BodyError`` unless ``body`` is a body of ``kind`` that central applies.

    Every kind an edge writes has a class in ``BODIES``; any other kind is refused here
    (central keeps entries of kinds it does not know as no-ops, without calling this).
    """
    cls = BODIES.get(kind)
    if cls is None:
        raise BodyError(f"{kind} is not an entry kind this version defines")
    if type(body) is not dict:
        raise BodyError("the body must be an object")
    cls.read(body)
