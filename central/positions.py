"""Ledger positions: the brand's points added up by day, store and lot, kept current from the feed.

The dashboard and the liability report need, over a million movements, figures that folding
every customer at every moment could not give in time: points issued, redeemed, reversed and
adjusted per store and day, and what each lot ends with (``shared.ledger.outcome``) — the
points it expires with, or keeps for good. This module keeps those sums in three small tables
and keeps them exact:

- ``figure_flow_day`` / ``figure_flow_month``: the points of every movement, per day (or
  month), store and kind;
- ``figure_lot``: per store and earn / availability / expiry day, what the lots are left with
  and what they repaid of a debt; each customer's remaining debt sits in the row of store
  ``""``;
- ``figure_customer``: each customer's share of those sums (to take it back out when the
  customer changes), tier, home store and the running total central keeps on the customer row.

Every change to a customer's points sends a ``customer.state`` item to the feed, in the same
transaction; ``refresh`` re-reads exactly the customers named by feed items it has not seen
and moves the sums by the difference. A lot's outcome depends on nothing after it expires,
and after the last movement nothing changes but the clock, so the sums stay right as time
passes without any job. The feed also gives every tier a customer passed through, in order:
``tier_change`` records each move.

Days: a moment belongs to the day that ends at the first midnight (UTC) at or after it, so
"balance at midnight D" is exactly "every day before D". Months likewise.
"""

from __future__ import annotations

import json
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Iterator

from peewee import AutoField, BigIntegerField, CharField, CompositeKey, TextField

from shared.ledger import Movement, outcome
from shared.times import format_time

from . import db, ledger
from .models import ID, BaseModel

FIGURES_LOCK_KEY = 0x46494755  # "FIGU": one refresh at a time; readers share it
CHUNK = 500
NO_STORE = ""
"""The store of movements no store made (central's own corrections) and of debts."""


class FigureCustomer(BaseModel):
    """One customer's share of the figure tables, as last added to them."""

    customer_id = CharField(primary_key=True, max_length=ID)
    store_code = CharField(max_length=16, default=NO_STORE)  # where the customer enrolled
    tier = CharField(null=True, max_length=60)
    total = BigIntegerField(default=0)  # the customer row's running total when it was read
    state = TextField()  # JSON: {"f": [[day, store, kind, points]], "l": [[store, earned, available, expires, left, repaid]]}

    class Meta:
        table_name = "figure_customer"


class FigureFlowDay(BaseModel):
    day = CharField(max_length=10)
    store_code = CharField(max_length=16)
    kind = CharField(max_length=16)
    points = BigIntegerField(default=0)

    class Meta:
        table_name = "figure_flow_day"
        primary_key = CompositeKey("day", "store_code", "kind")


class FigureFlowMonth(BaseModel):
    month = CharField(max_length=7)
    store_code = CharField(max_length=16)
    kind = CharField(max_length=16)
    points = BigIntegerField(default=0)

    class Meta:
        table_name = "figure_flow_month"
        primary_key = CompositeKey("month", "store_code", "kind")


class FigureLot(BaseModel):
    """Lots grouped by store and days; ``expires_day`` ``""`` never expires."""

    store_code = CharField(max_length=16)
    earned_day = CharField(max_length=10)
    available_day = CharField(max_length=10)
    expires_day = CharField(max_length=10)
    points_left = BigIntegerField(default=0)
    repaid = BigIntegerField(default=0)

    class Meta:
        table_name = "figure_lot"
        primary_key = CompositeKey("store_code", "earned_day", "available_day", "expires_day")


class FigureMark(BaseModel):
    """How far the figures have read the feed, and the members' running totals they hold."""

    name = CharField(primary_key=True, max_length=32)
    cursor = BigIntegerField(default=0)
    members_total = BigIntegerField(default=0)
    refreshed_at = CharField()

    class Meta:
        table_name = "figure_mark"


class TierChange(BaseModel):
    """A customer moved from one tier to another (``at``: when the feed announced it)."""

    id = AutoField()
    customer_id = CharField(max_length=ID)
    store_code = CharField(max_length=16)
    at = CharField(index=True)
    from_tier = CharField(max_length=60)
    to_tier = CharField(max_length=60)

    class Meta:
        table_name = "tier_change"


FIGURE_MODELS = [FigureCustomer, FigureFlowDay, FigureFlowMonth, FigureLot, FigureMark, TierChange]


# --- days -----------------------------------------------------------------------------------


def day_of(stamp: str | None) -> str:
    """The day a stored time (``format_time`` form) counts in: midnight belongs to the day before."""
    if not stamp:
        return ""
    if stamp[11:23] != "00:00:00.000":
        return stamp[:10]
    return (date.fromisoformat(stamp[:10]) - timedelta(days=1)).isoformat()


# --- one customer's share -------------------------------------------------------------------


