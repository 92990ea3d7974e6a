"""The wallet (e-purse): money a customer keeps with the brand and spends like cash.

A wallet is a list of movements in minor units — loads at the till, spends, re-credits of
returned sales, points converted to credit — and its balance is their sum: nothing else is
stored. Money loaded under a wallet type with a category condition sits in that category's
*pocket* and may pay only lines of that category; all other money is in the free pocket
(``None``). A shop that cannot reach central lets a customer spend at most
``wallet.offline_cap`` beyond what central has seen, as with points (docs/design.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .money import Money, Points

LOAD, SPEND, REFUND, CONVERT = "load", "spend", "refund", "convert"
KINDS = (LOAD, SPEND, REFUND, CONVERT)
DEFAULT_CEILING = 15000
DEFAULT_OFFLINE_CAP = 5000
MAX_AMOUNT = 10**12

Pocket = str | None
"""A category name, or None for money that may pay anything."""


@dataclass(frozen=True)
class WalletType:
    """A kind of load: a fixed ``amount`` (None: the customer chooses) and an optional
    ``category`` its money may pay for (None: anything)."""

    name: str
    amount: Money | None = None
    category: str | None = None


@dataclass(frozen=True)
class WalletRules:
    """The ``wallet`` section of a rules document."""

    ceiling: Money = DEFAULT_CEILING
    offline_cap: Money = DEFAULT_OFFLINE_CAP
    types: tuple[WalletType, ...] = ()

    def type(self, name: str) -> WalletType | None:
        """The wallet type with this name, if any."""
        return next((t for t in self.types if t.name == name), None)


@dataclass(frozen=True)
class WalletMovement:
    """One wallet movement: ``amount`` is positive for loads, conversions and re-credits,
    negative for spends; ``category`` is its pocket."""

    kind: str
    amount: Money
    ref: str
    category: Pocket = None


@dataclass(frozen=True)
class WalletProblem:
    """A business reason to refuse a wallet act; ``code`` is the API error code."""

    code: str
    message: str


def pockets(movements: Iterable[WalletMovement], start: Mapping[Pocket, Money] | None = None) -> dict[Pocket, Money]:
    """What each pocket holds: ``start`` (central's word) plus the movements."""
    found: dict[Pocket, Money] = dict(start or {})
    for m in movements:
        found[m.category] = found.get(m.category, 0) + m.amount
    return found


def balance(movements: Iterable[WalletMovement]) -> Money:
    """The wallet's balance: the sum of its movements (negative after an offline overdraft)."""
    return sum(m.amount for m in movements)


@dataclass
class WalletAccount:
    """What a shop knows of a wallet: central's pockets and this shop's movements since."""

    central: dict[Pocket, Money] = field(default_factory=dict)
    local: list[WalletMovement] = field(default_factory=list)

    def pockets(self) -> dict[Pocket, Money]:
        return pockets(self.local, self.central)

    def balance(self) -> Money:
        return sum(self.pockets().values())

    def spent_here(self) -> Money:
        """What this shop let the customer spend that central has not seen yet."""
        return -sum(m.amount for m in self.local if m.kind == SPEND)


def offline_spendable(account: WalletAccount, rules: WalletRules) -> Money:
    """What the shop lets the customer spend without central: the known balance, and never
    more than ``wallet.offline_cap`` beyond what central has seen."""
    return max(0, min(account.balance(), rules.offline_cap - account.spent_here()))


def load_problem(current: Money, amount: Money, rules: WalletRules, type_name: str | None) -> WalletProblem | None:
    """Why a load of ``amount`` (of type ``type_name``) onto a balance of ``current`` is refused."""
    if type_name is not None:
        kind = rules.type(type_name)
        if kind is None:
            return WalletProblem("unknown_wallet_type", f"{type_name} is not a wallet type of the rules in force")
        if kind.amount is not None and amount != kind.amount:
            return WalletProblem("wallet_amount_fixed", f"a {type_name} load is always {kind.amount}")
    if amount <= 0:
        return WalletProblem("validation_error", "a load must be more than 0")
    if current + amount > rules.ceiling:
        return WalletProblem("wallet_ceiling_exceeded",
                             f"the wallet holds {current}; {amount} more would pass the ceiling of {rules.ceiling}")
    return None


def category_of(rules: WalletRules, type_name: str | None) -> Pocket:
    """The pocket a load of this type goes to."""
    kind = rules.type(type_name) if type_name is not None else None
    return kind.category if kind is not None else None


def split_spend(amount: Money, held: Mapping[Pocket, Money],
                category_totals: Mapping[str, Money]) -> dict[Pocket, Money] | None:
    """Take ``amount`` from the pockets, or None when they cannot pay it.

    Each category pocket pays at most what the basket's lines of that category cost
    (``category_totals``), category pockets first (by name), then the free pocket pays the
    rest: money that may pay only some lines is used before money that may pay any.
    """
    left = amount
    taken: dict[Pocket, Money] = {}
    for category in sorted(c for c in held if c is not None):
        take = min(left, max(0, held[category]), category_totals.get(category, 0))
        if take > 0:
            taken[category] = take
            left -= take
    take = min(left, max(0, held.get(None, 0)))
    if take > 0:
        taken[None] = take
        left -= take
    return taken if left == 0 else None


def usable(held: Mapping[Pocket, Money], category_totals: Mapping[str, Money]) -> Money:
    """The most the wallet could pay of a basket with these category totals."""
    categories = sum(min(max(0, v), category_totals.get(c, 0)) for c, v in held.items() if c is not None)
    return categories + max(0, held.get(None, 0))


def refund_split(amount: Money, paid: Mapping[Pocket, Money], refunded: Mapping[Pocket, Money]) -> dict[Pocket, Money]:
    """How much of a return's ``amount`` goes back to each pocket that paid the sale.

    The wallet is re-credited before any money is given back, up to what each pocket paid
    less what earlier returns gave it, so a full return re-credits exactly what the wallet paid.
    """
    left = amount
    found: dict[Pocket, Money] = {}
    for pocket in sorted((p for p in paid if p is not None)) + ([None] if None in paid else []):
        take = min(left, max(0, paid[pocket] - refunded.get(pocket, 0)))
        if take > 0:
            found[pocket] = take
            left -= take
    return found


def conversion_amount(points: Points, point_value: Money) -> Money:
    """Wallet credit for ``points``: each point is worth ``redeem.point_value`` minor units."""
    return points * point_value


def read_wallet(raw: Any, check: Any) -> WalletRules:
    """The ``wallet`` section of a rules document; problems go to ``check`` (``shared.rules``)."""
    if raw is None:
        return WalletRules()
    if not isinstance(raw, dict):
        check.fail("wallet", "must be an object")
        return WalletRules()
    for extra in sorted(set(raw) - {"ceiling", "offline_cap", "types"}):
        check.fail(f"wallet.{extra}", "unknown field")
    ceiling = check.integer(raw.get("ceiling", DEFAULT_CEILING), "wallet.ceiling", 0, MAX_AMOUNT)
    offline_cap = check.integer(raw.get("offline_cap", DEFAULT_OFFLINE_CAP), "wallet.offline_cap", 0, MAX_AMOUNT)
    types_raw = raw.get("types", [])
    if not isinstance(types_raw, list):
        check.fail("wallet.types", "must be a list")
        types_raw = []
    types = []
    for i, item in enumerate(types_raw):
        path = f"wallet.types[{i}]"
        if not isinstance(item, dict):
            check.fail(path, "must be an object")
            continue
        for extra in sorted(set(item) - {"name", "amount", "category"}):
            check.fail(f"{path}.{extra}", "unknown field")
        amount = item.get("amount")
        if amount is not None:
            amount = check.integer(amount, f"{path}.amount", 1, MAX_AMOUNT)
            if amount > ceiling:
                check.fail(f"{path}.amount", f"must not be more than wallet.ceiling ({ceiling})")
        category = item.get("category")
        if category is not None:
            category = check.text(category, f"{path}.category", 64)
        types.append(WalletType(check.text(item.get("name"), f"{path}.name", 60), amount, category))
    names = [t.name for t in types]
    if len(set(names)) != len(names):
        check.fail("wallet.types", "wallet type names must be unique")
    return WalletRules(ceiling, offline_cap, tuple(types))
