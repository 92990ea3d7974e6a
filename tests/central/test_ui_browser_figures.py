"""The dashboard and the liability report in real Chromium, on a real central fed by a real edge.

A till sells through a provisioned ``fidelis-edge serve``, the edge syncs, and head office
reads the figures: what the pages show afterwards is checked, the pages' screenshots go to
``docs/screenshots/``, and the ``browser`` fixture fails the test if a page asked anything
of another machine.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import pytest

from conftest import DEMO_RULES
from nodes import EdgeNode


@pytest.fixture
def trading(served_central, tmp_path):
    """Two shops under the demo rules; in S001 a till registers Ana and sells her 250.00 (25 points)."""
    served_central.store("S001", "Main street")
    served_central.store("S002", "Station")
    served_central.publish(json.loads(DEMO_RULES.read_text()))
    edge = EdgeNode(tmp_path / "edge", served_central.url, served_central.enrolment_token("S001"))
    try:
        ana = edge.post("/customers", {"first_name": "Ana", "last_name": "Pop", "email": "ana@example.com",
                                       "phone": "+40 722 333 444"}).json()
        sale = edge.post("/sales", {"customer_id": ana["id"], "lines": [{"sku": "A1", "qty": 2, "unit_price": 12500}],
                                    "payments": [{"method": "cash", "amount": 25000}]})
        assert sale.status_code == 201, sale.text
        assert sale.json()["points_earned"] == 25
        edge.wait_synced()
        yield edge
    finally:
        edge.stop()


def test_marketing_reads_the_dashboard_picks_a_shop_and_opens_a_definition(browser, trading):
    browser.sign_in("marketing@example.com")
    page = browser.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    assert page.locator("[data-figure=earned]").inner_text() == "25"
    assert page.locator("[data-figure=active_members]").inner_text() == "1"
    assert page.locator("[data-figure=enrolments]").inner_text() == "1"
    browser.screenshot("dashboard")
    page.get_by_label("Shop", exact=True).select_option("S002")
    page.get_by_role("button", name="Show").click()
    assert "store=S002" in page.url
    assert page.locator("[data-figure=earned]").inner_text() == "0"
    # A definition is one keypress away: focus its summary, press Enter.
    summary = page.get_by_role("group").filter(has_text="Redemption rate").locator("summary")
    summary.focus()
    summary.press("Enter")
    assert page.get_by_text("Points spent ÷ points earned over the 30 days ending with the period.").is_visible()


def test_finance_reads_the_liability_report_and_downloads_its_csv(browser, trading, tmp_path):
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    browser.sign_in("finance@example.com")
    page = browser.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Liability").click()
    page.get_by_label("Month", exact=True).fill(month)
    page.get_by_label("Month", exact=True).press("Enter")
    assert page.locator("#reconciliation").inner_text().startswith("Reconciled")
    assert page.locator("[data-figure=issued]").inner_text() == "25"
    assert page.locator("[data-figure=closing]").inner_text() == "25"
    shown = page.locator("body").inner_text()  # what finance reads (tokens in the markup are random)
    assert "ana@example.com" not in shown and "722333444" not in shown.replace(" ", "")
    browser.screenshot("liability-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "liability.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == f"liability-{month}.csv"
    rows = list(csv.reader(saved.read_text(encoding="utf-8-sig").splitlines()))
    total = next(row for row in rows if row[1:2] == ["TOTAL"])
    assert total[9] == "25" and total[11] == "250"  # 25 points worth 10 minor units each
    assert ["reconciled", "yes"] in rows
