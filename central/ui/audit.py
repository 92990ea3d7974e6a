"""The audit log page (``/audit``): who changed what, filterable, paginated, exported as CSV."""

from __future__ import annotations

import json

from flask import render_template, request, url_for

from .. import audit as auditlog
from .web import area, csv_response, paginate, requires

audit = area("ui_audit", url_prefix="/audit")


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:300] for name in auditlog.FILTERS}


@audit.get("/")
@requires("audit.view")
def index():
    """The newest lines first, ``PAGE_SIZE`` a page; filters are exact matches."""
    filters = _filters()
    page = paginate(lambda limit, offset: auditlog.search(filters, limit, offset), auditlog.count(filters))
    csv_url = url_for("ui_audit.export", **{k: v for k, v in filters.items() if v})
    return render_template("audit.html", page=page, filters=filters, csv_url=csv_url)


@audit.get("/audit.csv")
@requires("audit.view")
def export():
    """Every matching line as CSV, newest first."""
    filters = _filters()
    rows = ((line.id, line.at, line.actor, line.action, line.target,
             json.dumps(line.before, sort_keys=True) if line.before is not None else "",
             json.dumps(line.after, sort_keys=True) if line.after is not None else "")
            for line in auditlog.every(filters))
    return csv_response("audit.csv", ("id", "at", "actor", "action", "target", "before", "after"), rows)
