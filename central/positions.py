"""Ledger positions: the brand's points and members added up by day and store, kept current.

The dashboard and the liability report need, over a million movements, figures that folding
every customer at every moment could not give in time. Each customer's part of every figure
(``central.contributions``: points per day, store and kind; what each lot ends with; member
activity, lapses and enrolment as day events; purchases; tier) is kept in ``figure_customer``,
and their sums in small tables the pages read:

- ``figure_flow_day`` / ``figure_flow_month``: points per day (month), store and kind;
- ``figure_lot``: what lots end with, per store and earn / availability / expiry day;
- ``figure_member``: member events whose running sum counts active, lapsed and enrolled members;
- ``figure_buyer``: purchase days with the previous one, to count the members who bought in a period;
- ``figure_tier``: members per home store and tier;
- ``figure_sale_day``: sales and members' sales per day and store, counted by the push itself
  (``figure_tables.add_sales``), since anonymous sales touch no customer.

The tables are in ``central.figure_tables``.

Every change to a customer's points or details sends a ``customer.state`` item to the feed in
the same transaction; ``refresh`` re-reads exactly the customers named by feed items it has not
seen and moves the sums by the difference. A lot's outcome depends on nothing after it expires,
and member events are dated, so the sums stay right as time passes without any job. The feed
also gives every tier a customer passed through, in order: ``tier_change`` records each move.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from shared.tiers import decided_tier
from shared.times import format_time

from . import contributions, db, settings
from . import rules as rulebook
from .contributions import BRAND, NO_STORE  # noqa: F401 (BRAND: part of this module's interface)
from .figure_tables import SUMS, FIGURE_MODELS, FigureSaleDay, TierChange

log = logging.getLogger("fidelis.central.figures")
CUSTOMER_STATE, CUSTOMER_MERGED = "customer.state", "customer.merged"
"""The feed items that name customers whose figures changed (``central.feed``)."""
CHUNK = 500


# --- refresh --------------------------------------------------------------------------------


class _Delta:
    """What a refresh adds to the sums, gathered per key before it is written."""

    def __init__(self) -> None:
        self.sums: dict[str, dict[tuple, list[int]]] = {name: {} for name in SUMS}

    def add(self, part: contributions.Part, sign: int) -> None:
        for name, items in part.items():
            target = self.sums[name]
            if name == "lot":
                for key, (left, repaid) in items.items():
                    found = target.get(key)
                    if found is None:
                        target[key] = [sign * left, sign * repaid]
                    else:
                        found[0] += sign * left
                        found[1] += sign * repaid
                continue
            for key, value in items.items():
                found = target.get(key)
                if found is None:
                    target[key] = [sign * value]
                else:
                    found[0] += sign * value
            if name == "flow":  # the month table follows the day table
                months = self.sums["month"]
                for (day, store, kind), value in items.items():
                    found = months.get((day[:7], store, kind))
                    if found is None:
                        months[(day[:7], store, kind)] = [sign * value]
                    else:
                        found[0] += sign * value

    def write(self) -> None:
        for name, (table, key, columns) in SUMS.items():
            updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in columns)
            db.insert_rows(table, (*key, *columns),
                           [(*k, *values) for k, values in self.sums[name].items() if any(values)],
                           f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")


def _lock(shared: bool = False) -> None:
    db.lock("figures", shared)


def _latest_cursor() -> int:
    return int(db.rows("SELECT COALESCE(MAX(cursor), 0) FROM feeditem")[0][0])


def _mark() -> tuple[int, int] | None:
    found = db.rows("SELECT cursor, members_total FROM figure_mark WHERE name = 'feed'")
    return (int(found[0][0]), int(found[0][1])) if found else None


def refresh(now: datetime, batch: int = settings.FIGURES_REFRESH_BATCH) -> int:
    """Bring the figures up to the feed; return how many customers were re-read.

    The first call (no mark yet) reads every customer in one transaction (the migration that
    adds the figures does it). After that, each transaction reads at most ``batch`` feed
    items, so a long backlog never holds SQLite's writer lock for long. Refreshes take turns
    (SQLite's writer lock, a row lock of ``centrallock`` on PostgreSQL), so none adds a change twice.
    """
    count = 0
    while True:
        mark = _mark()
        if mark is not None and mark[0] >= _latest_cursor():
            return count
        count += _refresh_once(now, batch)


def _refresh_once(now: datetime, batch: int) -> int:
    with db.database.atomic():
        _lock()
        mark = _mark()
        latest = _latest_cursor()
        if mark is not None and mark[0] >= latest:
            return 0
        delta = _Delta()
        if mark is None:
            ids = [cid for (cid,) in db.rows("SELECT id FROM customer UNION SELECT customer_id FROM figure_customer")]
            tiers: dict[str, list[tuple[str, str]]] = {}
            members = 0
        else:
            latest = min(latest, mark[0] + batch)  # at most ``batch`` items (fewer where compacted)
            tiers = _tiers_since(mark[0], latest)
            ids = list(tiers)
            members = mark[1]
        stores = dict(db.rows("SELECT id, store_code FROM device"))
        rules = rulebook.in_force(now)
        first_tier = decided_tier(rules, 0) if rules else None
        changes: list[tuple] = []
        merged = _merged_column()
        for start in range(0, len(ids), CHUNK):
            members += _reread(sorted(ids[start:start + CHUNK]), stores, tiers, first_tier, delta, changes, merged)
        delta.write()
        db.insert_rows("tier_change", ("customer_id", "store_code", "at", "from_tier", "to_tier"), changes)
        stamp = format_time(now)
        if mark is None:
            db.execute("INSERT INTO figure_mark (name, cursor, members_total, refreshed_at) VALUES ('feed', ?, ?, ?)",
                       (latest, members, stamp))
        else:
            db.execute("UPDATE figure_mark SET cursor = ?, members_total = ?, refreshed_at = ? WHERE name = 'feed'",
                       (latest, members, stamp))
        return len(ids)


def rebuild(now: datetime) -> int:
    """Forget the figures read from the feed and read every customer again; return how many.

    For a database filled without pushes (a bulk load), or to check the running sums: the
    result must equal what the feed kept up. Tier moves already recorded are kept.
    """
    with db.database.atomic():
        _lock()
        for model in FIGURE_MODELS:
            if model not in (FigureSaleDay, TierChange):
                db.execute(f"DELETE FROM {model._meta.table_name}")
        return _refresh_once(now, settings.FIGURES_REFRESH_BATCH)


def read_up_to() -> int:
    """The feed cursor the figures have read up to (0 before their first refresh)."""
    mark = _mark()
    return mark[0] if mark else 0


def backlog() -> int:
    """Feed items the figures have not read yet (every kind counts: an upper bound)."""
    mark = _mark()
    return _latest_cursor() - (mark[0] if mark else 0)


def start_refresher(interval: float = settings.FIGURES_REFRESH_SECONDS) -> threading.Thread:
    """Keep the figures current from a background thread of a serving process.

    Pages refresh the figures themselves only when few changes are waiting
    (``settings.FIGURES_INLINE_LIMIT``), so a burst of pushes never makes a page slow; this
    thread catches up. Several app servers may each run one: refreshes take turns.
    """

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                db.database.connect(reuse_if_open=True)
                refresh(datetime.now(timezone.utc))
            except Exception:  # a database outage must not end the thread; the next round retries
                log.warning("figures refresh failed; retrying in %s s", interval, exc_info=True)
            finally:
                db.close_thread()

    thread = threading.Thread(target=run, name="fidelis-figures", daemon=True)
    thread.start()
    return thread


def _tiers_since(cursor: int, latest: int) -> dict[str, list[tuple[str, str]]]:
    """Customers named by feed items in ``(cursor, latest]``, each with the ``(at, tier)`` its
    ``customer.state`` items announced, in feed order.

    A ``customer.merged`` item names the customer kept and the one absorbed: the absorbed
    customer's movements now belong to the kept one, so both are read again.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    while cursor < latest:
        page = db.rows("SELECT cursor, kind, body, created_at FROM feeditem WHERE cursor > ? AND cursor <= ? "
                       f"AND kind IN ('{CUSTOMER_STATE}', '{CUSTOMER_MERGED}') ORDER BY cursor LIMIT 2000",
                       (cursor, latest))
        if not page:
            break
        for _, kind, body, at in page:
            item = json.loads(body)
            if kind == CUSTOMER_STATE:
                customer = item.get("customer") or {}
                if isinstance(customer.get("id"), str):
                    found.setdefault(customer["id"], []).append((at, customer.get("tier")))
                continue
            merged = item.get("body") if isinstance(item.get("body"), dict) else {}
            for cid in (item.get("customer_id"), merged.get("absorbed")):
                if isinstance(cid, str):
                    found.setdefault(cid, [])
        cursor = page[-1][0]
    return found


_REREAD = ("SELECT c.id, c.device_id, c.tier, c.ledger_total, c.created_at, {merged}, m.customer_id, m.kind, m.points, "
           "m.at, m.available_at, m.expires_at, m.lot, m.id, m.device_id FROM customer c "
           "LEFT JOIN movement m ON m.customer_id = c.id WHERE c.id IN ({marks})")


_merged_columns: dict[tuple, str] = {}


def _merged_column() -> str:
    """``c.merged_into`` where customers can be merged away (a merged-away customer is no
    longer a member: its movements belong to the customer kept), else ``NULL``.

    Asked once per database a process opens: the catalog query costs more than a refresh.
    """
    key = (type(db.database.obj).__name__, db.database.obj.database, db.schema_name())
    if key not in _merged_columns:
        columns = {column.name for column in db.database.get_columns("customer", db.schema_name())}
        _merged_columns[key] = "c.merged_into" if "merged_into" in columns else "NULL"
    return _merged_columns[key]


def _reread(ids: list[str], stores: dict[str, str], tiers: dict[str, list[tuple[str, str]]], first_tier: str | None,
            delta: _Delta, changes: list[tuple], merged: str = "NULL") -> int:
    """Replace these customers' parts of the sums; return how much their running totals moved.

    A customer new to the figures started on the brand's first tier (``first_tier``): a new
    member whose first push already lifts them to Silver has moved up.

    The customer row and its movements are read in one statement, so on PostgreSQL they come
    from one snapshot: a push cannot slip between them.
    """
    marks = db.marks(len(ids))
    old = {cid: (total, tier, part) for cid, total, tier, part in db.rows(
        f"SELECT customer_id, total, tier, part FROM figure_customer WHERE customer_id IN ({marks})", ids)}
    current: dict[str, tuple] = {}
    movements: dict[str, list[tuple]] = defaultdict(list)
    for cid, device_id, tier, total, created_at, merged_into, *movement in db.rows(
            _REREAD.format(marks=marks, merged=merged), ids):
        if merged_into is not None:
            continue
        current[cid] = (stores.get(device_id, NO_STORE), tier, int(total or 0), created_at)
        if movement[0] is not None:
            movements[cid].append(tuple(movement))
    purchases: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cid, at, device_id in db.rows(f"SELECT customer_id, at, device_id FROM sale WHERE customer_id IN ({marks})",
                                      ids):
        purchases[cid].append((at, device_id))
    moved = 0
    rows = []
    for cid in ids:
        old_total, old_tier, old_part = old.get(cid, (0, None, None))
        delta.add(contributions.loads(old_part), -1)
        moved -= old_total
        if cid not in current:  # gone or merged away: its part leaves the sums
            continue
        home, tier, total, created_at = current[cid]
        part = contributions.contribution(home, tier, created_at, movements.get(cid, []), purchases.get(cid, ()),
                                          stores)
        delta.add(part, +1)
        moved += total
        previous = old_tier if cid in old else first_tier
        for at, announced in tiers.get(cid, ()):
            if previous and announced and announced != previous:
                changes.append((cid, home, at, previous, announced))
            previous = announced or previous
        rows.append((cid, total, tier, contributions.dumps(part)))
    gone = [cid for cid in ids if cid not in current]
    if gone:
        db.execute(f"DELETE FROM figure_customer WHERE customer_id IN ({db.marks(len(gone))})", gone)
    db.insert_rows("figure_customer", ("customer_id", "total", "tier", "part"), rows,
                   "ON CONFLICT (customer_id) DO UPDATE SET total = excluded.total, tier = excluded.tier, "
                   "part = excluded.part")
    return moved


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Freshness:
    """How current the figures a page shows are."""

    refreshed_at: str | None
    waiting: int  # feed items not counted yet


@contextmanager
def reading(now: datetime) -> Iterator[Freshness]:
    """Refresh when few changes wait, then read the figure tables as one consistent whole.

    SQLite readers see one snapshot for their transaction; on PostgreSQL the shared row
    lock keeps a refresh from committing between two of the caller's statements.
    """
    if _mark() is None or backlog() <= settings.FIGURES_INLINE_LIMIT:
        refresh(now)
    with (db.database.atomic() if db.is_postgres() else db.database.atomic(lock_type="DEFERRED")):
        _lock(shared=True)
        found = db.rows("SELECT refreshed_at FROM figure_mark WHERE name = 'feed'")
        yield Freshness(found[0][0] if found else None, backlog())


def members_total() -> int:
    """What the customer rows' running totals add up to, as the figures last read them."""
    mark = _mark()
    return mark[1] if mark else 0
