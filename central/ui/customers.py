"""Customers (``/customers``): search, a customer's page with balance and activity, and care.

Support corrects points with a mandatory reason, sets and locks a tier, replaces a lost card
and merges a duplicate after a review screen. Each form goes through the same services as the
JSON API (``central.care``): the same checks, a signed act, an audit line naming the user and
the feed items that tell every edge. A problem is shown next to its field and writes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from flask import redirect, render_template, request, url_for

from sync.bodies import usable_key
from sync.declared import Body, BodyProblems, read

from .. import activity, care, settings, vip
from .. import customers as records
from .. import rules as rulebook
from ..db import rows
from ..errors import CentralError
from ..search import MAX_MATCHES, MAX_QUERY, find
from ..web import clock, state
from .web import Page, actor, area, csv_response, notify, page_number, requires, shown

pages = area("ui_customers", url_prefix="/customers")

FIELD_OF = {"insufficient_points": "points", "unknown_tier": "tier", "card_in_use": "card_number",
            "card_blocked": "card_number"}
"""Which form field a refusal from ``central.care`` belongs next to."""


_POINTS = re.compile(r"-?[0-9]{1,10}")


def money(minor: int | None) -> str:
    """Minor units as the brand's money, ``12.50`` (integers only, never a float)."""
    if minor is None:
        return ""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100:,}.{abs(minor) % 100:02d}"


# --- search ---------------------------------------------------------------------------------


def _query() -> tuple[str, dict[str, str]]:
    query = request.args.get("q", "")
    if query and (not query.strip() or not usable_key(query, MAX_QUERY)):
        return "", {"q": f"type 1-{MAX_QUERY} characters: a card, an e-mail, a phone or a name"}
    return query.strip(), {}


@pages.get("/")
@requires("customers.view")
def search():
    """Search by card (an old one too), e-mail, phone or the start of a name; 50 a page."""
    query, problems = _query()
    found = {"items": [], "total": 0, "truncated": False}
    number = page_number()
    if query:
        found = find(query, clock(), settings.PAGE_SIZE, (number - 1) * settings.PAGE_SIZE)
    page = Page([shown(item) for item in found["items"]], number, settings.PAGE_SIZE, found["total"])
    csv_url = url_for("ui_customers.export", q=query) if query else None
    return render_template("customers.html", query=query, page=page, truncated=found["truncated"],
                           csv_url=csv_url, problems=problems), 400 if problems else 200


@pages.get("/customers.csv")
@requires("customers.view")
def export():
    """The search's matches as CSV (at most ``MAX_MATCHES``)."""
    query, problems = _query()
    if not query or problems:
        raise CentralError(400, "bad_query", "give a search: ?q=card, e-mail, phone or name")
    found = find(query, clock(), MAX_MATCHES, 0)
    rows_ = ((c["id"], c["card_number"], c["first_name"], c["last_name"], c["email"], c["phone"], c["tier"],
              c["tier_locked"], c["points"]["available"], c["points"]["pending"], c["created_at"])
             for c in map(shown, found["items"]))
    return csv_response("customers.csv", ("id", "card_number", "first_name", "last_name", "email", "phone", "tier",
                                          "tier_locked", "available", "pending", "enrolled_at"), rows_)


# --- one customer ---------------------------------------------------------------------------


def _describe(item: dict[str, Any]) -> str:
    """One activity line in words."""
    kind, details = item["kind"], item["details"]
    sale = f", sale {item['sale_id'][:8]} of {money(item['sale_total'])}" if item["sale_id"] else ""
    where = f" at {item['store']}" if item["store"] else ""
    if kind == "enrolment":
        if details.get("merged_customer"):
            return f"Duplicate {details['name']} enrolled{where} (merged in later)"
        return f"Enrolled{where}"
    if kind in ("earn", "spend", "return"):
        return {"earn": "Earned", "spend": "Spent", "return": "Returned"}[kind] + where + sale
    if kind == "adjustment":
        return f"Correction by {details.get('actor', '?')}: {details.get('reason', '')}"
    if kind == "tier":
        lock = " and locked" if details.get("locked") else ""
        return f"Tier set to {details.get('tier')}{lock} by {details.get('actor', '?')} (was {details.get('previous')})"
    if kind == "card":
        return f"Card {details.get('blocked')} blocked as lost; new card {details.get('card_number')}"
    if kind == "merge":
        card = details.get("absorbed_card")
        return f"Duplicate {details.get('absorbed')}{f' (card {card})' if card else ''} merged into this customer"
    return kind


