"""The customer pages: search, a customer's balance and activity, and the care forms, by role."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from test_central_wallet import RULES as WALLET_RULES, load

from central import db


def _spend(amount: int) -> list[dict]:
    return [{"sku": "A1", "qty": 1, "unit_price": amount, "discount": 0}]


def _customer(edge, first: str, last: str, card: str, spend: int = 100000, email: str | None = None) -> str:
    customer = str(uuid.uuid4())
    edge.append("customer.registered", {"customer_id": customer, "card_number": card, "first_name": first,
                                        "last_name": last, "email": email, "phone": "0722333444" if email else None,
                                        "birth_date": None, "tier": "Basic"})
    edge.sell(customer, _spend(spend))
    assert edge.push().status_code == 200
    return customer


def _problem(html: str, field: str) -> str:
    found = re.search(rf'<p class="problem" id="{field}-problem">([^<]*)</p>', html)
    assert found, f"no problem shown next to {field}"
    return found.group(1)


def _audit(action: str) -> list[tuple]:
    return db.rows("SELECT actor, target FROM auditlog WHERE action = ? ORDER BY id", (action,))


@pytest.fixture
def ana(central, edge):
    central.publish()
    return _customer(edge, "Ana", "Pop", "2700000000019", email="ana@example.com")


def test_support_finds_a_customer_by_card_or_name_and_sees_balance_and_activity(central, person, edge, ana):
    support = person("support")
    for query in ("2700000000019", "ana p", "POP"):
        html = support.text(f"/customers/?q={query}")
        assert f'href="/customers/{ana}"' in html and "ana@example.com" in html, query
    assert "No customer matches" in support.text("/customers/?q=nobody")
    page = support.text(f"/customers/{ana}")
    assert re.search(r'id="available">100 points', page) and re.search(r'id="pending">0 points', page)
    assert "Earned at S001, sale" in page and "Enrolled at S001" in page
    assert "of 1,000.00" in page  # the sale behind the earn, in money
    csv = support.get("/customers/customers.csv?q=pop").get_data(as_text=True)
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("id,card_number,first_name") and ana in csv
    activity = support.get(f"/customers/{ana}/activity.csv").get_data(as_text=True)
    assert "earn" in activity and "enrolment" in activity


def test_a_correction_needs_a_reason_and_then_shows_in_balance_activity_and_audit(central, person, ana):
    support = person("support")
    before = central.counts()
    refused = support.post(f"/customers/{ana}/adjust", {"points": "50", "reason": "  "})
    assert refused.status_code == 422
    assert "reason" in _problem(refused.get_data(as_text=True), "reason")
    assert 'id="reason" name="reason"' in refused.get_data(as_text=True)
    not_a_number = support.post(f"/customers/{ana}/adjust", {"points": "5.5", "reason": "x"})
    assert not_a_number.status_code == 422 and _problem(not_a_number.get_data(as_text=True), "points")
    too_much = support.post(f"/customers/{ana}/adjust", {"points": "-500", "reason": "x"})
    assert too_much.status_code == 422 and "100 available" in _problem(too_much.get_data(as_text=True), "points")
    assert {k: v for k, v in central.counts().items() if k != "websession"} == \
        {k: v for k, v in before.items() if k != "websession"}

    made = support.post(f"/customers/{ana}/adjust", {"points": "50", "reason": "Parcel lost"})
    assert made.status_code == 303
    page = support.text(f"/customers/{ana}")
    assert re.search(r'id="available">150 points', page)
    assert "Correction of +50 points made (Parcel lost); 150 points available now." in page
    assert "Correction by user:support@example.com: Parcel lost" in page
    assert _audit("customer.adjust") == [("user:support@example.com", f"customer:{ana}")]


def test_a_form_without_its_csrf_token_changes_nothing(central, person, ana):
    support = person("support")
    forged = support.post(f"/customers/{ana}/adjust", {"points": "50", "reason": "x"}, csrf=False)
    assert forged.status_code == 403 and "csrf_failed" in forged.get_data(as_text=True)
    assert central.customer(ana)["points"]["available"] == 100


@pytest.mark.parametrize("role, reads, changes", [
    ("admin", True, True), ("support", True, True), ("marketing", True, False), ("auditor", True, False),
    ("finance", False, False)])
def test_who_may_see_and_care_for_customers(central, person, ana, role, reads, changes):
    user = person(role)
    assert user.get(f"/customers/{ana}").status_code == (200 if reads else 403)
    assert ('href="/customers/"' in user.text("/")) is reads
    if reads:
        assert ("Make the correction" in user.text(f"/customers/{ana}")) is changes
    answer = user.post(f"/customers/{ana}/adjust", {"points": "5", "reason": "x"})
    assert answer.status_code == (303 if changes else 403)
    assert central.customer(ana)["points"]["available"] == (105 if changes else 100)


def test_finance_sees_no_customer_e_mail_or_phone(central, person, ana):
    finance = person("finance")
    for path in ("/customers/?q=ana", f"/customers/{ana}", "/customers/customers.csv?q=ana"):
        answer = finance.get(path)
        assert answer.status_code == 403 and "ana@example.com" not in answer.get_data(as_text=True), path


def test_support_locks_a_tier_and_an_unknown_one_is_refused_next_to_its_field(central, person, ana):
    support = person("support")
    unknown = support.post(f"/customers/{ana}/tier", {"tier": "Platinum", "locked": "1"})
    assert unknown.status_code == 422 and "Platinum" in _problem(unknown.get_data(as_text=True), "tier")
    assert support.post(f"/customers/{ana}/tier", {"tier": "Gold", "locked": "1"}).status_code == 303
    page = support.text(f"/customers/{ana}")
    assert re.search(r'id="current-tier">Gold <span class="tag">locked</span>', page)
    assert central.customer(ana)["tier_locked"] is True


def test_support_replaces_a_lost_card(central, person, edge, ana):
    support = person("support")
    other = _customer(edge, "Ion", "Ionescu", "2700000000026")
    taken = support.post(f"/customers/{ana}/card", {"card_number": "2700000000026"})
    assert taken.status_code == 422 and "already belongs" in _problem(taken.get_data(as_text=True), "card_number")
    assert support.post(f"/customers/{ana}/card", {"card_number": "2700000000033"}).status_code == 303
    page = support.text(f"/customers/{ana}")
    assert re.search(r'id="current-card">2700000000033<', page) and re.search(r'id="blocked-cards">2700000000019', page)
    assert "Card 2700000000019 is blocked; the new card is 2700000000033." in page
    found = support.text("/customers/?q=2700000000019")
    assert "found by blocked card 2700000000019" in found
    assert central.customer(other)["card_number"] == "2700000000026"


def test_support_merges_a_duplicate_after_the_review_screen(central, person, edge, ana):
    support = person("support")
    twin = _customer(edge, "Anna", "Pop", "2700000000040", spend=30000)
    wrong = support.get(f"/customers/{ana}/merge?absorb=2799999999999")
    assert wrong.status_code == 422 and "no customer" in _problem(wrong.get_data(as_text=True), "absorb")
    review = support.text(f"/customers/{ana}/merge?absorb=2700000000040")
    assert 'id="available-after">130<' in review and "Anna Pop" in review
    assert central.customer(twin)["id"] == twin  # the review changed nothing
    merged = support.post(f"/customers/{ana}/merge", {"absorb": twin})
    assert merged.status_code == 303
    page = support.text(f"/customers/{ana}")
    assert re.search(r'id="available">130 points', page) and "Anna Pop (2700000000040) merged into" in page
    assert "Duplicate Anna Pop enrolled at S001 (merged in later)" in page
    moved = support.get(f"/customers/{twin}")
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"/customers/{ana}")
    assert _audit("customer.merge") == [("user:support@example.com", f"customer:{ana}")]


def test_the_customer_page_shows_wallet_expiring_points_and_the_vip_card_masked(central, person):
    edge = central.edge(rules_document=WALLET_RULES)
    ana = edge.register()
    now = central.clock()
    load(edge, ana, 7500)
    load(edge, ana, 5000, type="KDO", category="pants")
    body = edge.sale_body(ana, _spend(30000))
    edge.append("sale.completed", {**body, "expires_at": (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    assert edge.push().status_code == 200
    auditor = person("auditor")  # reads only: the panels are not care
    page = auditor.text(f"/customers/{ana}")
    assert "<h2 id=\"expiring-heading\">Expiring points</h2>" in page
    assert "None in the next 90 days" not in page
    assert re.search(rf"<th scope=\"row\">{(now + timedelta(days=10)).date()}</th><td class=\"num\">30</td>", page)
    assert re.search(r'id="wallet-balance">125.00<', page)
    assert re.search(r'<th scope="row">pants</th><td class="num">50.00</td>', page)
    assert re.search(r'<th scope="row">Any purchase</th><td class="num">75.00</td>', page)
    assert "VIP card" not in page

    until = str((now + timedelta(days=30)).date())
    made = central.api("POST", f"/api/v1/customers/{ana}/vip", {"code": "#VIP#AB12CD34", "discount_percent": 10,
                                                              "until": until})
    assert made.status_code == 201, made.json
    page = person("marketing").text(f"/customers/{ana}")
    assert "#VIP#AB12CD34" not in page and "<code>•••••••••CD34</code>" in page
    assert f'<td class="num">10 %</td>\n            <td>{until}</td>' in page


def test_a_customer_with_nothing_due_to_expire_says_so(central, person, ana):
    page = person("support").text(f"/customers/{ana}")
    assert "None in the next 90 days." in page and re.search(r'id="wallet-balance">0.00<', page)
