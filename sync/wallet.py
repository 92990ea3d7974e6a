"""The wallet's change-log bodies, checked and read: one definition for edge and central.

Two kinds of their own — ``wallet.loaded`` and ``wallet.converted`` — and the optional
``wallet`` list a ``sale.completed`` (what each pocket paid) or ``sale.returned`` (what
each pocket got back) carries: ``[{"category": str | null, "amount": int > 0}]``, read by
``pockets`` and held to the sale's wallet payments by ``sync.sale_bodies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sync.bodies import CATEGORY_MAX, ID_MAX, BodyError, EntryBody, usable_key
from sync.canonical import MAX_SAFE_INTEGER

WALLET_LOADED = "wallet.loaded"
WALLET_CONVERTED = "wallet.converted"
TYPE_MAX = 60


def _key(body: dict, name: str, limit: int = ID_MAX, optional: bool = False) -> str | None:
    value = body.get(name)
    if value is None and optional:
        return None
    if not usable_key(value, limit):
        raise BodyError(f"{name} must be a string of 1-{limit} characters without control characters")
    return value


def _positive(body: dict, name: str) -> int:
    value = body.get(name)
    if type(value) is not int or not 0 < value <= MAX_SAFE_INTEGER:
        raise BodyError(f"{name} must be an integer > 0")
    return value


@dataclass(frozen=True, slots=True)
class WalletLoaded(EntryBody):
    """``wallet.loaded``: money put on a customer's wallet at a till, of a wallet ``type`` of the
    rules (and so of its ``category``) or neither. ``till_id`` and ``rules_version`` are carried
    as written: no reader ever checked them, so reading does not start to now (central looks the
    rules up only when the version is an integer)."""

    KIND: ClassVar[str] = WALLET_LOADED
    load_id: str
    customer_id: str
    amount: int
    till_id: str | None
    rules_version: int | None
    type: str | None = None
    category: str | None = None

    @classmethod
    def read(cls, body: dict) -> "WalletLoaded":
        return cls(_key(body, "load_id"), _key(body, "customer_id"), _positive(body, "amount"),
                   body.get("till_id"), body.get("rules_version"),
                   _key(body, "type", TYPE_MAX, optional=True), _key(body, "category", CATEGORY_MAX, optional=True))

    def body(self) -> dict[str, Any]:
        """The load as signed: ``type`` and ``category`` only when it has them."""
        written = EntryBody.body(self)
        for name in ("type", "category"):
            if written[name] is None:
                del written[name]
        return written


@dataclass(frozen=True, slots=True)
class WalletConverted(EntryBody):
    """``wallet.converted``: points turned into wallet credit at the rules' ``point_value``."""

    KIND: ClassVar[str] = WALLET_CONVERTED
    conversion_id: str
    customer_id: str
    points: int
    amount: int
    rules_version: int

    @classmethod
    def read(cls, body: dict) -> "WalletConverted":
        version = body.get("rules_version")
        if type(version) is not int or not 0 <= version <= MAX_SAFE_INTEGER:
            raise BodyError("rules_version must be an integer >= 0")
        return cls(_key(body, "conversion_id"), _key(body, "customer_id"), _positive(body, "points"),
                   _positive(body, "amount"), version)


def pockets(body: dict) -> dict[str | None, int]:
    """The ``wallet`` list of a sale or return body as ``{category: amount}`` (empty when absent)."""
    items = body.get("wallet", [])
    if type(items) is not list:
        raise BodyError("wallet must be a list")
    found: dict[str | None, int] = {}
    for index, raw in enumerate(items):
        if type(raw) is not dict:
            raise BodyError(f"wallet[{index}]: must be an object")
        try:
            category = _key(raw, "category", CATEGORY_MAX, optional=True)
            amount = _positive(raw, "amount")
        except BodyError as exc:
            raise BodyError(f"wallet[{index}]: {exc}") from None
        if category in found:
            raise BodyError(f"wallet[{index}]: a pocket is listed twice")
        found[category] = amount
    return found
