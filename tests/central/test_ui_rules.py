"""The rules editor: form and JSON, problems next to their fields, preview, publish, history, diff."""

from __future__ import annotations

import html
import json
import re

from conftest import DEMO_RULES as DEMO_RULES_FILE
from central.models import RulesVersion
from central.ui import rules_form

DEMO_RULES = json.loads(DEMO_RULES_FILE.read_text())


def _form_of(document: dict, **changes: str) -> dict[str, str]:
    form = rules_form.form_from_document(document)
    form.update(changes)
    return form


def test_the_form_reads_back_the_document_it_shows():
    document = {**DEMO_RULES, "expiry": {"policy": "after_days", "days": 365}, "accrual": {"day_of_next_month": 5},
                "tier_qualification": {"period": "rolling_12_months"}}
    rebuilt = rules_form.document_from_form(rules_form.form_from_document(document))
    assert rebuilt == {**document, "redeem": {**document["redeem"]}}


def test_the_editor_starts_from_the_version_in_force(central, person):
    central.publish()
    page = person("marketing").text("/rules/new")
    assert 'name="earn.rate" type="text" value="0.1"' in page
    assert 'value="Silver"' in page and 'value="Tote bag"' in page
    for label_for in ("effective_from", "earn-rate", "tiers-1-threshold", "rewards-0-cost", "document", "sample-lines"):
        assert f'<label for="{label_for}">' in page, label_for


def test_every_problem_is_shown_next_to_its_field_and_nothing_is_published(central, person):
    marketing = person("marketing")
    form = _form_of(DEMO_RULES, **{"earn.rate": "lots", "tiers[1].threshold": "-5", "rewards[0].cost": "0",
                                   "redeem.max_share_percent": "150"})
    answer = marketing.post("/rules/publish", form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for field, message in (("earn-rate", "must be a non-negative decimal string"),
                           ("tiers-1-threshold", "must be at least 0"), ("rewards-0-cost", "must be at least 1"),
                           ("redeem-max_share_percent", "must be between 0 and 100")):
        found = re.search(rf'<input id="{field}"[^>]*aria-invalid="true"[^>]*>\s*(?:<p class="help"[^<]*</p>\s*)?'
                          rf'<p class="problem" id="{field}-problem">([^<]*)</p>', page)
        assert found and message in html.unescape(found.group(1)), field
    assert RulesVersion.select().count() == 0


def test_a_preview_prices_the_sample_basket_under_the_edited_rules(central, person):
    form = _form_of(DEMO_RULES, **{"earn.rate": "0.2", "sample.lines": "A1 2 1250\nBAG1 1 3000",
                                   "sample.tier": "Silver", "sample.points_paid": "0"})
    page = person("support").post("/rules/preview", form).get_data(as_text=True)
    # 5500 less Silver's 5 % (275) = 5225 eligible: 0.2 per 1.00 → 10, BAG1 → 5, Silver's 1 % → 5225 // 1000 = 5.
    assert "This basket earns 20 points" in page
    assert RulesVersion.select().count() == 0


def test_marketing_publishes_a_future_version_and_the_history_shows_its_diff(central, person):
    central.publish()
    marketing = person("marketing")
    form = _form_of(DEMO_RULES, **{"earn.rate": "0.2", "effective_from": "2099-03-01T00:00"})
    answer = marketing.post("/rules/publish", form)
    assert answer.status_code == 303 and answer.headers["Location"] == "/rules/2"
    page = marketing.text("/rules/2")
    assert "Rules version 2 published, in effect from 2099-03-01T00:00:00.000Z" in page
    assert re.search(r'id="state">scheduled<', page)
    assert '<span class="del">-    &#34;rate&#34;: &#34;0.1&#34;</span>' in page
    assert '<span class="add">+    &#34;rate&#34;: &#34;0.2&#34;</span>' in page
    history = marketing.text("/rules/")
    assert history.index("Version 2") < history.index("Version 1")
    assert "in force" in history and "scheduled" in history
    assert central.api("GET", "/api/v1/rules").json[-1]["document"]["earn"]["rate"] == "0.2"
    audit = person("auditor").text("/audit/?action=rules.publish")
    assert "user:marketing@example.com" in audit and "rules:2" in audit


def test_the_json_editor_publishes_and_names_each_problem_by_path(central, person):
    marketing = person("marketing")
    bad = marketing.post("/rules/publish", {"mode": "json", "document": '{"earn": {"rate": 1}, "colour": "red"}'})
    page = html.unescape(bad.get_data(as_text=True))
    assert bad.status_code == 422
    assert "<code>colour</code>: unknown field" in page and "<code>earn.rate</code>" in page
    broken = marketing.post("/rules/preview", {"mode": "json", "document": '{"earn": '})
    assert broken.status_code == 422 and "not valid JSON" in broken.get_data(as_text=True)
    good = marketing.post("/rules/publish", {"mode": "json", "document": json.dumps(DEMO_RULES)})
    assert good.status_code == 303 and RulesVersion.select().count() == 1


def test_support_cannot_publish_rules(central, person):
    support = person("support")
    answer = support.post("/rules/publish", _form_of(DEMO_RULES))
    assert answer.status_code == 403 and "forbidden" in answer.get_data(as_text=True)
    assert RulesVersion.select().count() == 0
    assert 'formaction="/rules/publish"' not in support.text("/rules/new")
    assert 'formaction="/rules/publish"' in person("marketing").text("/rules/new")
