"""Rules and exceptions in real Chromium: publish a future version, resolve an exception."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import requests
from playwright.sync_api import expect

from shared.times import format_time
from sync.client import SyncClient
from sync.entry import GENESIS_PREV, generate_private_key, public_key_raw_b64, seal_entry
from sync.hlc import format_hlc


def test_marketing_publishes_a_rules_version_with_a_future_date(browser, served_central):
    browser.sign_in("marketing@example.com")
    page = browser.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rules").click()
    page.get_by_role("link", name="Edit a new version").click()
    page.get_by_label("In effect from (UTC)").fill("2099-03-01T00:00")
    page.get_by_label("Points per 1.00 of eligible spend").fill("0.2")
    page.locator("#tiers-1-name").fill("Silver")
    page.locator("#tiers-1-threshold").fill("50000")
    page.locator("#tiers-1-discount_percent").fill("5")
    page.get_by_role("button", name="Check and preview", exact=True).click()
    # The sample basket (A1 2 × 12.50, BAG1 1 × 30.00) at 0.2 points per 1.00: 55.00 → 11 points.
    assert page.locator("#preview h2").inner_text() == "This basket earns 11 points"
    page.get_by_label("Customer's tier").first.select_option("Silver")
    page.get_by_role("button", name="Check and preview", exact=True).click()
    # Silver takes 5 % off (2.75), so 52.25 is eligible: 10 points.
    assert page.locator("#preview h2").inner_text() == "This basket earns 10 points"
    browser.screenshot("rules-editor")
    page.get_by_role("button", name="Publish", exact=True).click()
    assert page.get_by_role("status").inner_text() == \
        "Rules version 1 published, in effect from 2099-03-01T00:00:00.000Z."
    assert page.locator("#state").inner_text() == "scheduled"
    published = served_central.api("/rules").json()
    assert [v["effective_from"] for v in published] == ["2099-03-01T00:00:00.000Z"]
    assert published[0]["document"]["earn"]["rate"] == "0.2"


def _unknown_customer_exception(node) -> None:
    """A real edge entry central cannot apply: a sale for a customer it never heard of."""
    key, device_id = generate_private_key(), str(uuid.uuid4())
    enrolled = requests.post(f"{node.url}/sync/v1/enroll", timeout=10, json={
        "token": node.enrolment_token("S001"), "device_id": device_id, "public_key": public_key_raw_b64(key),
        "store": "S001"})
    assert enrolled.status_code == 201, enrolled.text
    now = datetime.now(timezone.utc)
    body = {"sale_id": str(uuid.uuid4()), "customer_id": str(uuid.uuid4()), "till_id": None,
            "lines": [{"sku": "A1", "qty": 1, "unit_price": 1000, "discount": 0}],
            "payments": [{"method": "cash", "amount": 1000}], "total": 1000, "eligible_amount": 1000,
            "rules_version": 0, "tier": None, "tier_after": None, "points_earned": 0, "points_paid": 0,
            "reward_points": 0}
    entry = seal_entry(device=device_id, seq=1, prev=GENESIS_PREV, at=format_time(now),
                       hlc=format_hlc(int(now.timestamp() * 1000), 0), kind="sale.completed", id=str(uuid.uuid4()),
                       body=body, private_key=key).entry
    result = SyncClient(node.url, device_id, key).push([entry])
    assert result["results"][0]["status"] == "rejected", result


def test_support_resolves_an_exception_with_a_note(browser, served_central):
    served_central.store("S001", "Main street")
    _unknown_customer_exception(served_central)
    browser.sign_in("support@example.com")
    page = browser.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exceptions").click()
    expect(page.get_by_role("link", name="unknown_customer: 1")).to_be_visible()  # waits for the page
    page.locator("table").get_by_role("link").first.click()
    assert "unknown_customer" in page.locator("pre").inner_text() or page.locator("h1").inner_text().endswith(
        "unknown_customer")
    page.get_by_role("button", name="Resolve").click()
    assert page.locator("#note-problem").inner_text() == "say what was done about it (1-2000 characters)"
    page.get_by_label("What was done about it").fill("customer registered again at the till")
    page.get_by_role("button", name="Resolve").click()
    assert page.locator("#status").inner_text().startswith("resolved")
    assert page.locator("#resolution").inner_text() == "customer registered again at the till"
    page.goto("/exceptions/")
    assert page.get_by_text("Open now: none.").is_visible()
    assert served_central.api("/exceptions?status=resolved").json()[0]["resolution"] == \
        "customer registered again at the till"
