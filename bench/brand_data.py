"""A realistic brand for the figures benchmark, bulk-loaded through central's own ``db.insert_rows``.

``load(brand, now)`` fills a migrated, empty central database with two years of a brand:
stores and their devices, customers enrolled over the period, member and anonymous sales,
redemptions, returns and goodwill adjustments, tier moves and a few open exceptions. Each
customer is simulated in time order with the rules the brand publishes (1 point per 1.00,
points spendable after 14 days and expiring a year later, redemptions only from spendable
points, oldest-expiring first), so balances never go negative and every customer row's ledger
summary and tier agree with its movements. Nothing goes through the feed: the figures are
built afterwards by ``central.positions.rebuild``, as after an upgrade; sales are counted by
``figure_tables.rebuild_sales`` as the migration does.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from central import db, figure_tables, ledger
from central import rules as rulebook
from central.effects import RETURN_COLUMNS, SALE_COLUMNS
from shared.times import format_time
from sync.entry import generate_private_key

DAY_MS = 86_400_000
ACCRUAL_DAYS, EXPIRY_DAYS = 14, 365
TIERS = (("Basic", 0), ("Silver", 50_000), ("Gold", 200_000))
RULES = {
    "earn": {"rate": "1", "exclude_discounted": False, "exclude_categories": [], "per_item": {}},
    "accrual": {"delay_days": ACCRUAL_DAYS},
    "expiry": {"policy": "after_days", "days": EXPIRY_DAYS},
    "redeem": {"point_value": 1, "max_share_percent": 50, "min_balance": 0, "require_cash_line": False,
               "offline_cap": 5000},
    "tiers": [{"name": name, "threshold": threshold, "discount_percent": 0, "extra_earn_percent": 0}
              for name, threshold in TIERS],
    "rewards": [],
    "one_reward_per_sale": True,
}


@dataclass(frozen=True)
class Brand:
    """How big the brand is."""

    customers: int = 100_000
    movements: int = 1_000_000
    stores: int = 20
    months: int = 24
    anonymous_share: float = 0.25  # of all sales
    seed: int = 20261201


def _stamp(ms: int) -> str:
    return format_time(datetime.fromtimestamp(ms / 1000, timezone.utc))


class _Loader:
    """Rows gathered in memory, written in large batches."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}

    def add(self, table: str, columns: tuple[str, ...], row: tuple) -> None:
        self.tables.setdefault(table, (columns, []))[1].append(row)
        if len(self.tables[table][1]) >= 50_000:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.tables):
            columns, rows = self.tables[name]
            with db.database.atomic():
                db.insert_rows(name, columns, rows)
            rows.clear()


def load(brand: Brand, now: datetime) -> dict[str, Any]:
    """Fill the bound, migrated, empty database; return counts of what was written."""
    rng = random.Random(brand.seed)
    end_ms = int(now.timestamp() * 1000)
    start_ms = end_ms - brand.months * 30 * DAY_MS
    start = datetime.fromtimestamp(start_ms / 1000, timezone.utc)
    rulebook.publish({**RULES, "effective_from": format_time(start)}, generate_private_key(), start)
    out = _Loader()
    devices = _stores(out, brand, rng, start, now)
    weights = [1 / (rank + 1) ** 0.6 for rank in range(brand.stores)]  # a few big shops, a long tail
    # Each customer visits at a rate of their own (exponential around the mean that spends the
    # movement budget) for as long as they have been a member: about half the period on average.
    mean_rate = brand.movements / 1.04 / brand.customers / ((end_ms - start_ms) / 2)
    counts = {"customers": 0, "sales": 0, "anonymous_sales": 0, "movements": 0, "returns": 0, "tier_changes": 0}
    for _ in range(brand.customers):
        enrolled = rng.randint(start_ms, end_ms - DAY_MS)
        home = rng.choices(range(brand.stores), weights)[0]
        visits = int(rng.expovariate(1 / mean_rate) * (end_ms - enrolled) + rng.random())
        budget = brand.movements - counts["movements"]
        _customer(out, rng, devices, home, weights, enrolled, end_ms, visits if budget > 0 else 0, budget, counts)
    anonymous = int(counts["sales"] * brand.anonymous_share / (1 - brand.anonymous_share))
    for _ in range(anonymous):
        store = rng.choices(range(brand.stores), weights)[0]
        at = _stamp(rng.randint(start_ms, end_ms))
        total = _basket(rng)
        out.add("sale", SALE_COLUMNS, (str(uuid.uuid4()), str(uuid.uuid4()), rng.choice(devices[store]), None, None,
                                       total, total, 0, 0, 0, 1, None, at, 0))
    counts["anonymous_sales"] = anonymous
    _exceptions(out, rng, devices, now)
    out.flush()
    with db.database.atomic():
        figure_tables.rebuild_sales()  # what each push would have counted
    return counts


def _stores(out: _Loader, brand: Brand, rng: random.Random, start: datetime, now: datetime) -> list[list[str]]:
    """Stores S001… with one or two devices each; the last two shops have not synced for hours."""
    devices: list[list[str]] = []
    for number in range(1, brand.stores + 1):
        code = f"S{number:03d}"
        out.add("store", ("code", "name", "created_at"), (code, f"Shop {number}", format_time(start)))
        ids = [str(uuid.uuid4()) for _ in range(1 if number % 3 else 2)]
        for device_id in ids:
            stale = number > brand.stores - 2
            last = now - (timedelta(hours=3 + rng.random()) if stale else timedelta(seconds=rng.randint(1, 90)))
            out.add("device", ("id", "store_code", "public_key", "enrolled_at", "head_seq", "head_hash", "last_sync_at",
                               "revoked", "frozen"),
                    (device_id, code, "A" * 43, format_time(start), rng.randint(1000, 90_000), "0" * 64,
                     format_time(last), False, False))
        devices.append(ids)
    out.flush("store")
    out.flush("device")
    return devices


