"""The head-office dashboard: the figures that matter, for one shop or all, over a period.

``figures(store, first, last, now)`` answers every figure with its definition. Points figures
come from ``central.positions`` (never a fold of every customer); the rest are counted from
sales, customers, devices and the exceptions queue with the indexes the migrations add.
Ratios are integers in basis points (1 % = 100) so no float crosses an API; money is in minor
units at the point value in force now.

Periods are whole UTC days, ``first`` to ``last`` inclusive; a moment at midnight belongs to
the day before (``contributions.day_of``), so points and sales agree with the liability report.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from shared.times import format_time

from . import db, positions, reports, stores
from . import rules as rulebook
from .errors import CentralError

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
ACTIVE_DAYS, LAPSED_DAYS, REDEMPTION_DAYS = 90, 120, 30
UNSYNCED_AFTER = timedelta(hours=1)

DEFINITIONS: dict[str, tuple[str, str]] = {
    "liability": ("Points liability",
                  "Points members can spend at the end of today (available, debts netted) times the point value "
                  "in force; pending points — earned but not yet spendable — are shown apart. Points that mature "
                  "or expire during today count as matured or expired. For one shop: points earned there."),
    "points": ("Earned, spent, expired",
               "Points earned on sales, spent (redeemed) and expired during the period, per shop. Points expire "
               "in the shop where they were earned; central's own corrections belong to no shop."),
    "redemption_rate": ("Redemption rate",
                        "Points spent ÷ points earned over the 30 days ending with the period."),
    "breakage": ("Breakage to date",
                 "Points expired ÷ points issued (earned and added by hand), from the start up to the end of the "
                 "period: the share of issued points that were never spent."),
    "active_members": ("Active members",
                       "Members with an earn or a spend (a sale that earned or paid points) in the 90 days ending "
                       "with the period; for one shop, at that shop."),
    "enrolments": ("New enrolments",
                   "Members registered during the period, per shop where they registered."),
    "member_share": ("Members' share of sales",
                     "Sales to identified members ÷ all sales, in money (after discounts), during the period."),
    "visit_frequency": ("Visit frequency",
                        "Member sales ÷ members who bought, during the period: visits per buying member."),
    "tiers": ("Tier mix and movement",
              "Members per tier now (for one shop: members who registered there); moves up and down between "
              "tiers during the period, as central announced them."),
    "lapsed_members": ("Lapsed members",
                       "Members registered more than 120 days before the end of the period with no purchase in "
                       "those 120 days (for one shop: members who registered there)."),
    "offline_exposure": ("Offline exposure",
                         "The most points one member could overspend while every shop is offline: shops with a live "
                         "device × the offline cap (redeem.offline_cap), in points and money."),
    "unsynced_shops": ("Shops not synced for over an hour",
                       "Shops with a live device none of whose devices has synced in the last hour."),
    "open_exceptions": ("Open exceptions",
                        "Entries of the exceptions queue not yet resolved, by kind (for one shop: raised there)."),
}


def period(store: Any, first: Any, last: Any, now: datetime) -> tuple[str | None, date, date]:
    """Check the filters (None: not given); ``400 bad_query`` naming the parameter otherwise.

    Default: every shop, the 30 days up to today. An empty value is not a filter left out
    (the page's form leaves its empty fields out before it asks).
    """
    today = now.astimezone(timezone.utc).date()
    store = stores.store_filter(store)
    end = _day(last, "to", today)
    start = _day(first, "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise CentralError(400, "bad_query", "from must not be after to", {"parameter": "from"})
    if end > today:
        raise CentralError(400, "bad_query", "to must not be after today", {"parameter": "to"})
    if (end - start).days >= MAX_DAYS:
        raise CentralError(400, "bad_query", f"a period is at most {MAX_DAYS} days", {"parameter": "from"})
    return store, start, end


def _day(value: Any, name: str, default: date) -> date:
    if value is None:
        return default
    try:
        if not (isinstance(value, str) and len(value) == 10 and value.isascii()):
            raise ValueError
        day = date.fromisoformat(value)
        if day.year < reports.EARLIEST_YEAR:
            raise ValueError
        return day
    except ValueError:
        raise CentralError(400, "bad_query", f"{name} must be a day as YYYY-MM-DD from {reports.EARLIEST_YEAR}-01-01",
                           {"parameter": name}) from None


def _edge(day: date) -> str:
    """The stored time that ends ``day`` (its next midnight): a period is ``(start edge, end edge]``."""
    return format_time(datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1))


def _ratio(part: int, whole: int) -> int | None:
    return part * 10_000 // whole if whole else None


def figures(store: str | None, first: date, last: date, now: datetime) -> dict[str, Any]:
    """Every figure of the dashboard for ``store`` (None: the brand) from ``first`` to ``last``."""
    start, end = first.isoformat(), last.isoformat()
    rules = rulebook.in_force(now)
    value = rules.point_value if rules else 0
    with positions.reading(now) as freshness:
        liability = reports.position(now, store)
        points = _points(store, start, end)
        recent = _flows(store, (last - timedelta(days=REDEMPTION_DAYS - 1)).isoformat(), end)
        to_date = _flows_to(store, last)
        expired_to_date = _expired(store, "", end)
        tiers = _tiers(store, _edge(first - timedelta(days=1)), _edge(last), rules)
        sales = _sales(store, start, end)
        members = _members(store, first, last)
    issued = to_date.get("earn", 0) + max(to_date.get("adjust", 0), 0)
    return {
        "store": store, "from": start, "to": end, "as_of": format_time(now), "point_value": value,
        "refreshed_at": freshness.refreshed_at, "waiting": freshness.waiting,
        "liability": {"money": liability["available"] * value, "points": liability["available"],
                      "pending": liability["pending"], "pending_money": liability["pending"] * value},
        "points": points,
        "redemption_rate": {"basis_points": _ratio(-recent.get("redeem", 0), recent.get("earn", 0)),
                            "spent": -recent.get("redeem", 0), "earned": recent.get("earn", 0)},
        "breakage": {"basis_points": _ratio(expired_to_date, issued), "expired": expired_to_date, "issued": issued},
        **members,
        **sales,
        "tiers": tiers,
        "offline_exposure": _exposure(store, rules, value),
        "unsynced_shops": _unsynced(store, now),
        "open_exceptions": _exceptions(store),
    }


# --- points ---------------------------------------------------------------------------------


def _store_clause(store: str | None, params: list) -> str:
    if store is None:
        return ""
    params.append(store)
    return " AND store_code = ?"


def _flows(store: str | None, start: str, end: str) -> dict[str, int]:
    params: list = [start, end]
    clause = _store_clause(store, params)
    return {kind: int(points) for kind, points in db.rows(
        f"SELECT kind, SUM(points) FROM figure_flow_day WHERE day >= ? AND day <= ?{clause} GROUP BY kind", params)}


def _flows_to(store: str | None, last: date) -> dict[str, int]:
    """Points per kind from the start up to ``last``: whole months, then the days of the last one."""
    params: list = [last.isoformat()[:7]]
    clause = _store_clause(store, params)
    found = _flows(store, last.replace(day=1).isoformat(), last.isoformat())
    for kind, points in db.rows(f"SELECT kind, SUM(points) FROM figure_flow_month WHERE month < ?{clause} "
                                f"GROUP BY kind", params):
        found[kind] = found.get(kind, 0) + int(points)
    return found


def _expired(store: str | None, start: str, end: str) -> int:
    params: list = [start, end]
    clause = _store_clause(store, params)
    return int(db.rows(f"SELECT COALESCE(SUM(points_left), 0) FROM figure_lot WHERE expires_day <> '' "
                       f"AND expires_day >= ? AND expires_day <= ?{clause}", params)[0][0])


def _points(store: str | None, start: str, end: str) -> dict[str, Any]:
    """Earned, spent and expired per shop and per day of the period."""
    params: list = [start, end]
    clause = _store_clause(store, params)
    shops: dict[str, dict[str, int]] = {}
    days: dict[str, dict[str, int]] = {}

    def add(day: str, code: str, figure: str, points: int) -> None:
        shops.setdefault(code, {"earned": 0, "spent": 0, "expired": 0})[figure] += points
        days.setdefault(day, {"earned": 0, "spent": 0, "expired": 0})[figure] += points

    for day, code, kind, points in db.rows(
            f"SELECT day, store_code, kind, points FROM figure_flow_day WHERE day >= ? AND day <= ? "
            f"AND kind IN ('earn', 'redeem'){clause}", params):
        add(day, code, "earned" if kind == "earn" else "spent", abs(int(points)))
    params = [start, end]
    clause = _store_clause(store, params)
    for day, code, points in db.rows(
            f"SELECT expires_day, store_code, SUM(points_left) FROM figure_lot WHERE expires_day <> '' "
            f"AND expires_day >= ? AND expires_day <= ?{clause} GROUP BY expires_day, store_code", params):
        add(day, code, "expired", int(points))
    total = {figure: sum(item[figure] for item in shops.values()) for figure in ("earned", "spent", "expired")}
    return {**total,
            "by_store": [{"store": code or None, **shops[code]} for code in sorted(shops, key=lambda c: (not c, c))],
            "by_day": [{"day": day, **days[day]} for day in sorted(days)]}


def _tiers(store: str | None, after: str, until: str, rules) -> dict[str, Any]:
    params: list = []
    clause = _store_clause(store, params)
    mix = {tier or None: int(count) for tier, count in db.rows(
        f"SELECT tier, SUM(members) FROM figure_tier WHERE 1 = 1{clause} GROUP BY tier", params) if count}
    params = [after, until]
    clause = _store_clause(store, params)
    moves = db.rows(f"SELECT from_tier, to_tier, COUNT(*) FROM tier_change WHERE at > ? AND at <= ?{clause} "
                    f"GROUP BY from_tier, to_tier", params)
    order = {tier.name: rank for rank, tier in enumerate(rules.tiers)} if rules else {}
    up = sum(int(count) for old, new, count in moves if order.get(new, -1) > order.get(old, -1))
    names = [tier.name for tier in rules.tiers] if rules else []
    names += sorted(name for name in mix if name not in names and name is not None)
    return {"mix": [{"tier": name, "members": mix.get(name, 0)} for name in names]
            + ([{"tier": None, "members": mix[None]}] if None in mix else []),
            "moved_up": up, "moved_down": sum(int(count) for *_, count in moves) - up,
            "moves": [{"from": old, "to": new, "members": int(count)} for old, new, count in sorted(moves)]}


# --- members and sales ----------------------------------------------------------------------


def _sales(store: str | None, start: str, end: str) -> dict[str, Any]:
    params: list = [start, end]
    clause = _store_clause(store, params)
    count, member_count, amount, member_amount = (int(value or 0) for value in db.rows(
        f"SELECT SUM(sales), SUM(member_sales), SUM(amount), SUM(member_amount) FROM figure_sale_day "
        f"WHERE day >= ? AND day <= ?{clause}", params)[0])
    buyers = int(db.rows("SELECT COALESCE(SUM(members), 0) FROM figure_buyer WHERE store_code = ? AND day >= ? "
                         "AND day <= ? AND previous_day < ?", (store or positions.BRAND, start, end, start))[0][0])
    return {"member_share": {"basis_points": _ratio(member_amount, amount), "members_sales": member_amount,
                             "sales": amount},
            "visit_frequency": {"hundredths": member_count * 100 // buyers if buyers else None,
                                "member_sales": member_count, "buyers": buyers, "sales": count}}


def _count(measure: str, store: str | None, last: date) -> int:
    """Members in ``measure`` on day ``last``: the running sum of its events."""
    if store is None and measure != "active":  # per home store: the brand is every store
        found = db.rows("SELECT COALESCE(SUM(delta), 0) FROM figure_member WHERE measure = ? AND store_code <> ? "
                        "AND day <= ?", (measure, positions.BRAND, last.isoformat()))
    else:
        found = db.rows("SELECT COALESCE(SUM(delta), 0) FROM figure_member WHERE measure = ? AND store_code = ? "
                        "AND day <= ?", (measure, store or positions.BRAND, last.isoformat()))
    return int(found[0][0])


def _members(store: str | None, first: date, last: date) -> dict[str, Any]:
    params: list = [first.isoformat(), last.isoformat()]
    clause = _store_clause(store, params)
    enrolled = {code: int(count) for code, count in db.rows(
        f"SELECT store_code, SUM(delta) FROM figure_member WHERE measure = 'enrolled' AND day >= ? AND day <= ?"
        f"{clause} GROUP BY store_code", params) if count}
    return {
        "active_members": {"members": _count("active", store, last), "days": ACTIVE_DAYS},
        "enrolments": {"members": sum(enrolled.values()),
                       "by_store": [{"store": code or None, "members": enrolled[code]} for code in sorted(enrolled)]},
        "lapsed_members": {"members": _count("lapsed", store, last), "days": LAPSED_DAYS,
                           "of": _count("enrolled", store, last - timedelta(days=LAPSED_DAYS))},
    }


# --- shops and the queue --------------------------------------------------------------------


def _exposure(store: str | None, rules, value: int) -> dict[str, Any]:
    params: list = []
    clause = _store_clause(store, params)
    shops = db.rows(f"SELECT COUNT(DISTINCT store_code) FROM device WHERE revoked = ?{clause}", [False, *params])[0][0]
    cap = rules.offline_cap if rules else 0
    return {"shops": int(shops), "offline_cap": cap, "points": int(shops) * cap, "money": int(shops) * cap * value}


def _unsynced(store: str | None, now: datetime) -> dict[str, Any]:
    params: list = []
    clause = _store_clause(store, params)
    found = db.rows(f"SELECT store_code, MAX(COALESCE(last_sync_at, '')) FROM device WHERE revoked = ?{clause} "
                    f"GROUP BY store_code", [False, *params])
    limit = format_time(now - UNSYNCED_AFTER)
    late = [{"store": code, "last_sync_at": last or None} for code, last in sorted(found) if (last or "") < limit]
    return {"shops": late, "count": len(late)}


def _exceptions(store: str | None) -> dict[str, Any]:
    params: list = []
    clause = _store_clause(store, params)
    kinds = {kind: int(count) for kind, count in db.rows(
        f"SELECT kind, COUNT(*) FROM conflict WHERE status = 'open'{clause} GROUP BY kind", params)}
    return {"count": sum(kinds.values()), "by_kind": [{"kind": kind, "count": kinds[kind]} for kind in sorted(kinds)]}
