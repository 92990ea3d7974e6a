"""Rules, tiers and rewards (``/rules``): edit as a form or as JSON, preview, publish, history with a diff.

Publishing goes through ``central.rules.publish`` like the API and the command line: the
same checks (every problem listed, per-item points only on the 1st of a month), the same
signature and feed item, and an audit line naming the user.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from flask import redirect, render_template, request, url_for

from shared.rules import parse_rules
from shared.times import format_time
from sync.refusal import parse_body

from .. import rules as rulebook
from ..errors import CentralError
from ..web import clock, int_path, state
from . import rules_form
from .web import actor, area, notify, requires

rules = area("ui_rules", url_prefix="/rules")

SAMPLE_BASKET = "A1 2 1250\nBAG1 1 3000"


def _status(versions: list[dict[str, Any]]) -> dict[int, str]:
    """``in force``, ``scheduled`` or ``superseded`` for each version, at the app's clock."""
    now = format_time(clock())
    started = [v for v in versions if v["effective_from"] <= now]
    current = max(started, key=lambda v: (v["effective_from"], v["version"]))["version"] if started else None
    return {v["version"]: "in force" if v["version"] == current else "scheduled" if v["effective_from"] > now
            else "superseded" for v in versions}


@rules.get("/")
@requires("rules.view")
def index():
    """Every published version, newest first, with what is in force now."""
    versions = rulebook.list_versions()
    return render_template("rules_history.html", versions=list(reversed(versions)), status=_status(versions))


def _version(number: int, versions: list[dict[str, Any]]) -> dict[str, Any]:
    found = next((v for v in versions if v["version"] == number), None)
    if found is None:
        raise CentralError(404, "rules_version_not_found", f"no rules version {number}")
    return found


def diff_lines(old: Any, new: Any) -> list[tuple[str, str]]:
    """A line diff of two documents as ``(kind, text)``; kind is ``add``, ``del``, ``hunk`` or ``same``."""
    # Sorted keys: two versions written in different key orders differ only where values do.
    before = json.dumps(old, indent=2, sort_keys=True, ensure_ascii=False).splitlines() if old is not None else []
    after = json.dumps(new, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    kinds = {"+": "add", "-": "del", "@": "hunk", " ": "same"}
    return [(kinds[line[0]], line) for line in difflib.unified_diff(before, after, "before", "after", n=2,
                                                                     lineterm="")
            if not line.startswith(("+++", "---"))]


@rules.get("/<number>")
@requires("rules.view")
def version(number: str):
    """One version: its tiers and rewards, its document, and what changed from the one before."""
    versions = rulebook.list_versions()
    item = _version(int_path(number, code="rules_version_not_found", what="rules version"), versions)
    previous = next((v for v in reversed(versions) if v["version"] < item["version"]), None)
    return render_template("rules_version.html", item=item, status=_status(versions)[item["version"]],
                           previous=previous, diff=diff_lines(previous and previous["document"], item["document"]),
                           form=rules_form.form_from_document(item["document"]), pretty=rules_form.pretty)


def _editor(form: dict[str, str], *, json_text: str | None = None, problems: list[dict] | None = None,
            result: Any = None, status: int = 200, mode: str = "form"):
    field_names = set(form) | {f"tiers[{i}].{f}" for i in range(rules_form.row_count(form, "tiers"))
                               for f, _ in rules_form.TIER_FIELDS} \
        | {f"rewards[{i}].{f}" for i in range(rules_form.row_count(form, "rewards")) for f, _ in rules_form.REWARD_FIELDS}
    placed, loose = rules_form.place_problems(problems or [], field_names)
    if mode == "json":
        placed, loose = {}, problems or []
    tiers = [(form.get(f"tiers[{i}].name") or "") for i in range(rules_form.row_count(form, "tiers"))]
    return render_template(
        "rules_edit.html", form=form, problems=placed, loose=loose, mode=mode, result=result,
        json_text=json_text if json_text is not None else rules_form.pretty(rules_form.document_from_form(form)),
        tier_rows=rules_form.row_count(form, "tiers"), reward_rows=rules_form.row_count(form, "rewards"),
        tier_names=[name for name in tiers if name], f=rules_form,
        sample=request.form.get("sample.lines", SAMPLE_BASKET), sample_tier=request.form.get("sample.tier", ""),
        sample_points=request.form.get("sample.points_paid", "0")), status


@rules.get("/new")
@requires("rules.view")
def new():
    """The editor, filled from ``?from=N`` or the latest version (or the defaults before any)."""
    versions = rulebook.list_versions()
    base = _version(int_path(request.args["from"], code="rules_version_not_found", what="rules version"), versions) \
        if request.args.get("from") else (versions[-1] if versions else None)
    document = dict(base["document"]) if base else {}
    document.pop("effective_from", None)  # a new version starts when its author says
    return _editor(rules_form.form_from_document(document))[0]


def _submitted() -> tuple[str, dict[str, str], Any, list[dict], str | None]:
    """``(mode, form values, document, problems reading it, json text)`` from either editor."""
    if request.form.get("mode") == "json":
        text = request.form.get("document", "")
        try:
            document = parse_body(text.encode("utf-8"), "the document")
        except CentralError as error:
            return "json", {}, None, [{"path": "$", "message": error.message}], text
        form = rules_form.form_from_document(document) if isinstance(document, dict) else {}
        return "json", form, document, [], text
    form = {key: value for key, value in request.form.items() if key != "csrf_token"}
    return "form", form, rules_form.document_from_form(form), [], None


def _check(document: Any) -> list[dict]:
    _, problems = rulebook.check_document(document, rulebook.published_schedule(), clock())
    return [p.as_dict() for p in problems]


def _sample(document: Any) -> dict[str, Any]:
    ruleset, _ = parse_rules(document)
    lines, problems = rules_form.read_basket(request.form.get("sample.lines", ""))
    points = request.form.get("sample.points_paid", "0").strip() or "0"
    if not points.isdigit():
        problems.append("points paid must be a whole number")
    if problems or ruleset is None:
        return {"problems": problems}
    return {"preview": rules_form.preview(ruleset, lines, request.form.get("sample.tier") or None, int(points))}


@rules.post("/preview")
@requires("rules.view")
def preview():
    """Check the edited document, list every problem, and price the sample basket under it."""
    mode, form, document, problems, text = _submitted()
    problems = problems or _check(document)
    result = _sample(document) if not problems else None
    return _editor(form, json_text=text, problems=problems, result=result, mode=mode,
                   status=422 if problems else 200)


@rules.post("/publish")
@requires("rules.publish")
def publish():
    """Publish the edited document as the next version, in effect from its ``effective_from``."""
    mode, form, document, problems, text = _submitted()
    if problems:
        return _editor(form, json_text=text, problems=problems, mode=mode, status=422)
    try:
        item = rulebook.publish(document, state().key, clock(), actor=actor())
    except CentralError as error:
        if error.code != "invalid_rules":
            raise
        return _editor(form, json_text=text, problems=error.details["problems"], mode=mode, status=422)
    notify(f"Rules version {item['version']} published, in effect from {item['effective_from']}.")
    return redirect(url_for("ui_rules.version", number=item["version"]), 303)
