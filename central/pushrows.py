"""What a push reads and writes: column lists, the pushing device, a customer as the push sees
it, and the cached earning of a basket. ``central.effects.Batch`` works with these."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.engine import Earning, earn
from shared.rules import RuleSet
from shared.vip import with_vip
from sync.sale_bodies import SaleCompleted

from . import db, ledger, search
from . import exceptions as queue

CUSTOMER_FIELDS = ("card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier",
                   "balance_negative", "qualifying_spend") + ledger.SUMMARY_COLUMNS
"""What a push may change on a customer row (besides ``updated_at`` and the name keys)."""
NAME_KEYS = ("name_fl", "name_lf")
"""The folded names customer search reads (``central.search.name_keys``)."""
SALE_COLUMNS = ("id", "entry_id", "device_id", "customer_id", "till_id", "total", "eligible_amount", "points_earned",
                "points_paid", "reward_points", "rules_version", "tier", "at", "qualifying")
RETURN_COLUMNS = ("id", "entry_id", "sale_id", "device_id", "customer_id", "amount_refunded", "points_reversed", "at")
LOG_COLUMNS = ("device_id", "seq", "id", "kind", "hash", "at", "status", "line", "received_at")
DUPLICATE_RETURN = queue.DUPLICATE_RETURN


@dataclass(frozen=True)
class DeviceState:
    """The pushing device as its row says at the start of the push."""

    id: str
    store_code: str
    public_key: str
    revoked: bool
    frozen: bool
    head_seq: int
    head_hash: str


@dataclass(slots=True)
class CustomerRow:
    """A customer as the push sees and changes it."""

    id: str
    card_number: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    birth_date: str | None
    tier: str | None
    balance_negative: bool = False
    qualifying_spend: int = 0
    summary: ledger.Summary = field(default_factory=ledger.Summary)
    registered_at: str | None = None  # when the customer joined (its registration entry's time)

    def fields(self) -> tuple:
        """The values of ``CUSTOMER_FIELDS``."""
        return (self.card_number, self.first_name, self.last_name, self.email, self.phone, self.birth_date,
                self.tier, self.balance_negative, self.qualifying_spend, *self.summary.values())

    def name_keys(self) -> tuple[str, str]:
        """The values of ``NAME_KEYS``."""
        return search.name_keys(self.first_name, self.last_name)

    def public(self) -> tuple:
        """The values of ``feed.CUSTOMER_FIELDS``."""
        return (self.id, self.card_number, self.first_name, self.last_name, self.email, self.phone,
                self.birth_date, self.tier)


_earnings: dict[tuple, tuple[RuleSet, Earning]] = {}


def earning_of(rules: RuleSet, facts: SaleCompleted, vip_percent: int = 0) -> Earning:
    """``shared.engine.earn`` for a sale, remembered: the same basket under the same rules
    earns the same, and shops sell the same few baskets over and over. ``vip_percent`` is the
    discount of the VIP card central finds valid for the sale (``shared.vip``)."""
    key = (id(rules), facts.tier, facts.points_paid, facts.rate, vip_percent, facts.line_key())
    found = _earnings.get(key)
    if found is None or found[0] is not rules:  # the value holds the rules, so an id is never reused
        if len(_earnings) > 4096:
            _earnings.clear()
        found = _earnings[key] = (rules, earn(facts.engine_lines(), facts.points_paid * rules.point_value, rules,
                                              with_vip(rules.tier(facts.tier), vip_percent), facts.rate))
    return found[1]


def first_column(rows_: list[tuple]) -> list:
    return [values[0] for values in rows_]


def select_in(query: str, values: set, suffix: str = "") -> list[tuple]:
    if not values:
        return []
    ordered = sorted(values)
    return db.rows(query.format(marks=db.marks(len(ordered))) + suffix, ordered)
