"""Every kind of change-log entry an edge writes, and the one check of a body before it is signed.

A kind's body is one class (``sync.bodies.EntryBody``) where that is done: the edge builds it
and writes ``body()``, central reads it back with ``read``; ``BODIES`` lists them.

``check(kind, body)`` is what the edge's change log runs before signing and what central's
apply holds each body to (``sync.bodies`` has the readers of the kinds central applies with
effects; the kinds below it keeps as facts, such as a till's name or a shop's visits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, ClassVar

from sync.bodies import (
    CUSTOMER_REGISTERED,
    GIFT_CARD_ISSUED,
    ID_MAX,
    RULES_INSTALLED,
    SALE_COMPLETED,
    SALE_RETURNED,
    STORE_MAX,
    TILL_NAME_MAX,
    URL_MAX,
    BodyError,
    EntryBody,
    Registration,
    RulesInstalled,
    gift_card_issued,
    normal_time,
    sale,
    sale_return,
    usable_key,
)
from sync.canonical import MAX_SAFE_INTEGER
from sync.wallet import (
    WALLET_CONVERTED,
    WALLET_LOADED,
    return_with_wallet,
    sale_with_wallet,
    wallet_conversion,
    wallet_load,
)

DEVICE_INITIALISED = "device.initialised"
DEVICE_PROVISIONED = "device.provisioned"
TILL_ADDED = "till.added"
TRAFFIC_VISITS = "traffic.visits"


def _texts(body: dict, *fields: tuple[str, int]) -> None:
    for name, limit in fields:
        if not usable_key(body.get(name), limit):
            raise BodyError(f"{name} must be a string of 1-{limit} characters without control characters")


@dataclass(frozen=True, slots=True)
class DeviceInitialised(EntryBody):
    """``device.initialised``: the store code and the device's public key."""

    KIND: ClassVar[str] = DEVICE_INITIALISED
    store: str
    public_key: str

    @classmethod
    def read(cls, body: dict) -> "DeviceInitialised":
        _texts(body, ("store", STORE_MAX), ("public_key", ID_MAX))
        return cls(body["store"], body["public_key"])


@dataclass(frozen=True, slots=True)
class DeviceProvisioned(EntryBody):
    """``device.provisioned``: the store central enrolled the box in, and central's URL."""

    KIND: ClassVar[str] = DEVICE_PROVISIONED
    store: str
    central: str

    @classmethod
    def read(cls, body: dict) -> "DeviceProvisioned":
        _texts(body, ("store", STORE_MAX), ("central", URL_MAX))
        return cls(body["store"], body["central"])


@dataclass(frozen=True, slots=True)
class TillAdded(EntryBody):
    """``till.added``: the till's id and name."""

    KIND: ClassVar[str] = TILL_ADDED
    till_id: str
    name: str

    @classmethod
    def read(cls, body: dict) -> "TillAdded":
        _texts(body, ("till_id", ID_MAX), ("name", TILL_NAME_MAX))
        return cls(body["till_id"], body["name"])


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


# The readers by their earlier names (each returns the body's class now).
device_initialised = DeviceInitialised.read
device_provisioned = DeviceProvisioned.read
till_added = TillAdded.read
traffic_visits = TrafficVisits.read


KINDS: dict[str, Callable[[dict], Any]] = {
    CUSTOMER_REGISTERED: Registration.read,
    RULES_INSTALLED: RulesInstalled.read,
    SALE_COMPLETED: sale_with_wallet,  # ``sync.bodies.sale`` and the wallet's pockets
    SALE_RETURNED: return_with_wallet,
    DEVICE_INITIALISED: device_initialised,
    DEVICE_PROVISIONED: device_provisioned,
    TILL_ADDED: till_added,
    TRAFFIC_VISITS: traffic_visits,
    WALLET_LOADED: wallet_load,
    WALLET_CONVERTED: wallet_conversion,
    GIFT_CARD_ISSUED: gift_card_issued,
}
"""The reader of each kind's body: the one definition of what a body of that kind may hold."""

BODIES: dict[str, type[EntryBody]] = {cls.KIND: cls for cls in (
    Registration, RulesInstalled, DeviceInitialised, DeviceProvisioned, TillAdded, TrafficVisits)}
"""The kinds whose body is one class, written by the edge and read by central with the same code."""


def check(kind: str, body: Any) -> None:
    """Raise ``BodyError`` unless ``body`` is a body of ``kind`` that central applies.

    Every kind an edge writes has a reader in ``KINDS``; any other kind is refused here
    (central keeps entries of kinds it does not know as no-ops, without calling this).
    """
    reader = KINDS.get(kind)
    if reader is None:
        raise BodyError(f"{kind} is not an entry kind this version defines")
    if type(body) is not dict:
        raise BodyError("the body must be an object")
    reader(body)
