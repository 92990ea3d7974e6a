"""The exceptions queue (``/exceptions``): overdrafts, forks, mismatches, card conflicts; resolve with a note."""

from __future__ import annotations

import json

from flask import redirect, render_template, request, url_for

from .. import db
from .. import exceptions as queue
from ..web import clock, int_path
from .web import actor, area, csv_response, notify, paginate, requires, shown

exceptions = area("ui_exceptions", url_prefix="/exceptions")

STATUSES = ("open", "resolved", "all")


def _filters() -> dict[str, str]:
    status = request.args.get("status", "open")
    return {"status": status if status in STATUSES else "open",
            "kind": request.args.get("kind", "").strip()[:40],
            "store": request.args.get("store", "").strip()[:16]}


def _where(filters: dict[str, str]) -> tuple[str, list[str]]:
    clauses, params = [], []
    if filters["status"] != "all":
        clauses.append("status = ?")
        params.append(filters["status"])
    if filters["kind"]:
        clauses.append("kind = ?")
        params.append(filters["kind"])
    if filters["store"]:
        clauses.append("store_code = ?")
        params.append(filters["store"])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _search(filters: dict[str, str], limit: int, offset: int) -> list[dict]:
    where, params = _where(filters)
    return [shown(item) for item in queue.search(where, params, limit, offset)]


def _count(filters: dict[str, str]) -> int:
    where, params = _where(filters)
    return db.rows(f"SELECT COUNT(*) FROM conflict{where}", params)[0][0]


def _kinds() -> list[tuple[str, int]]:
    return [(kind, n) for kind, n in db.rows("SELECT kind, COUNT(*) FROM conflict WHERE status = 'open' "
                                             "GROUP BY kind ORDER BY kind")]


@exceptions.get("/")
@requires("exceptions.view")
def index():
    """The queue, newest first, filtered by status, kind and shop; open counts per kind."""
    filters = _filters()
    page = paginate(lambda limit, offset: _search(filters, limit, offset), _count(filters))
    csv_url = url_for("ui_exceptions.export", **{k: v for k, v in filters.items() if v})
    return render_template("exceptions.html", page=page, filters=filters, kinds=_kinds(), csv_url=csv_url,
                           statuses=STATUSES, problems={})


@exceptions.get("/exceptions.csv")
@requires("exceptions.view")
def export():
    """The filtered queue as CSV."""
    filters = _filters()
    total = _count(filters)
    items = _search(filters, total or 1, 0)
    rows = ((i["id"], i["kind"], i["status"], i["store"], i["device_id"], i["seq"], i["customer_id"],
             i["created_at"], json.dumps(i["details"], sort_keys=True), i["resolved_at"], i["resolution"])
            for i in items)
    return csv_response("exceptions.csv", ("id", "kind", "status", "store", "device", "seq", "customer",
                                           "created_at", "details", "resolved_at", "resolution"), rows)


@exceptions.get("/<exception_id>")
@requires("exceptions.view")
def detail(exception_id: str):
    """One exception with all its context, and the form to resolve it."""
    number = int_path(exception_id, code="exception_not_found", what="exception")
    return render_template("exception.html", item=shown(queue.get_exception(number)), problems={})


@exceptions.post("/<exception_id>/resolve")
@requires("exceptions.resolve")
def resolve(exception_id: str):
    """Close the exception with a note of what was done (the note is mandatory)."""
    number = int_path(exception_id, code="exception_not_found", what="exception")
    note = request.form.get("note", "").strip()
    if not note or len(note) > 2000:
        return render_template("exception.html", item=shown(queue.get_exception(number)),
                               problems={"note": "say what was done about it (1-2000 characters)"}), 422
    queue.resolve(number, note, clock(), actor=actor())
    notify(f"Exception #{number} resolved.")
    return redirect(url_for("ui_exceptions.detail", exception_id=number), 303)
