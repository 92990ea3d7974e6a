"""Shop traffic and conversion, from a table the push keeps current.

People counters on the edges write ``traffic.visits`` entries (visits per shop, local day
and hour). When a push applies one, and when it applies a sale, it adds to the ``traffic``
row of the shop, day and hour in the same transaction (``add``), so the report reads a few
rows per shop and day instead of scanning the stored log. Only entries central accepted
count: a malformed counter entry or a rejected sale (a duplicate, an unknown customer) adds
nothing. Conversion is sales ÷ visits in basis points (integers: no floats cross the API).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from typing import Any, Iterable

from . import db
from .errors import CentralError

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COLUMNS = ("store_code", "day", "hour", "visits", "sales")
Counts = dict[tuple[str, str, int], list[int]]
"""``(store, day, hour) -> [visits, sales]``."""


def count_visits(counts: Counts, store: str, body: dict) -> None:
    """Add one accepted ``traffic.visits`` body: its shop's local day and hour."""
    counts.setdefault((store, body["day"], body["hour"]), [0, 0])[0] += body["visits"]


def count_sale(counts: Counts, store: str, at: str) -> None:
    """Add one accepted sale at ``at`` (stored RFC 3339 UTC): its UTC day and hour."""
    counts.setdefault((store, at[:10], int(at[11:13])), [0, 0])[1] += 1


def add(counts: Counts) -> None:
    """Write the counts of one push (inside its transaction); rows add up across pushes."""
    db.insert_rows("traffic", COLUMNS, [(*key, *values) for key, values in sorted(counts.items())],
                   "ON CONFLICT (store_code, day, hour) DO UPDATE SET visits = traffic.visits + excluded.visits, "
                   "sales = traffic.sales + excluded.sales")


def backfill() -> None:
    """Fill the table from what central already holds (the migration that made it).

    Visits come from the stored ``traffic.visits`` entries central accepted, sales from the
    sales it applied.
    """
    counts: Counts = {}
    stores = dict(db.rows("SELECT id, store_code FROM device"))
    after: tuple[str, int] = ("", 0)
    while True:
        page = db.rows("SELECT device_id, seq, line FROM logentry WHERE kind = 'traffic.visits' AND status = 'applied' "
                       "AND (device_id > ? OR (device_id = ? AND seq > ?)) ORDER BY device_id, seq LIMIT 5000",
                       (after[0], after[0], after[1]))
        if not page:
            break
        for device_id, _, line in page:
            count_visits(counts, stores.get(device_id, ""), json.loads(line)["body"])
        after = (page[-1][0], page[-1][1])
    for device_id, at in db.execute("SELECT device_id, at FROM sale"):
        count_sale(counts, stores.get(device_id, ""), at)
    add(counts)


def _day_range(start: str | None, end: str | None) -> tuple[str, str]:
    for name, value in (("from", start), ("to", end)):
        if value is None:
            continue
        try:
            valid = bool(_DAY.match(value)) and date.fromisoformat(value) is not None
        except ValueError:
            valid = False
        if not valid:
            raise CentralError(400, "bad_query", f"{name} must be a day as YYYY-MM-DD", {"parameter": name})
    return start or "0000-01-01", end or "9999-12-31"


def report(store: str | None = None, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """``[{"store", "day", "visits", "sales", "conversion_bp", "hours": {"HH": visits}}]`` by store and day.

    Visit days are the shop's local days as the counter recorded them; sale days are the UTC
    day of the sale's ``at``.
    """
    first, last = _day_range(start, end)
    rows: Iterable[tuple] = db.rows(
        "SELECT store_code, day, hour, visits, sales FROM traffic WHERE day >= ? AND day <= ?"
        + (" AND store_code = ?" if store else ""),
        (first, last, store) if store else (first, last),
    )
    visits: dict[tuple[str, str], int] = defaultdict(int)
    hours: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    sales: dict[tuple[str, str], int] = defaultdict(int)
    for store_code, day, hour, seen, sold in rows:
        key = (store_code, day)
        if seen:
            visits[key] += seen
            hours[key][f"{hour:02d}"] = hours[key].get(f"{hour:02d}", 0) + seen
        if sold:
            sales[key] += sold
    report_rows = []
    for key in sorted(set(visits) | set(sales)):
        seen, sold = visits.get(key, 0), sales.get(key, 0)
        report_rows.append({
            "store": key[0],
            "day": key[1],
            "visits": seen,
            "sales": sold,
            "conversion_bp": sold * 10_000 // seen if seen else None,
            "hours": dict(sorted(hours[key].items())),
        })
    return report_rows
