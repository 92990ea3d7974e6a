"""The monthly points-liability report (IFRS 15 §§ 106, 116, B40–B47), from ``central.positions``.

For one month, in points and in money at the point value in force at its end, brand-wide and
by store: the outstanding points at the start (``opening``), what was issued (earned),
adjusted by hand, redeemed, expired and reversed by returns, and the outstanding points at the
end (``closing = opening + issued + adjusted − redeemed − expired − reversed``). Balances are
taken at midnight UTC: the opening at 00:00 on the 1st, the closing at 00:00 on the 1st of the
next month — or, for the month in progress, at the end of today.

Reconciliation: the members' balances at the closing moment are worked out from each member's
own running total (the customer row central updates with every movement), less what they
gained after that moment and what had expired by then. They equal the closing unless a balance
changed without a ledger movement or a movement escaped the figures; the report says
``reconciled`` or gives the difference.

Stores: points count where they were earned, redeemed or reversed; the store of a device
central does not know, and central's own corrections, is ``null``. Expired points count where
they were earned.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.times import format_time

from . import db, positions
from . import rules as rulebook
from .errors import CentralError

FIGURES = ("opening", "issued", "adjusted", "redeemed", "expired", "reversed", "closing")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_KINDS = {"earn": "issued", "adjust": "adjusted", "redeem": "redeemed", "reverse": "reversed"}
_SIGN = {"issued": 1, "adjusted": 1, "redeemed": -1, "reversed": -1}  # redeemed and reversed are shown positive
AGE_BUCKETS = ((0, 3, "0-3 months"), (3, 6, "3-6 months"), (6, 12, "6-12 months"), (12, None, "over 12 months"))
EXPIRY_WINDOWS = (3, 6, 12)
EARLIEST_YEAR = 2000
"""Reports and the dashboard start no earlier (the calendar sums around a period reach back before it)."""


def month_bounds(month: Any, now: datetime) -> tuple[date, date, bool]:
    """``(first day, first day not counted, complete)`` of ``YYYY-MM``; 400 ``bad_query`` otherwise.

    The month in progress runs to the end of today; a month that has not started is refused.
    """
    found = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < EARLIEST_YEAR:
        raise CentralError(400, "bad_query", f"month must be a month as YYYY-MM from {EARLIEST_YEAR}-01, e.g. 2026-10",
                           {"parameter": "month"})
    first = date(int(found.group(1)), int(found.group(2)), 1)
    tomorrow = now.astimezone(timezone.utc).date() + timedelta(days=1)
    if first >= tomorrow:
        raise CentralError(400, "bad_query", f"month {month} has not started yet", {"parameter": "month"})
    following = _add_months(first, 1)
    return first, min(following, tomorrow), following <= tomorrow


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _point_value(at: datetime) -> int:
    rules = rulebook.in_force(at)
    return rules.point_value if rules is not None else 0


def _by_store(query: str, params: tuple) -> dict[str, int]:
    return {store: int(points) for store, points in db.rows(query, params)}


def liability(month: str, now: datetime) -> dict[str, Any]:
    """The report for ``month`` (``YYYY-MM``) as ``GET /api/v1/reports/liability`` answers it."""
    first, stop, complete = month_bounds(month, now)
    start, end = first.isoformat(), stop.isoformat()
    with positions.reading(now) as freshness:
        opening_flows = _by_store("SELECT store_code, SUM(points) FROM figure_flow_month WHERE month < ? "
                                  "GROUP BY store_code", (start[:7],))
        expired_before = _by_store("SELECT store_code, SUM(points_left) FROM figure_lot WHERE expires_day <> '' "
                                   "AND expires_day < ? GROUP BY store_code", (start,))
        flows = db.rows("SELECT store_code, kind, SUM(points) FROM figure_flow_day WHERE day >= ? AND day < ? "
                        "GROUP BY store_code, kind", (start, end))
        expired = _by_store("SELECT store_code, SUM(points_left) FROM figure_lot WHERE expires_day <> '' "
                            "AND expires_day >= ? AND expires_day < ? GROUP BY store_code", (start, end))
        later = (db.rows("SELECT SUM(points) FROM figure_flow_month WHERE month >= ?", (end[:7],)) if complete
                 else db.rows("SELECT SUM(points) FROM figure_flow_day WHERE day >= ?", (end,)))[0][0] or 0
        members = positions.members_total() - int(later) - sum(expired_before.values()) - sum(expired.values())
        outstanding = position(now)
        names = dict(db.rows("SELECT code, name FROM store"))
    stores: dict[str, dict[str, int]] = {}

    def row(store: str) -> dict[str, int]:
        return stores.setdefault(store, dict.fromkeys(FIGURES, 0))

    for code in names:
        row(code)
    for store, points in opening_flows.items():
        row(store)["opening"] += points
    for store, points in expired_before.items():
        row(store)["opening"] -= points
    for store, kind, points in flows:
        figure = _KINDS.get(kind)
        if figure is not None:
            row(store)[figure] += _SIGN[figure] * int(points)
        else:  # a kind this report does not name yet still moves the balance
            row(store)["adjusted"] += int(points)
    for store, points in expired.items():
        row(store)["expired"] += points
    for figures in stores.values():
        figures["closing"] = _closing(figures)
    total = {figure: sum(figures[figure] for figures in stores.values()) for figure in FIGURES}
    closing_at = _midnight(stop)
    value = _point_value(min(now, closing_at - timedelta(milliseconds=1)))
    difference = members - total["closing"]
    return {
        "month": start[:7],
        "from": format_time(_midnight(first)),
        "to": format_time(closing_at),
        "complete": complete,
        "point_value": value,
        **total,
        "closing_money": total["closing"] * value,
        "money": {figure: total[figure] * value for figure in FIGURES},
        "members_balance": members,
        "difference": difference,
        "reconciled": difference == 0,
        "by_store": [{"store": code or None, "name": names.get(code, "central" if not code else code), **figures,
                      "closing_money": figures["closing"] * value}
                     for code, figures in sorted(stores.items(), key=lambda item: (not item[0], item[0]))],
        "outstanding": outstanding,
        "refreshed_at": freshness.refreshed_at,
        "waiting": freshness.waiting,
    }


def _closing(figures: dict[str, int]) -> int:
    return (figures["opening"] + figures["issued"] + figures["adjusted"] - figures["redeemed"] - figures["expired"]
            - figures["reversed"])


def position(now: datetime, store: str | None = None) -> dict[str, Any]:
    """Points outstanding at the end of today: spendable, pending, by age and by when they expire.

    Read inside ``positions.reading``. Points that mature or expire during today count as
    matured or expired. ``store`` keeps only lots earned there (debts belong to no store).
    """
    today = now.astimezone(timezone.utc).date()
    day = today.isoformat()
    where, params = "(expires_day = '' OR expires_day > ?)", [day]
    if store is not None:
        where += " AND store_code = ?"
        params.append(store)
    lots = db.rows(f"SELECT earned_day, available_day, expires_day, SUM(points_left), SUM(repaid) FROM figure_lot "
                   f"WHERE {where} GROUP BY earned_day, available_day, expires_day", params)
    available = pending = debt = 0
    ageing = dict.fromkeys((label for _, _, label in AGE_BUCKETS), 0)
    expiring = dict.fromkeys((str(months) for months in EXPIRY_WINDOWS), 0)
    limits = [(_add_months_day(today, -low), None if high is None else _add_months_day(today, -high), label)
              for low, high, label in AGE_BUCKETS]
    horizons = [(str(months), _add_months_day(today, months)) for months in EXPIRY_WINDOWS]
    for earned, avail, expires, left, repaid in lots:
        left, repaid = int(left), int(repaid)
        if not earned:  # the debts no lot will cover
            debt -= left
            continue
        held = left
        if avail > day:  # still pending: what it will repay of a debt is still in it, and still owed
            pending += left + repaid
            debt += repaid
            held += repaid
        else:
            available += left
        for newest, oldest, label in limits:
            if earned <= newest and (oldest is None or earned > oldest):
                ageing[label] += held
                break
        for label, horizon in horizons:
            if expires and expires <= horizon:
                expiring[label] += left
    value = _point_value(now)
    outstanding = available - debt + pending
    return {
        "as_of": format_time(_midnight(today + timedelta(days=1))),
        "point_value": value,
        "available": available - debt,
        "pending": pending,
        "outstanding": outstanding,
        "outstanding_money": outstanding * value,
        "negative_balances": -debt,
        "ageing": [{"age": label, "points": points} for label, points in ageing.items()],
        "expiring": [{"within_months": int(label), "points": points, "money": points * value}
                     for label, points in expiring.items()],
    }


def _add_months_day(day: date, months: int) -> str:
    """``day`` moved by whole months (the last day of a shorter month when needed), as text."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    last = (_add_months(date(year, month, 1), 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last)).isoformat()


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def liability_csv(report: dict[str, Any]) -> str:
    """The report as CSV: one row per store and a total, then the reconciliation and the position."""
    out = io.StringIO()
    write = csv.writer(out, lineterminator="\r\n").writerow
    write(["month", "store", "name", *FIGURES, "point_value", "closing_money"])
    for item in report["by_store"]:
        write([report["month"], _cell(item["store"] or ""), _cell(item["name"]),
               *(item[figure] for figure in FIGURES), report["point_value"], item["closing_money"]])
    write([report["month"], "TOTAL", "", *(report[figure] for figure in FIGURES), report["point_value"],
           report["closing_money"]])
    write([])
    write(["closing at", report["to"]])
    write(["members' balances at closing", report["members_balance"]])
    write(["difference", report["difference"]])
    write(["reconciled", "yes" if report["reconciled"] else "no"])
    outstanding = report["outstanding"]
    write([])
    write(["outstanding at", outstanding["as_of"]])
    write(["available", outstanding["available"]])
    write(["pending", outstanding["pending"]])
    for item in outstanding["ageing"]:
        write([f"earned {item['age']} ago", item["points"]])
    for item in outstanding["expiring"]:
        write([f"expiring within {item['within_months']} months", item["points"], item["money"]])
    return out.getvalue()
