"""Shop traffic and conversion, from the entries central already stores.

People counters on the edges write ``traffic.visits`` entries (visits per shop, local day
and hour); sales are ``sale.completed`` entries. The report reads both from the stored log,
so it needs no table of its own and is exact for every entry central has applied.
Conversion is sales ÷ visits in basis points (integers: no floats cross the API).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date
from typing import Any

from . import db
from .errors import CentralError

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_range(start: str | None, end: str | None) -> tuple[str, str]:
    for name, value in (("from", start), ("to", end)):
        if value is None:
            continue
        try:
            valid = bool(_DAY.match(value)) and date.fromisoformat(value) is not None
        except ValueError:
            valid = False
        if not valid:
            raise CentralError(422, "validation_error", f"{name} must be a day as YYYY-MM-DD")
    return start or "0000-01-01", end or "9999-12-31"


def report(store: str | None = None, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """``[{"store", "day", "visits", "sales", "conversion_bp", "hours": {"HH": visits}}]`` by store and day.

    Visit days are the shop's local days as the counter recorded them; sale days are the UTC
    day of the sale's ``at``.
    """
    first, last = _day_range(start, end)
    rows = db.rows(
        "SELECT d.store_code, l.kind, l.at, l.line FROM logentry l JOIN device d ON d.id = l.device_id"
        " WHERE l.kind IN ('traffic.visits', 'sale.completed')"
        + (" AND d.store_code = ?" if store else ""),
        (store,) if store else (),
    )
    visits: dict[tuple[str, str], int] = defaultdict(int)
    hours: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sales: dict[tuple[str, str], int] = defaultdict(int)
    for store_code, kind, at, line in rows:
        if kind == "sale.completed":
            day = at[:10]
            if first <= day <= last:
                sales[(store_code, day)] += 1
            continue
        body = json.loads(line).get("body", {})
        day, hour, count = body.get("day"), body.get("hour"), body.get("visits")
        if not (isinstance(day, str) and _DAY.match(day) and isinstance(count, int) and isinstance(hour, int)):
            continue  # malformed counter entries are kept in the log, never counted
        if first <= day <= last:
            visits[(store_code, day)] += count
            hours[(store_code, day)][f"{hour:02d}"] += count
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
