"""The dashboard and the liability report pages: who may open them, what they show, bad filters."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html import unescape
from urllib.parse import urlsplit

import pytest

UTC = timezone.utc
EMAIL, PHONE = "ana.pop@example.com", "+40 722 333 444"


def _shop_with_members(central):
    """Publish rules; one shop where Ana (with an e-mail and a phone) earns 25 points."""
    central.clock.now = datetime(2026, 10, 5, 10, tzinfo=UTC)
    central.publish()
    edge = central.edge("S001")
    customer = "0b6f7d35-1d7a-4c49-9a55-5b1f3c0e2a11"
    edge.append("customer.registered", {"customer_id": customer, "card_number": "2000000000015",
                                        "first_name": "Ana", "last_name": "Pop", "email": EMAIL, "phone": PHONE,
                                        "birth_date": None, "tier": "Basic"})
    edge.sell(customer, [{"sku": "A1", "qty": 1, "unit_price": 25000, "discount": 0}])
    assert edge.push().status_code == 200
    central.clock.now = datetime(2026, 11, 3, 9, tzinfo=UTC)
    return customer


@pytest.mark.parametrize("role", ["admin", "marketing", "support", "finance", "auditor"])
def test_every_role_sees_the_dashboard_with_each_definition_one_click_away(central, person, role):
    _shop_with_members(central)
    html = person(role).text("/dashboard/?from=2026-10-01&to=2026-10-31")
    assert '<html lang="en">' in html
    assert re.search(r'data-figure="earned">25<', html)
    assert html.count("<details class=\"definition\">") == 13
    assert "Points members can spend at the end of today" in html  # the liability's definition
    assert html.count('<svg class="chart" role="img"') == 2 and "<script" not in html


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("finance", 200), ("auditor", 200),
                                              ("marketing", 403), ("support", 403)])
def test_the_liability_report_is_for_admin_finance_and_auditor(central, person, role, status):
    _shop_with_members(central)
    user = person(role)
    assert user.get("/finance/liability?month=2026-10").status_code == status
    assert user.get("/finance/liability.csv?month=2026-10").status_code == status


def test_finance_sees_no_email_or_phone_on_any_page_it_can_reach(central, person):
    _shop_with_members(central)
    finance = person("finance")
    seen, queue = set(), ["/", "/dashboard/", "/finance/liability?month=2026-10", "/finance/liability.csv?month=2026-10"]
    while queue:
        path = queue.pop()
        if path in seen or len(seen) > 60:
            continue
        seen.add(path)
        response = finance.get(path)
        if response.status_code != 200:
            continue
        body = unescape(response.get_data(as_text=True))
        body = re.sub(r'name="csrf_token" value="[^"]*"', "", body)  # random text that can hold "Pop"
        assert EMAIL not in body and PHONE not in body and "Pop" not in body, path
        for link in re.findall(r'href="([^"]+)"', body):
            parts = urlsplit(unescape(link))
            if not parts.netloc and parts.path.startswith("/") and not parts.path.startswith("/static/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert {"/dashboard/", "/finance/liability?month=2026-10"} <= seen


def test_the_liability_page_reconciles_and_exports_the_same_figures_as_csv(central, person):
    _shop_with_members(central)
    finance = person("finance")
    html = finance.text("/finance/liability?month=2026-10")
    assert "Reconciled: the closing balance equals the sum of members' balances" in html
    assert re.search(r'data-figure="issued">25<', html) and re.search(r'data-figure="closing">25<', html)
    response = finance.get("/finance/liability.csv?month=2026-10")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="liability-2026-10.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["month", "store", "name"]
    total = next(row for row in rows if row[1:2] == ["TOTAL"])
    assert total[3:10] == ["0", "25", "0", "0", "0", "0", "25"]
    assert ["reconciled", "yes"] in rows


def test_the_liability_page_opens_on_last_month(central, person):
    _shop_with_members(central)
    assert "Points liability — 2026-10" in person("auditor").text("/finance/liability")


@pytest.mark.parametrize(("path", "field", "message"), [
    ("/dashboard/?from=2026-13-01", "from", "from must be a day as YYYY-MM-DD"),
    ("/dashboard/?store=S404", "store", "store must be the code of a store"),
    ("/dashboard/?from=2026-10-31&to=2026-10-01", "from", "from must not be after to"),
    ("/finance/liability?month=October", "month", "month must be a month as YYYY-MM"),
    ("/finance/liability?month=2027-01", "month", "month 2027-01 has not started yet"),
])
def test_a_bad_filter_is_shown_next_to_its_field(central, person, path, field, message):
    _shop_with_members(central)
    response = person("admin").get(path)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'aria-describedby="{field}-problem"' in html
    assert re.search(rf'<p class="problem" id="{field}-problem">{re.escape(message)}', html)
    assert 'data-figure=' not in html  # nothing was counted


def test_signed_out_visitors_are_sent_to_sign_in(central):
    response = central.client.get("/dashboard/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/"
