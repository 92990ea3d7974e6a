"""The monthly points-liability report for finance (``/finance/liability``) and its CSV.

The report is ``central.reports.liability`` (the same as ``GET /api/v1/reports/liability``):
opening to closing by store, in points and money, reconciled to the members' balances, then
the points outstanding today by age and by when they expire. It shows no personal data.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request

from .. import reports
from ..errors import CentralError
from ..web import clock
from . import charts
from .web import area, requires

finance = area("ui_finance", url_prefix="/finance")

ROWS = (("opening", "Opening balance"), ("issued", "Issued (earned)"), ("adjusted", "Adjusted by hand"),
        ("redeemed", "Redeemed"), ("expired", "Expired"), ("reversed", "Reversed by returns"),
        ("closing", "Closing balance"))


def _month() -> str:
    """``?month=`` or, by default, the last complete month."""
    asked = request.args.get("month")
    if asked is None:
        return (clock().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return asked


@finance.get("/liability")
@requires("finance.view")
def liability():
    """The report for the month in the query (default: last month)."""
    month = _month()
    try:
        report = reports.liability(month, clock())
    except CentralError as error:
        if error.code != "bad_query":
            raise
        return render_template("liability.html", month=month, report=None, problems={"month": error.message},
                               rows=ROWS), 400
    stores = [item for item in report["by_store"] if any(item[figure] for figure, _ in ROWS)]
    chart = {
        "stores": charts.bar_chart("Closing balance by shop", [item["store"] or "central" for item in stores],
                                   [("closing points", [item["closing"] for item in stores])],
                                   f"Points outstanding at {report['to']} per shop where they were earned or spent"),
        "ageing": charts.hbar_chart("Outstanding points by age", [(f"earned {item['age']} ago", item["points"])
                                                                  for item in report["outstanding"]["ageing"]],
                                    "Points outstanding today by how long ago they were earned"),
    }
    return render_template("liability.html", month=report["month"], report=report, problems={}, rows=ROWS,
                           chart=chart)


@finance.get("/liability.csv")
@requires("finance.view")
def liability_csv():
    """The same report as a CSV file (one row per shop, then the reconciliation and the position)."""
    report = reports.liability(_month(), clock())
    response = Response("\ufeff" + reports.liability_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="liability-{report["month"]}.csv"'
    return response