def _share(rows: list[tuple], stores: dict[str, str]) -> tuple[dict, dict]:
    """Flows ``{(day, store, kind): points}`` and lots ``{(store, earned, available, expires): [left, repaid]}``.

    ``rows`` are the customer's movements as ``ledger.movements_by_customer`` returns them.
    """
    flows: dict[tuple, int] = defaultdict(int)
    lots: dict[tuple, list[int]] = {}
    made: dict[str, tuple[str, str]] = {}  # lot ref -> (store, earned day)
    for _, kind, points, at, _, _, _, ref, device_id in rows:
        store = stores.get(device_id, NO_STORE)
        day = day_of(at)
        flows[(day, store, kind)] += points
        if points > 0:
            made[ref] = (store, day)
    if any(values[2] < 0 for values in rows):
        result = outcome(_movements(rows))
        outcomes = [(lot.ref, lot.left, lot.repaid, format_time(lot.available_at),
                     format_time(lot.expires_at) if lot.expires_at else None) for lot in result.lots]
        debt = result.debt
    else:  # nothing was ever spent: every lot keeps all its points
        outcomes = [(ref, points, 0, available or at, max(expires, available or at) if expires else None)
                    for _, _, points, at, available, expires, _, ref, _ in rows if points > 0]
        debt = 0
    for ref, left, repaid, available, expires in outcomes:
        if left or repaid:
            store, earned = made[ref]
            key = (store, earned, day_of(available), day_of(expires))
            bucket = lots.setdefault(key, [0, 0])
            bucket[0] += left
            bucket[1] += repaid
    if debt:
        lots.setdefault((NO_STORE, "", "", ""), [0, 0])[0] -= debt
    return {key: value for key, value in flows.items() if value}, lots


def _movements(rows: Iterable[tuple]) -> list[Movement]:
    parse = datetime.fromisoformat
    return [Movement(kind, points, parse(at), ref, parse(available) if available else None,
                     parse(expires) if expires else None, lot)
            for _, kind, points, at, available, expires, lot, ref, _ in rows]


def _state_of(flows: dict, lots: dict) -> str:
    return json.dumps({"f": [[*key, value] for key, value in sorted(flows.items())],
                       "l": [[*key, *value] for key, value in sorted(lots.items())]}, separators=(",", ":"))


def _read_state(text: str | None) -> tuple[dict, dict]:
    if not text:
        return {}, {}
    state = json.loads(text)
    return ({tuple(item[:3]): item[3] for item in state["f"]},
            {tuple(item[:4]): [item[4], item[5]] for item in state["l"]})


# --- refresh --------------------------------------------------------------------------------


class _Delta:
    """What a refresh adds to the figure tables, summed per key before it is written."""

    def __init__(self) -> None:
        self.days: dict[tuple, int] = defaultdict(int)
        self.months: dict[tuple, int] = defaultdict(int)
        self.lots: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
        self.members = 0

    def add(self, flows: dict, lots: dict, sign: int) -> None:
        for (day, store, kind), points in flows.items():
            self.days[(day, store, kind)] += sign * points
            self.months[(day[:7], store, kind)] += sign * points
        for key, (left, repaid) in lots.items():
            bucket = self.lots[key]
            bucket[0] += sign * left
            bucket[1] += sign * repaid

    def write(self) -> None:
        add = "ON CONFLICT ({key}) DO UPDATE SET {column} = {table}.{column} + excluded.{column}"
        db.insert_rows("figure_flow_day", ("day", "store_code", "kind", "points"),
                       [(*key, value) for key, value in sorted(self.days.items()) if value],
                       add.format(key="day, store_code, kind", column="points", table="figure_flow_day"))
        db.insert_rows("figure_flow_month", ("month", "store_code", "kind", "points"),
                       [(*key, value) for key, value in sorted(self.months.items()) if value],
                       add.format(key="month, store_code, kind", column="points", table="figure_flow_month"))
        db.insert_rows("figure_lot", ("store_code", "earned_day", "available_day", "expires_day", "points_left", "repaid"),
                       [(*key, *value) for key, value in sorted(self.lots.items()) if any(value)],
                       "ON CONFLICT (store_code, earned_day, available_day, expires_day) DO UPDATE SET "
                       "points_left = figure_lot.points_left + excluded.points_left, "
                       "repaid = figure_lot.repaid + excluded.repaid")


def _lock(shared: bool = False) -> None:
    if db.is_postgres():
        db.execute(f"SELECT pg_advisory_xact_lock{'_shared' if shared else ''}(?)", (FIGURES_LOCK_KEY,))


def _latest_cursor() -> int:
    return int(db.rows("SELECT COALESCE(MAX(cursor), 0) FROM feeditem")[0][0])


