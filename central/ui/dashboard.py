"""The dashboard (``/dashboard/``): every figure for one shop or all, over a period, with its definition.

Figures come from ``central.dashboard`` (the same as ``GET /api/v1/dashboard``); each sits in
its own section with a ``<details>`` holding its definition, one click (or Enter) away. The
filters are a plain GET form; a bad filter is shown next to its field and nothing is counted.
Charts are SVG drawn here (``central.ui.charts``), each followed by the same numbers in a table.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import render_template, request

from .. import dashboard as board
from .. import db
from ..errors import CentralError
from ..web import clock
from . import charts
from .web import area, requires

pages = area("ui_dashboard", url_prefix="/dashboard")


@pages.app_template_filter("money")
def money(minor: int | None) -> str:
    """Minor units as an amount with two decimals and grouped digits (``123456`` → ``1 234.56``)."""
    if minor is None:
        return "—"
    sign = "−" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{charts.number(whole)}.{cents:02d}"


@pages.app_template_filter("points")
def points(value: int | None) -> str:
    """An integer with grouped digits (``−`` for negatives)."""
    if value is None:
        return "—"
    return ("−" if value < 0 else "") + charts.number(abs(value))


@pages.app_template_filter("percent")
def percent(basis_points: int | None) -> str:
    """Basis points as a percentage with two decimals (``1234`` → ``12.34 %``); ``—`` when undefined."""
    if basis_points is None:
        return "—"
    whole, rest = divmod(basis_points, 100)
    return f"{whole}.{rest:02d} %"


@pages.app_template_filter("stamp")
def stamp(value: str | None) -> str:
    """A stored time to the minute: ``2026-12-01T15:39:41.449Z`` → ``2026-12-01 15:39 UTC``."""
    return f"{value[:10]} {value[11:16]} UTC" if value else "—"


@pages.app_template_filter("hundredths")
def hundredths(value: int | None) -> str:
    """Hundredths as a decimal (``185`` → ``1.85``)."""
    return "—" if value is None else f"{value // 100}.{value % 100:02d}"


def presets(today: date) -> list[tuple[str, date, date]]:
    """Common periods: the last 7, 30 and 90 days, this month and last month."""
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return [("Last 7 days", today - timedelta(days=6), today), ("Last 30 days", today - timedelta(days=29), today),
            ("Last 90 days", today - timedelta(days=89), today), ("This month", first, today),
            ("Last month", last_month_end.replace(day=1), last_month_end)]


def _buckets(by_day: list[dict[str, Any]], first: date, last: date) -> tuple[list[str], dict[str, list[int]]]:
    """Days of the period (weeks past two months, months past a year) with earned/spent/expired."""
    span = (last - first).days + 1
    if span <= 62:
        key, label = (lambda day: day), (lambda day: day.strftime("%d %b"))
    elif span <= 366:
        key, label = (lambda day: day - timedelta(days=day.weekday())), (lambda day: "wk " + day.strftime("%d %b"))
    else:
        key, label = (lambda day: day.replace(day=1)), (lambda day: day.strftime("%b %Y"))
    order: dict[date, str] = {}
    day = first
    while day <= last:
        order.setdefault(key(day), label(key(day)))
        day += timedelta(days=1)
    series = {figure: dict.fromkeys(order, 0) for figure in ("earned", "spent", "expired")}
    for item in by_day:
        bucket = key(date.fromisoformat(item["day"]))
        if bucket in order:
            for figure in series:
                series[figure][bucket] += item[figure]
    return list(order.values()), {figure: list(values.values()) for figure, values in series.items()}


@pages.get("/")
@requires("dashboard.view")
def dashboard():
    """The dashboard for the shop and period in the query (default: every shop, the last 30 days)."""
    now = clock()
    shops = db.rows("SELECT code, name FROM store ORDER BY code")
    asked = {name: request.args.get(name, "") for name in ("store", "from", "to")}
    try:
        store, first, last = board.period(*(asked[name] or None for name in ("store", "from", "to")), now)
    except CentralError as error:
        if error.code != "bad_query":
            raise
        problems = {error.details.get("parameter", "from"): error.message}
        return render_template("dashboard.html", shops=shops, asked=asked, problems=problems, figures=None,
                               presets=presets(now.date()), definitions=board.DEFINITIONS), 400
    figures = board.figures(store, first, last, now)
    labels, series = _buckets(figures["points"]["by_day"], first, last)
    names = dict(shops)
    chart = {
        "points": charts.bar_chart("Points earned, spent and expired", labels,
                                   [("earned", series["earned"]), ("spent", series["spent"]),
                                    ("expired", series["expired"])],
                                   f"Per {'day' if len(labels) == (last - first).days + 1 else 'period'} "
                                   f"from {first} to {last}"),
        "tiers": charts.hbar_chart("Members per tier", [(item["tier"] or "no tier", item["members"])
                                                         for item in figures["tiers"]["mix"]],
                                   "How many members hold each tier now"),
    }
    return render_template("dashboard.html", shops=shops, names=names, asked={**asked, "from": str(first),
                                                                                 "to": str(last)},
                           problems={}, figures=figures, chart=chart, labels=labels, series=series,
                           presets=presets(now.date()), definitions=board.DEFINITIONS)
