"""Vouchers issued at the till by tiers of a sale's total, and spent once (seed B).

``vouchers.at_sale`` in the rules: ``tiers`` (``[{"from": 5000, "percent": 5}, …]`` or
``[{"from": 5000, "amount": 500}, …]``), ``valid_days`` and an optional ``stores`` scope.
The highest tier the sale's total reaches issues one voucher. Its code comes from the sale's
id, so central re-deriving the sale reaches the very same voucher. ``vouchers.welcome``
(``amount``, ``valid_days``, ``stores``) gives a new customer who left an e-mail one voucher,
its code from the customer's id.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Sequence

from .money import Money, floor_div

DEFAULT_VALID_DAYS = 30
INVALID_CODE = "voucher_invalid"
ACTIVE, USED, VOIDED, EXPIRED = "active", "used", "voided", "expired"


@dataclass(frozen=True)
class VoucherTier:
    """From a sale total of ``start`` (minor units): ``percent`` of the total, or a fixed ``amount``."""

    start: Money
    percent: int | None = None
    amount: Money | None = None

    def value(self, total: Money) -> Money:
        """The voucher this tier gives a sale of ``total``."""
        if self.percent is not None:
            return floor_div(total * self.percent, 100)
        return self.amount or 0


@dataclass(frozen=True)
class AtSale:
    """The ``vouchers.at_sale`` section: no tiers means no vouchers."""

    tiers: tuple[VoucherTier, ...] = ()
    valid_days: int = DEFAULT_VALID_DAYS
    stores: frozenset[str] | None = None  # None: every shop


@dataclass(frozen=True)
class Welcome:
    """The ``vouchers.welcome`` section (one voucher for a new customer who gave an e-mail), and
    the same shape for ``vouchers.birthday`` (one voucher on each birthday)."""

    amount: Money
    valid_days: int = DEFAULT_VALID_DAYS
    stores: frozenset[str] | None = None


@dataclass(frozen=True)
class Issued:
    """A voucher a sale issued."""

    code: str
    amount: Money
    expires_at: datetime


@dataclass(frozen=True)
class Voucher:
    """A voucher as a shop knows it; ``stores`` None means valid in every shop."""

    code: str
    amount: Money
    expires_at: datetime
    status: str = ACTIVE
    stores: frozenset[str] | None = None

    def state(self, now: datetime) -> str:
        """``used`` or ``voided`` once so, ``expired`` past its date, else ``active``."""
        if self.status != ACTIVE:
            return self.status
        return EXPIRED if now >= self.expires_at else ACTIVE


def tier_for(total: Money, tiers: Sequence[VoucherTier]) -> VoucherTier | None:
    """The highest tier ``total`` reaches, if any."""
    reached = [t for t in tiers if t.start <= total]
    return reached[-1] if reached else None


def voucher_code(sale_id: str, index: int = 0) -> str:
    """The code of the ``index``-th voucher of a sale: ``V`` and 12 hex digits of its hash."""
    return "V" + hashlib.sha256(f"fidelis/voucher/{sale_id}/{index}".encode()).hexdigest()[:12].upper()


@dataclass(frozen=True)
class Offered:
    """A voucher a sale would issue, before the sale (and so its code) exists."""

    amount: Money
    expires_at: datetime


def offered_at_sale(total: Money, rules: AtSale, store: str, now: datetime) -> tuple[Offered, ...]:
    """The vouchers a sale of ``total`` at ``store`` at ``now`` would issue (none, or one): what
    a quote shows and what ``issue_at_sale`` gives codes to, so the two cannot disagree."""
    if rules.stores is not None and store not in rules.stores:
        return ()
    tier = tier_for(total, rules.tiers)
    if tier is None:
        return ()
    amount = tier.value(total)
    if amount <= 0:
        return ()
    return (Offered(amount, now.replace(microsecond=0) + timedelta(days=rules.valid_days)),)


def issue_at_sale(sale_id: str, total: Money, rules: AtSale, store: str, now: datetime) -> tuple[Issued, ...]:
    """The vouchers a sale of ``total`` at ``store`` issues at ``now`` (none, or one)."""
    return tuple(Issued(voucher_code(sale_id, i), offer.amount, offer.expires_at)
                 for i, offer in enumerate(offered_at_sale(total, rules, store, now)))


def issue_welcome(customer_id: str, email: str | None, rules: Welcome | None, store: str,
                  now: datetime) -> tuple[Issued, ...]:
    """The welcome voucher of a customer registered at ``store`` at ``now`` (none without an
    e-mail, without ``vouchers.welcome`` or outside its shops); its code comes from the customer's id."""
    if rules is None or not email or (rules.stores is not None and store not in rules.stores):
        return ()
    expires = now.replace(microsecond=0) + timedelta(days=rules.valid_days)
    return (Issued(voucher_code(f"welcome/{customer_id}"), rules.amount, expires),)


def is_birthday(birth_date: str | None, day: date) -> bool:
    """Whether ``day`` is the birthday of someone born on ``birth_date`` (YYYY-MM-DD); the
    29th of February falls on the 28th in other years."""
    if not birth_date or len(birth_date) != 10:
        return False
    month, dom = int(birth_date[5:7]), int(birth_date[8:10])
    if (month, dom) == (2, 29) and not calendar.isleap(day.year):
        dom = 28
    return (month, dom) == (day.month, day.day)