def _mark() -> tuple[int, int] | None:
    found = db.rows("SELECT cursor, members_total FROM figure_mark WHERE name = 'feed'")
    return (int(found[0][0]), int(found[0][1])) if found else None


def refresh(now: datetime) -> int:
    """Bring the figures up to the feed; return how many customers were re-read.

    The first call (no mark yet) reads every customer. Refreshes take turns (SQLite's writer
    lock, a PostgreSQL advisory lock), so none adds a change twice.
    """
    mark = _mark()
    if mark is not None and mark[0] >= _latest_cursor():
        return 0
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
            tiers = _tiers_since(mark[0], latest)
            ids = list(tiers)
            members = mark[1]
        stores = dict(db.rows("SELECT id, store_code FROM device"))
        changes: list[tuple] = []
        for start in range(0, len(ids), CHUNK):
            members += _reread(sorted(ids[start:start + CHUNK]), stores, tiers, delta, changes)
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


def _tiers_since(cursor: int, latest: int) -> dict[str, list[tuple[str, str]]]:
    """Customers named by ``customer.state`` items in ``(cursor, latest]``, each with the
    ``(at, tier)`` the items announced, in feed order."""
    found: dict[str, list[tuple[str, str]]] = {}
    while cursor < latest:
        page = db.rows("SELECT cursor, body, created_at FROM feeditem WHERE cursor > ? AND cursor <= ? "
                       "AND kind = 'customer.state' ORDER BY cursor LIMIT 2000", (cursor, latest))
        if not page:
            break
        for _, body, at in page:
            customer = json.loads(body).get("customer") or {}
            if isinstance(customer.get("id"), str):
                found.setdefault(customer["id"], []).append((at, customer.get("tier")))
        cursor = page[-1][0]
    return found


_REREAD = ("SELECT c.id, c.device_id, c.tier, c.ledger_total, m.customer_id, m.kind, m.points, m.at, m.available_at, "
           "m.expires_at, m.lot, m.id, m.device_id FROM customer c LEFT JOIN movement m ON m.customer_id = c.id "
           "WHERE c.id IN ({marks})")


def _reread(ids: list[str], stores: dict[str, str], tiers: dict[str, list[tuple[str, str]]], delta: _Delta,
            changes: list[tuple]) -> int:
    """Replace these customers' shares of the figures; return how much their running totals moved.

    The customer row and its movements are read in one statement, so on PostgreSQL they come
    from one snapshot: a push cannot slip between them.
    """
    old = {cid: (tier, total, state) for cid, tier, total, state in db.rows(
        f"SELECT customer_id, tier, total, state FROM figure_customer WHERE customer_id IN ({db.marks(len(ids))})", ids)}
    current: dict[str, tuple] = {}
    movements: dict[str, list[tuple]] = defaultdict(list)
    for cid, device_id, tier, total, *movement in db.rows(_REREAD.format(marks=db.marks(len(ids))), ids):
        current[cid] = (stores.get(device_id, NO_STORE), tier, int(total or 0))
        if movement[0] is not None:
            movements[cid].append(tuple(movement))
    moved = 0
    rows = []
    for cid in ids:
        old_tier, old_total, old_state = old.get(cid, (None, 0, None))
        delta.add(*_read_state(old_state), -1)
        moved -= old_total
        if cid not in current:  # gone (merged away): its share leaves the figures
            continue
        store, tier, total = current[cid]
        flows, lots = _share(movements.get(cid, []), stores)
        delta.add(flows, lots, +1)
        moved += total
        previous = old_tier
        for at, announced in tiers.get(cid, ()):
            if previous and announced and announced != previous:
                changes.append((cid, store, at, previous, announced))
            previous = announced or previous
        rows.append((cid, store, tier, total, _state_of(flows, lots)))
    gone = [cid for cid in ids if cid not in current]
    if gone:
        db.execute(f"DELETE FROM figure_customer WHERE customer_id IN ({db.marks(len(gone))})", gone)
    db.insert_rows("figure_customer", ("customer_id", "store_code", "tier", "total", "state"), rows,
                   "ON CONFLICT (customer_id) DO UPDATE SET store_code = excluded.store_code, tier = excluded.tier, "
                   "total = excluded.total, state = excluded.state")
    return moved


# --- reading --------------------------------------------------------------------------------


@contextmanager
def reading(now: datetime) -> Iterator[None]:
    """Refresh, then read the figure tables as one consistent whole.

    SQLite readers see one snapshot for their transaction; on PostgreSQL the shared advisory
    lock keeps a refresh from committing between two of the caller's statements.
    """
    refresh(now)
    with (db.database.atomic() if db.is_postgres() else db.database.atomic(lock_type="DEFERRED")):
        _lock(shared=True)
        yield


def members_total() -> int:
    """What the customer rows' running totals add up to, as the figures last read them."""
    mark = _mark()
    return mark[1] if mark else 0
