"""The rules editor's form: a rules document as form fields and back, problems placed by field.

Form field names are the document's own JSON paths (``earn.rate``, ``tiers[1].threshold``), so
a problem ``shared.rules.parse_rules`` reports lands next to the field it is about. What a
person types stays as typed when it is not a number: the document check then names it
("must be an integer") instead of the form guessing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from shared.engine import Line, earn, tier_discounts
from shared.rules import DEFAULT_DOCUMENT, RuleSet

BLANK_ROWS = 2
"""Empty tier and reward rows the form offers for adding new ones."""
REDEEM_FIELDS = (("point_value", "Point value (minor units one point is worth)"),
                 ("max_share_percent", "Most of a sale payable with points (%)"),
                 ("min_balance", "Balance needed to start redeeming (points)"),
                 ("offline_cap", "Most points one customer may spend offline at one shop"))
TIER_FIELDS = (("name", "Name"), ("threshold", "Threshold (qualifying spend, minor units)"),
               ("discount_percent", "Discount %"), ("extra_earn_percent", "Extra earn %"))
REWARD_FIELDS = (("sku", "SKU"), ("name", "Name"), ("cost", "Cost (points)"))
_INTEGER = re.compile(r"-?\d{1,18}")
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def _number(text: str) -> Any:
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else text


def _effective_from(text: str) -> str | None:
    # A datetime-local input gives "2027-01-01T00:00": the form says it is UTC.
    text = text.strip()
    if not text:
        return None
    if _LOCAL_TIME.fullmatch(text):
        return text + (":00Z" if text.count(":") == 1 else "Z")
    return text


def document_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The rules document the form describes (not yet checked)."""
    get = lambda name: (form.get(name) or "").strip()  # noqa: E731
    document: dict[str, Any] = {}
    effective_from = _effective_from(get("effective_from"))
    if effective_from:
        document["effective_from"] = effective_from
    per_item: dict[str, Any] = {}
    for number, line in enumerate(get("earn.per_item").splitlines(), start=1):
        if line.strip():
            sku, _, points = line.partition("=")
            per_item[sku.strip() or f"line {number}"] = _number(points) if points.strip() else points
    document["earn"] = {
        "rate": get("earn.rate"),
        "exclude_discounted": form.get("earn.exclude_discounted") == "1",
        "exclude_categories": [c.strip() for c in get("earn.exclude_categories").split(",") if c.strip()],
        "per_item": per_item,
    }
    kind = get("accrual.kind") if get("accrual.kind") in ("delay_days", "day_of_next_month") else "delay_days"
    document["accrual"] = {kind: _number(get("accrual.value") or "0")}
    document["expiry"] = {"policy": get("expiry.policy")}
    if get("expiry.policy") == "after_days" or get("expiry.days"):
        document["expiry"]["days"] = _number(get("expiry.days"))
    document["redeem"] = {name: _number(get(f"redeem.{name}")) for name, _ in REDEEM_FIELDS
                          if get(f"redeem.{name}")}
    document["redeem"]["require_cash_line"] = form.get("redeem.require_cash_line") == "1"
    document["tiers"] = _rows(form, "tiers", TIER_FIELDS, numbers=("threshold", "discount_percent",
                                                                    "extra_earn_percent"))
    document["tier_qualification"] = {"period": get("tier_qualification.period") or "lifetime"}
    document["rewards"] = _rows(form, "rewards", REWARD_FIELDS, numbers=("cost",))
    document["one_reward_per_sale"] = form.get("one_reward_per_sale") == "1"
    return document


def _rows(form: Mapping[str, str], name: str, fields: tuple, numbers: tuple) -> list[dict[str, Any]]:
    rows = []
    indexes = sorted({int(m.group(1)) for key in form if (m := re.fullmatch(rf"{name}\[(\d{{1,3}})\]\.\w+", key))})
    for index in indexes:
        values = {field: (form.get(f"{name}[{index}].{field}") or "").strip() for field, _ in fields}
        if not any(values.values()):
            continue  # an unused blank row
        rows.append({field: _number(value) if field in numbers and value else value
                     for field, value in values.items() if value or field not in numbers})
    return rows