def issue_birthday(customer_id: str, birth_date: str | None, rules: Welcome | None, day: date,
                   now: datetime) -> tuple[Issued, ...]:
    """The birthday voucher of a customer on ``day`` (``vouchers.birthday``): one a year, its
    code from the customer's id and the year, so issuing twice on one day gives the same one."""
    if rules is None or not is_birthday(birth_date, day):
        return ()
    expires = now.replace(microsecond=0) + timedelta(days=rules.valid_days)
    return (Issued(voucher_code(f"birthday/{customer_id}/{day.year}"), rules.amount, expires),)


@dataclass(frozen=True)
class Turnover:
    """A head-office campaign over a period: customers with at least ``min_visits`` sales and
    ``min_turnover`` spent (less refunds) get ``percent`` of their turnover or a fixed ``amount``."""

    min_visits: int
    min_turnover: Money
    percent: int | None = None
    amount: Money | None = None

    def value(self, turnover: Money, visits: int) -> Money:
        """The voucher a customer with this turnover and these visits earns (0: none)."""
        if visits < self.min_visits or turnover < self.min_turnover or turnover <= 0:
            return 0
        if self.percent is not None:
            return floor_div(turnover * self.percent, 100)
        return self.amount or 0


def spend_problem(voucher: Voucher | None, amount: Money, store: str, now: datetime) -> str | None:
    """Why ``voucher`` cannot pay ``amount`` at ``store`` now (the message of a 422
    ``voucher_invalid``), or None when it can."""
    if voucher is None:
        return "no voucher with this code is known here"
    state = voucher.state(now)
    if state != ACTIVE:
        return f"voucher {voucher.code} is {state}"
    if voucher.stores is not None and store not in voucher.stores:
        return f"voucher {voucher.code} is not valid in this shop"
    if amount > voucher.amount:
        return f"voucher {voucher.code} is worth {voucher.amount}; {amount} requested"
    return None


# --- the rules document ---------------------------------------------------------------------


def parse_vouchers(raw: Any, check: Any) -> AtSale:
    """The ``vouchers`` section; every problem goes to ``check`` (``shared.rules._Checker``)."""
    if not isinstance(raw, dict):
        check.fail("vouchers", "must be an object")
        return AtSale()
    for extra in sorted(set(raw) - {"at_sale", "welcome", "birthday"}):
        check.fail(f"vouchers.{extra}", "unknown field")
    section = raw.get("at_sale", {})
    if not isinstance(section, dict):
        check.fail("vouchers.at_sale", "must be an object")
        return AtSale()
    for extra in sorted(set(section) - {"tiers", "valid_days", "stores"}):
        check.fail(f"vouchers.at_sale.{extra}", "unknown field")
    days, stores = _validity(section, "vouchers.at_sale", check)
    return AtSale(_tiers(section.get("tiers", []), check), days, stores)


def parse_welcome(raw: Any, check: Any, name: str = "welcome") -> Welcome | None:
    """``vouchers.welcome`` (or ``vouchers.birthday``): ``{"amount", "valid_days"?, "stores"?}``,
    or None when absent.

    ``raw`` is the whole ``vouchers`` section; when it is not an object ``parse_vouchers``
    has already said so.
    """
    if not isinstance(raw, dict) or name not in raw:
        return None
    section, path = raw[name], f"vouchers.{name}"
    if not isinstance(section, dict):
        check.fail(path, "must be an object")
        return None
    for extra in sorted(set(section) - {"amount", "valid_days", "stores"}):
        check.fail(f"{path}.{extra}", "unknown field")
    amount = check.integer(section.get("amount"), f"{path}.amount", 1)
    days, stores = _validity(section, path, check)
    return Welcome(amount, days, stores)


def _validity(section: dict, path: str, check: Any) -> tuple[int, frozenset[str] | None]:
    days = check.integer(section.get("valid_days", DEFAULT_VALID_DAYS), f"{path}.valid_days", 1, 3650)
    stores = None
    if "stores" in section:
        raw_stores = section["stores"]
        if not isinstance(raw_stores, list) or not raw_stores:
            check.fail(f"{path}.stores", "must be a non-empty list of store codes")
        else:
            stores = frozenset(check.text(code, f"{path}.stores[{i}]", 16) for i, code in enumerate(raw_stores))
    return days, stores


def _tiers(raw: Any, check: Any) -> tuple[VoucherTier, ...]:
    path = "vouchers.at_sale.tiers"
    if not isinstance(raw, list):
        check.fail(path, "must be a list")
        return ()
    tiers: list[VoucherTier] = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            check.fail(where, "must be an object")
            continue
        for extra in sorted(set(item) - {"from", "percent", "amount"}):
            check.fail(f"{where}.{extra}", "unknown field")
        start = check.integer(item.get("from"), f"{where}.from", 1)
        if ("percent" in item) == ("amount" in item):
            check.fail(where, "give either percent or amount")
            continue
        if "percent" in item:
            tiers.append(VoucherTier(start, percent=check.integer(item["percent"], f"{where}.percent", 1, 100)))
        else:
            tiers.append(VoucherTier(start, amount=check.integer(item["amount"], f"{where}.amount", 1)))
    starts = [t.start for t in tiers]
    if any(b <= a for a, b in zip(starts, starts[1:])):
        check.fail(path, "from must be strictly increasing")
    return tuple(tiers)
