"""The wallet's change-log bodies, checked and read: one definition for edge and central.

Two kinds of their own — ``wallet.loaded`` and ``wallet.converted`` — and the optional
``wallet`` list a ``sale.completed`` (what each pocket paid) or ``sale.returned`` (what
each pocket got back) carries: ``[{"category": str | null, "amount": int > 0}]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from sync.bodies import CATEGORY_MAX, ID_MAX, BodyError, sale, sale_return, usable_key
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
class Load:
    load_id: str
    customer_id: str
    amount: int
    type: str | None
    category: str | None


def wallet_load(body: dict) -> Load:
    """``wallet.loaded``: money put on a customer's wallet at a till."""
    return Load(_key(body, "load_id"), _key(body, "customer_id"), _positive(body, "amount"),
                _key(body, "type", TYPE_MAX, optional=True), _key(body, "category", CATEGORY_MAX, optional=True))


@dataclass(frozen=True, slots=True)
class Conversion:
    conversion_id: str
    customer_id: str
    points: int
    amount: int
    rules_version: int


def wallet_conversion(body: dict) -> Conversion:
    """``wallet.converted``: points turned into wallet credit at the rules' ``point_value``."""
    version = body.get("rules_version")
    if type(version) is not int or not 0 <= version <= MAX_SAFE_INTEGER:
        raise BodyError("rules_version must be an integer >= 0")
    return Conversion(_key(body, "conversion_id"), _key(body, "customer_id"), _positive(body, "points"),
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


def sale_with_wallet(body: dict):
    """``sale.completed`` with its wallet pockets; they add up to its wallet payments."""
    facts = sale(body)
    paid = pockets(body)
    by_method = sum(p.get("amount", 0) for p in facts.payments if p.get("method") == "wallet")
    if sum(paid.values()) != by_method:
        raise BodyError(f"wallet: the pockets pay {sum(paid.values())}, the wallet payments {by_method}")
    if paid and facts.customer_id is None:
        raise BodyError("wallet: an anonymous sale cannot be paid from a wallet")
    return facts


def return_with_wallet(body: dict):
    """``sale.returned`` with what its wallet pockets got back (never more than was refunded)."""
    facts = sale_return(body)
    if sum(pockets(body).values()) > facts.amount_refunded:
        raise BodyError("wallet: more goes back to the wallet than the return refunds")
    return facts
