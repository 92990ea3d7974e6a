"""Customer care in real Chromium, with the customers made at a real edge that then syncs.

Search a customer, correct the points and see the new balance, lock a tier, replace a lost
card, merge two customers after the review screen; each test checks what the page shows
afterwards (and the ``browser`` fixture, that no page asked another machine for anything).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from nodes import EdgeNode
from test_multinode import cash_sale

ROOT = Path(__file__).resolve().parents[2]
RULES = json.loads((ROOT / "demo" / "rules.json").read_text())  # Basic, Silver, Gold


@pytest.fixture
def shop(served_central, tmp_path):
    """A real edge of shop S001 with three customers who bought something; synced."""
    served_central.store("S001", "Main street")
    served_central.publish(RULES)
    edge = EdgeNode(tmp_path / "edge", served_central.url, served_central.enrolment_token("S001"))
    people = {}
    for first, card, amount in (("Ana", "2800000000014", 100000), ("Anna", "2800000000021", 30000),
                                ("Ion", "2800000000038", 70000)):
        made = edge.post("/customers", {"first_name": first, "last_name": "Pop", "card_number": card,
                                        "email": f"{first.lower()}@example.com"})
        assert made.status_code == 201, made.text
        assert edge.post("/sales", cash_sale(made.json()["id"], amount)).status_code == 201
        people[first] = made.json()
    edge.wait_synced()
    yield people
    edge.stop()


def _open_customer(page, query: str, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_label("Card, e-mail, phone or name").fill(query)
    page.get_by_label("Card, e-mail, phone or name").press("Enter")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def test_support_corrects_the_points_and_locks_a_tier(browser, shop):
    browser.sign_in("support@example.com")
    page = browser.page
    _open_customer(page, "ana p", "Ana Pop")
    expect(page.locator("#available")).to_have_text("100 points")
    expect(page.locator("#wallet-balance")).to_have_text("0.00")
    expect(page.locator("#expiring")).to_contain_text("None in the next 90 days.")

    page.get_by_label("Points (negative to take away)").fill("50")
    page.get_by_label("Reason (required)").fill("Parcel lost in the post")
    page.get_by_role("button", name="Make the correction").click()
    expect(page.get_by_role("status")).to_have_text(
        "Correction of +50 points made (Parcel lost in the post); 150 points available now.")
    expect(page.locator("#available")).to_have_text("150 points")
    expect(page.locator("tr.activity-adjustment").first).to_contain_text("Parcel lost in the post")

    page.get_by_label("Tier", exact=True).select_option("Gold")
    page.get_by_label("Lock it: spending will not change it").check()
    page.get_by_role("button", name="Set the tier").click()
    expect(page.get_by_role("status")).to_have_text("Tier set to Gold and locked.")
    expect(page.locator("#current-tier")).to_have_text("Gold locked")
    browser.screenshot("customer")


def test_support_replaces_a_lost_card_and_merges_a_duplicate(browser, shop, served_central):
    browser.sign_in("support@example.com")
    page = browser.page
    _open_customer(page, "2800000000038", "Ion Pop")
    page.get_by_label("New card number").fill("2800000000045")
    page.get_by_role("button", name="Block the old card, give this one").click()
    expect(page.get_by_role("status")).to_have_text("Card 2800000000038 is blocked; the new card is 2800000000045.")
    expect(page.locator("#current-card")).to_have_text("2800000000045")
    expect(page.locator("#blocked-cards")).to_contain_text("2800000000038")
    assert served_central.api("/customers?card=2800000000038").status_code == 409

    _open_customer(page, "ana", "Ana Pop")
    page.get_by_label("Card number or id of the duplicate").fill("2800000000021")
    page.get_by_role("button", name="Review the merge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review the merge")
    expect(page.locator("#available-after")).to_have_text("130")
    page.get_by_role("button", name="Merge Anna Pop into Ana Pop").click()
    expect(page.get_by_role("status")).to_contain_text("Anna Pop (2800000000021) merged into this customer")
    expect(page.locator("#available")).to_have_text("130 points")
    expect(page.locator("tr.activity-merge")).to_contain_text("2800000000021")
    assert served_central.api("/customers?card=2800000000021").json()["id"] == shop["Ana"]["id"]
