"""Rules, tiers and rewards (``/rules``): edit as a form or as JSON, preview, publish, history with a diff."""

from __future__ import annotations

from flask import render_template

from .. import rules as rulebook
from .web import area, requires

rules = area("ui_rules", url_prefix="/rules")


@rules.get("/")
@requires("rules.view")
def index():
    """Published versions, newest first."""
    return render_template("rules_history.html", versions=list(reversed(rulebook.list_versions())))