def form_from_document(document: Mapping[str, Any]) -> dict[str, str]:
    """The form's field values for ``document`` (the inverse of ``document_from_form``)."""
    full = {**DEFAULT_DOCUMENT, **{k: v for k, v in document.items() if isinstance(v, (dict, list, bool, str))}}
    section = lambda key: full.get(key) if isinstance(full.get(key), dict) else {}  # noqa: E731
    earn_, accrual, expiry, redeem = section("earn"), section("accrual"), section("expiry"), section("redeem")
    form: dict[str, str] = {}
    start = document.get("effective_from")
    form["effective_from"] = start[:16] if isinstance(start, str) and start.endswith("Z") else (start or "")
    form["earn.rate"] = str(earn_.get("rate", ""))
    form["earn.exclude_discounted"] = "1" if earn_.get("exclude_discounted") else ""
    categories = earn_.get("exclude_categories") or []
    form["earn.exclude_categories"] = ", ".join(map(str, categories)) if isinstance(categories, list) else ""
    per_item = earn_.get("per_item") or {}
    form["earn.per_item"] = "\n".join(f"{sku} = {points}" for sku, points in per_item.items()) \
        if isinstance(per_item, dict) else ""
    kind = "day_of_next_month" if "day_of_next_month" in accrual else "delay_days"
    form["accrual.kind"], form["accrual.value"] = kind, str(accrual.get(kind, 0))
    form["expiry.policy"] = str(expiry.get("policy", "never"))
    form["expiry.days"] = str(expiry.get("days", ""))
    for name, _ in REDEEM_FIELDS:
        form[f"redeem.{name}"] = str(redeem.get(name, DEFAULT_DOCUMENT["redeem"][name]))
    form["redeem.require_cash_line"] = "1" if redeem.get("require_cash_line") else ""
    form["tier_qualification.period"] = str(section("tier_qualification").get("period", "lifetime"))
    for name, fields in (("tiers", TIER_FIELDS), ("rewards", REWARD_FIELDS)):
        rows = full.get(name) if isinstance(full.get(name), list) else []
        for index, row in enumerate(rows):
            for field, _ in fields:
                form[f"{name}[{index}].{field}"] = str(row.get(field, "")) if isinstance(row, dict) else ""
    form["one_reward_per_sale"] = "1" if full.get("one_reward_per_sale", True) else ""
    return form


def row_count(form: Mapping[str, str], name: str) -> int:
    """How many rows of ``name`` (tiers, rewards) the form shows: the filled ones plus blanks."""
    indexes = [int(m.group(1)) for key in form if (m := re.fullmatch(rf"{name}\[(\d+)\]\.\w+", key))]
    return (max(indexes) + 1 if indexes else 0) + BLANK_ROWS


def field_for(path: str, form_fields: set[str]) -> str | None:
    """The form field a problem at JSON ``path`` belongs next to; None for the summary above."""
    if path.startswith("earn.per_item"):
        return "earn.per_item"
    if path.startswith("earn.exclude_categories"):
        return "earn.exclude_categories"
    if path == "accrual" or path.startswith("accrual."):
        return "accrual.value"
    return path if path in form_fields or path in ("tiers", "rewards") else None


def place_problems(problems: list[dict[str, str]], form_fields: set[str]) -> tuple[dict[str, str], list[dict]]:
    """``({field: message}, [problems with no field of their own])``; several on one field are joined."""
    placed: dict[str, str] = {}
    loose = []
    for problem in problems:
        field = field_for(problem["path"], form_fields)
        if field is None:
            loose.append(problem)
        else:
            text = problem["message"] if field == problem["path"] else f"{problem['path']}: {problem['message']}"
            placed[field] = f"{placed[field]}; {text}" if field in placed else text
    return placed, loose


def pretty(document: Any) -> str:
    """The document as the JSON editor and the history show it."""
    return json.dumps(document, indent=2, ensure_ascii=False)


# --- the sample basket -------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What the sample basket earns under the edited rules."""

    total: int
    tier_discount: int
    eligible: int
    spend_points: int
    item_points: int
    tier_points: int

    @property
    def points(self) -> int:
        return self.spend_points + self.item_points + self.tier_points


def read_basket(text: str) -> tuple[list[Line], list[str]]:
    """Lines typed as ``SKU QTY UNIT_PRICE [CATEGORY]`` (prices in minor units); problems by line."""
    lines, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) not in (3, 4) or not parts[1].isdigit() or not parts[2].isdigit() or int(parts[1]) < 1:
            problems.append(f"line {number}: write SKU QTY UNIT_PRICE [CATEGORY], e.g. A1 2 1250")
            continue
        lines.append(Line(parts[0], int(parts[1]), int(parts[2]), 0, parts[3] if len(parts) == 4 else None))
    if not lines and not problems:
        problems.append("give at least one line")
    return lines, problems


def preview(rules: RuleSet, lines: list[Line], tier_name: str | None, points_paid: int) -> Preview:
    """Price ``lines`` for a customer of ``tier_name`` paying ``points_paid`` points (``shared.engine``)."""
    tier = rules.tier(tier_name) if tier_name else None
    discount = sum(tier_discounts(lines, tier))
    earning = earn(lines, points_paid * rules.point_value, rules, tier)
    total = sum(line.total for line in lines) - discount
    return Preview(total, discount, earning.eligible_amount, earning.spend_points, earning.item_points,
                   earning.tier_points)