def _basket(rng: random.Random) -> int:
    return max(150, min(400_000, int(rng.lognormvariate(8.4, 0.8))))  # around 45.00, a long tail


def _customer(out: _Loader, rng: random.Random, devices: list[list[str]], home: int, weights: list[float],
              enrolled: int, end_ms: int, visits: int, budget: int, counts: dict[str, int]) -> None:
    """One customer's life: sales in time order, points earned, spent, reversed and adjusted."""
    cid = str(uuid.uuid4())
    summary = ledger.Summary()
    lots: list[list] = []  # [available ms, expires ms, remaining] in the fold's spending order
    qualifying, tier, made = 0, "Basic", 0

    def movement(ref: str, kind: str, points: int, at_ms: int, sale_id: str | None, device_id: str,
                 available: int | None = None, expires: int | None = None, lot: str | None = None) -> None:
        nonlocal made
        at, avail = _stamp(at_ms), _stamp(available) if available else None
        until = _stamp(expires) if expires else None
        out.add("movement", ledger.MOVEMENT_COLUMNS, (ref, cid, kind, points, at, avail, until, lot, sale_id,
                                                      device_id, str(uuid.uuid4())))
        summary.add(points, at, avail, until)
        made += 1

    for at_ms in sorted(rng.randint(enrolled, end_ms) for _ in range(visits)):
        if made + 3 > budget:
            break
        store = home if rng.random() < 0.8 else rng.choices(range(len(devices)), weights)[0]
        device_id = rng.choice(devices[store])
        sale_id, total = str(uuid.uuid4()), _basket(rng)
        lots = [lot for lot in lots if lot[1] > at_ms and lot[2] > 0]
        spendable = sum(lot[2] for lot in lots if lot[0] <= at_ms)
        paid = min(spendable, total // 2) if spendable >= 500 and rng.random() < 0.35 else 0
        owed = paid
        for lot in sorted((lot for lot in lots if lot[0] <= at_ms), key=lambda lot: lot[1]):
            taken = min(owed, lot[2])
            lot[2] -= taken
            owed -= taken
        eligible = total - paid
        points = eligible // 100
        returned = rng.random() < 0.025 and at_ms + 13 * DAY_MS < end_ms
        if points:
            available = at_ms + ACCRUAL_DAYS * DAY_MS
            movement(f"{sale_id}:earn", "earn", points, at_ms, sale_id, device_id, available,
                     available + EXPIRY_DAYS * DAY_MS)
            lots.append([available, available + EXPIRY_DAYS * DAY_MS, 0 if returned else points])
        if paid:
            movement(f"{sale_id}:redeem", "redeem", -paid, at_ms, sale_id, device_id)
        out.add("sale", SALE_COLUMNS, (sale_id, str(uuid.uuid4()), device_id, cid, None, total, eligible, points,
                                       paid, 0, 1, tier, _stamp(at_ms), 0 if returned else eligible))
        counts["sales"] += 1
        if returned:  # within the accrual delay: the pending lot is cancelled whole
            back_ms = at_ms + rng.randint(1, 13) * DAY_MS
            return_id = str(uuid.uuid4())
            out.add("salereturn", RETURN_COLUMNS, (return_id, str(uuid.uuid4()), sale_id, device_id, cid, total,
                                                   points, _stamp(back_ms)))
            counts["returns"] += 1
            if points:
                movement(f"{return_id}:reverse", "reverse", -points, back_ms, sale_id, device_id,
                         lot=f"{sale_id}:earn")
        else:
            qualifying += eligible
        if rng.random() < 0.003:  # a goodwill gesture from head office
            adjusted = at_ms + 3_600_000
            movement(str(uuid.uuid4()), "adjust", 200, adjusted, None, "central", adjusted,
                     adjusted + EXPIRY_DAYS * DAY_MS)
            lots.append([adjusted, adjusted + EXPIRY_DAYS * DAY_MS, 200])
        decided = [name for name, threshold in TIERS if qualifying >= threshold][-1]
        if decided != tier:
            out.add("tier_change", ("customer_id", "store_code", "at", "from_tier", "to_tier"),
                    (cid, f"S{home + 1:03d}", _stamp(at_ms), tier, decided))
            counts["tier_changes"] += 1
            tier = decided
    created = _stamp(enrolled)
    out.add("customer", ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier",
                         "balance_negative", "qualifying_spend", *ledger.SUMMARY_COLUMNS, "device_id", "created_at",
                         "updated_at"),
            (cid, f"29{counts['customers']:011d}", "Member", str(counts["customers"]),
             f"member{counts['customers']}@example.com", f"+4072{counts['customers']:07d}", None, tier, False,
             qualifying, *summary.values(), rng.choice(devices[home]), created, created))
    counts["customers"] += 1
    counts["movements"] += made


def _exceptions(out: _Loader, rng: random.Random, devices: list[list[str]], now: datetime) -> None:
    kinds = ("overdraft", "recalculation_mismatch", "card_conflict", "unknown_sale")
    for number in range(40):
        store = rng.randrange(len(devices))
        out.add("conflict", ("kind", "status", "device_id", "store_code", "details", "created_at"),
                (kinds[number % len(kinds)], "open" if number % 4 else "resolved", devices[store][0],
                 f"S{store + 1:03d}", "{}", format_time(now - timedelta(hours=rng.randint(1, 500)))))