def masked(code: str) -> str:
    """A card's code as the page shows it: only its last 4 characters (``••••••••••••2345``)."""
    return "•" * max(len(code) - 4, 0) + code[-4:]


def _lines(customer_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
    return [{**item, "text": _describe(item)} for item in activity.feed(customer_id, limit, offset)["items"]]


def _detail(customer_id: str, problems: dict[str, str] | None = None, values: dict[str, str] | None = None,
            status: int = 200, review: dict | None = None):
    now = clock()
    customer = shown(records.get(customer_id, now))
    total = activity.count(customer["id"])
    number = min(page_number(), max(1, -(-total // settings.PAGE_SIZE)))
    page = Page(_lines(customer["id"], settings.PAGE_SIZE, (number - 1) * settings.PAGE_SIZE), number,
                settings.PAGE_SIZE, total)
    rules = rulebook.in_force(now)
    blocked = rows("SELECT card_number, at FROM retiredcard WHERE customer_id = ? AND status = 'blocked' "
                   "ORDER BY at DESC", (customer["id"],))
    vip_cards = [{**card, "code": masked(card["code"])} for card in vip.cards_of(customer["id"], now)]
    return render_template(
        "customer.html", customer=customer, page=page, vip_cards=vip_cards,
        tier_options=[(tier.name, tier.name) for tier in rules.tiers] if rules else [],
        blocked_cards=blocked, problems=problems or {}, values=values or {}, review=review,
        csv_url=url_for("ui_customers.activity_export", customer_id=customer["id"])), status


@pages.get("/<customer_id>")
@requires("customers.view")
def detail(customer_id: str):
    """The customer: details, balance (available, pending, negative), tier, wallet, points due to
    expire, VIP cards, activity, care forms."""
    kept = records.get(customer_id, clock())["id"]
    if kept != customer_id:  # merged into another: that one is this person now
        notify("That customer was merged into this one.")
        return redirect(url_for("ui_customers.detail", customer_id=kept), 303)
    return _detail(customer_id)


@pages.get("/<customer_id>/activity.csv")
@requires("customers.view")
def activity_export(customer_id: str):
    """The whole activity feed as CSV."""
    kept = records.get(customer_id, clock())["id"]
    total = activity.count(kept)
    lines = _lines(kept, max(total, 1), 0)
    return csv_response(f"activity-{kept}.csv", ("at", "kind", "points", "store", "sale_id", "sale_total", "what"),
                        ((i["at"], i["kind"], i["points"], i["store"], i["sale_id"], i["sale_total"], i["text"])
                         for i in lines))


# --- care -----------------------------------------------------------------------------------


def _read(model: type[Body], data: dict[str, Any], problems: dict[str, str]) -> Any:
    """``data`` as ``model``; every problem goes next to its field instead."""
    try:
        return read(model, data)
    except BodyProblems as exc:
        for problem in exc.problems:
            problems.setdefault(problem["path"], problem["message"])
        return None


def _refused(customer_id: str, error: CentralError, values: dict[str, str]):
    """A refusal the form can show next to its field; anything else is an error page."""
    field = FIELD_OF.get(error.code)
    if field is None:
        raise error
    return _detail(customer_id, {field: error.message}, values, 422)


@pages.post("/<customer_id>/adjust")
@requires("customers.change")
def adjust(customer_id: str):
    """A manual correction with its mandatory reason: a signed ledger movement, never an edit."""
    values = {"points": request.form.get("points", "").strip(), "reason": request.form.get("reason", "")}
    problems: dict[str, str] = {}
    points = int(values["points"]) if _POINTS.fullmatch(values["points"]) else None
    if points is None:
        problems["points"] = "a whole number of points: 50 adds, -20 takes away"
    if not values["reason"].strip():
        problems["reason"] = "say why the points change: the reason is kept with the correction"
    body = _read(care.Adjustment, {"points": points, "reason": values["reason"]}, problems)
    if problems:
        return _detail(customer_id, problems, values, 422)
    try:
        made = care.adjust(customer_id, body, actor(), state().key, clock())
    except CentralError as error:
        return _refused(customer_id, error, values)
    notify(f"Correction of {made['points']:+d} points made ({made['reason']}); "
           f"{made['customer']['points']['available']} points available now.")
    return redirect(url_for("ui_customers.detail", customer_id=customer_id), 303)


@pages.post("/<customer_id>/tier")
@requires("customers.change")
def set_tier(customer_id: str):
    """Set the tier, locked against central's decision when the box is ticked."""
    values = {"tier": request.form.get("tier", ""), "locked": request.form.get("locked", "")}
    problems: dict[str, str] = {}
    body = _read(care.TierChoice, {"tier": values["tier"], "locked": values["locked"] == "1"}, problems)
    if problems:
        return _detail(customer_id, problems, values, 422)
    try:
        changed = care.set_tier(customer_id, body, actor(), state().key, clock())
    except CentralError as error:
        return _refused(customer_id, error, values)
    notify(f"Tier set to {changed['tier']}{' and locked' if changed['tier_locked'] else ''}.")
    return redirect(url_for("ui_customers.detail", customer_id=customer_id), 303)


@pages.post("/<customer_id>/card")
@requires("customers.change")
def replace_card(customer_id: str):
    """A lost card: block it everywhere and give the customer the new one."""
    values = {"card_number": request.form.get("card_number", "").strip()}
    problems: dict[str, str] = {}
    body = _read(care.NewCard, values, problems)
    if problems:
        return _detail(customer_id, problems, values, 422)
    old = records.get(customer_id, clock())["card_number"]
    try:
        changed = care.replace_card(customer_id, body, actor(), state().key, clock())
    except CentralError as error:
        return _refused(customer_id, error, values)
    notify(f"Card {old} is blocked; the new card is {changed['card_number']}."
           if old and old != changed["card_number"] else f"The card is {changed['card_number']}.")
    return redirect(url_for("ui_customers.detail", customer_id=customer_id), 303)


def _duplicate(text: str) -> dict[str, Any] | None:
    """The customer a card number or an id names, or None."""
    now = clock()
    for find in (records.by_card, records.get):
        try:
            return find(text, now)
        except CentralError:
            continue
    return None


@pages.get("/<customer_id>/merge")
@requires("customers.change")
def merge_review(customer_id: str):
    """The review screen: both customers side by side and what the merge will do."""
    text = request.args.get("absorb", "").strip()
    kept = records.get(customer_id, clock())
    absorbed = _duplicate(text) if usable_key(text) else None
    if absorbed is None or absorbed["id"] == kept["id"]:
        problem = ("that is this customer: give the duplicate's card number" if absorbed is not None
                   else "no customer has this card number or id")
        return _detail(customer_id, {"absorb": problem}, {"absorb": text}, 422)
    sides = [{**shown(who), "activity": activity.count(who["id"])} for who in (kept, absorbed)]
    return render_template("customer_merge.html", kept=sides[0], absorbed=sides[1],
                           total={k: kept["points"][k] + absorbed["points"][k] for k in ("available", "pending")})


@pages.post("/<customer_id>/merge")
@requires("customers.change")
def merge(customer_id: str):
    """Merge the reviewed duplicate into this customer."""
    problems: dict[str, str] = {}
    body = _read(care.Merge, {"keep": customer_id, "absorb": request.form.get("absorb", "")}, problems)
    if problems:
        return _detail(customer_id, {"absorb": "; ".join(problems.values())}, {}, 422)
    absorbed = records.get(body.absorb, clock())
    kept = care.merge(body, actor(), state().key, clock())
    notify(f"{absorbed['first_name']} {absorbed['last_name']} ({absorbed['card_number'] or 'no card'}) merged into "
           f"this customer; {kept['points']['available']} points available now.")
    return redirect(url_for("ui_customers.detail", customer_id=kept["id"]), 303)
