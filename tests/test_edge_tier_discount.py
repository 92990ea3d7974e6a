"""The tier discount at the till: quote, sale, return, receipt and change log for a Silver customer.

The demo rules give Silver 5 % off and 1 % extra earn (points worth 0.10, 1 point per 10.00).
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import TillClient
from conftest_devices import tcp_printer, wait_for  # noqa: F401  (fixture)
from devices.printer import Payment, Receipt, ReceiptLine, open_printer, print_receipt
from edge import tills
from edge.app import create_app
from edge.models import Customer, LogEntry
from edge.peripherals import init_peripherals

BASKET = [{"sku": "A1", "qty": 2, "unit_price": 1250},  # 5 % of 25.00 = 1.25
          {"sku": "B1", "qty": 1, "unit_price": 999, "discount": 99}]  # 5 % of 9.00 = 0.45
TOTAL = 2500 + 900 - 125 - 45


def make_silver(customer_id: str) -> None:
    """Put the customer in Silver, as central's feed does once their spend reaches it."""
    Customer.update(tier="Silver").where(Customer.id == customer_id).execute()


@pytest.fixture
def silver(till, customer) -> dict:
    make_silver(customer["id"])
    return customer


def test_a_silver_quote_shows_each_lines_tier_discount_and_a_total_after_it(till, silver):
    quote = till.post("/api/v1/baskets/quote", json={"customer_id": silver["id"], "lines": BASKET})
    assert quote.status_code == 200, quote.json
    assert [line["tier_discount"] for line in quote.json["lines"]] == [125, 45]
    assert (quote.json["tier"], quote.json["tier_discount"], quote.json["total"]) == ("Silver", 170, TOTAL)
    assert quote.json["eligible_amount"] == TOTAL
    assert quote.json["points_to_earn"] == 3 + 3  # on 33.30: 3 from spend, 1 % of it as points worth 0.10


def test_a_basic_customer_pays_the_full_price(till, customer):
    quote = till.post("/api/v1/baskets/quote", json={"customer_id": customer["id"], "lines": BASKET}).json
    assert (quote["tier_discount"], quote["total"]) == (0, 3400)
    assert [line["tier_discount"] for line in quote["lines"]] == [0, 0]


def test_a_silver_sale_must_be_paid_at_the_discounted_total(till, silver):
    full = till.post("/api/v1/sales", json={"customer_id": silver["id"], "lines": BASKET,
                                            "payments": [{"method": "cash", "amount": 3400}]})
    assert full.status_code == 422
    assert full.json["error"]["code"] == "payment_mismatch"
    sale = till.post("/api/v1/sales", json={"customer_id": silver["id"], "lines": BASKET,
                                            "payments": [{"method": "cash", "amount": TOTAL}]})
    assert sale.status_code == 201, sale.json
    assert (sale.json["total"], sale.json["tier_discount"], sale.json["points_earned"]) == (TOTAL, 170, 6)
    assert [line["tier_discount"] for line in sale.json["lines"]] == [125, 45]
    stored = till.get(f"/api/v1/sales/{sale.json['id']}").json
    assert (stored["total"], stored["tier_discount"], stored["lines"]) == (TOTAL, 170, sale.json["lines"])
    # The change-log entry carries each line's tier discount, so central can work it out again.
    entry = json.loads(LogEntry.select().order_by(LogEntry.seq.desc()).get().line)
    assert entry["kind"] == "sale.completed" and entry["body"]["tier"] == "Silver"
    assert [line["tier_discount"] for line in entry["body"]["lines"]] == [125, 45]
    assert entry["body"]["total"] == TOTAL


def test_returns_give_back_what_was_paid_after_the_tier_discount(till, silver):
    sale = till.post("/api/v1/sales", json={"customer_id": silver["id"], "lines": BASKET,
                                            "payments": [{"method": "cash", "amount": TOTAL}]}).json
    one = till.post(f"/api/v1/sales/{sale['id']}/returns", json={"lines": [{"sku": "A1", "qty": 1}]}).json
    assert one["amount_refunded"] == 1250 - 63  # the kept unit keeps 0.62 of the line's 1.25
    rest = till.post(f"/api/v1/sales/{sale['id']}/returns",
                     json={"lines": [{"sku": "A1", "qty": 1}, {"sku": "B1", "qty": 1}]}).json
    assert one["amount_refunded"] + rest["amount_refunded"] == TOTAL
    assert rest["customer"]["points"]["available"] == 0


def test_the_receipt_prints_the_tier_discount_under_its_line(edge_dir, tcp_printer):
    (edge_dir / "config.json").write_text(json.dumps({"printer": tcp_printer.url, "brand": "Fidelis Shoes",
                                                      "currency": "EUR", "timezone": "Europe/Bucharest"}))
    app = create_app(edge_dir, {"TESTING": True, "PERIPHERALS": {"print_retry_initial": 0.05,
                                                                  "print_retry_max": 0.2, "receipt_wait": 2.0}})
    peripherals = init_peripherals(app, app.extensions["fidelis_edge"])
    try:
        till = TillClient(app.test_client(), tills.add(app.extensions["fidelis_edge"], "till-1")[1])
        customer = till.post("/api/v1/customers", json={"first_name": "Ana", "last_name": "Pop",
                                                        "card_number": "2000000000015"}).json
        make_silver(customer["id"])
        lines = [{"sku": "A1", "qty": 2, "unit_price": 1250}]
        sale = till.post("/api/v1/sales", json={"customer_id": customer["id"], "lines": lines,
                                                "payments": [{"method": "card", "amount": 2375}]}).json
        assert till.post(f"/api/v1/sales/{sale['id']}/receipt").status_code == 202
        assert wait_for(lambda: any(f"Ref {sale['id']}".encode() in job for job in tcp_printer.jobs), 10)
    finally:
        peripherals.stop()
    [received] = [job for job in tcp_printer.jobs if f"Ref {sale['id']}".encode() in job]

    at = datetime.fromisoformat(sale["created_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Bucharest"))
    expected = Receipt(
        brand="Fidelis Shoes", shop=(), sale_id=sale["id"][:8], at=at.strftime("%Y-%m-%d %H:%M"),
        lines=[ReceiptLine("A1", 2, 1250, tier_discount=125)], total=2375, payments=[Payment("card", 2375)],
        points_earned=4, balance_after=4, tier="Silver", card_number="2000000000015",
        footer=f"Ref {sale['id']}", currency="EUR", discount_tier="Silver")
    reference = open_printer("dummy:")
    print_receipt(reference, expected)
    assert received == reference.output
    for text in (b"  2 x 12.50                          23.75\n", b"  Silver discount                    -1.25\n",
                 b"TOTAL                            EUR 23.75\n"):
        assert text in received
