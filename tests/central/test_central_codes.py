"""``GET /api/v1/gift-cards/{code}`` and ``/vouchers/{code}``: support asks whether a code is
still good; the code is read upper-cased, as the tills read it."""

from __future__ import annotations

import pytest

from test_central_giftcards import RULES, WELCOME, card, pay_with, register_with_welcome, with_vouchers


def test_a_gift_card_is_found_by_its_code_in_any_case_then_shows_the_sale_that_used_it(central):
    central.publish(RULES)
    shop = central.edge("S001")
    sold = card(shop, "GIFTCARD01", 5000)
    shop.push()
    found = central.api("GET", "/api/v1/gift-cards/giftcard01")
    assert found.status_code == 200, found.json
    assert found.json == {**sold, "status": "active", "store": "S001"}
    sale = pay_with(shop, "gift_card", "GIFTCARD01", 3000, 3000)
    shop.push()
    used = central.api("GET", "/api/v1/gift-cards/GiftCard01").json
    assert (used["status"], used["used_sale"], used["paid"]) == ("used", sale["sale_id"], 3000)


def test_a_gift_card_past_its_date_is_expired(central):
    central.publish(RULES)
    shop = central.edge("S001")
    card(shop, "GIFTCARD02", 5000)
    shop.push()
    central.clock.now = central.clock.now.replace(year=2100)
    assert central.api("GET", "/api/v1/gift-cards/GIFTCARD02").json["status"] == "expired"


def test_a_voucher_is_found_by_its_code_with_its_customer_sale_and_use(central):
    central.publish(RULES)
    shop = central.edge("S001")
    customer = shop.register()
    sale = with_vouchers(shop, 12000, customer)
    [voucher] = sale["vouchers_issued"]
    shop.push()
    found = central.api("GET", f"/api/v1/vouchers/{voucher['code'].lower()}")
    assert found.status_code == 200, found.json
    assert found.json == {**voucher, "status": "active", "customer_id": customer, "stores": None,
                          "sale_id": sale["sale_id"], "used_sale": None}
    spent = pay_with(shop, "voucher", voucher["code"], 1200, 2000)
    shop.push()
    used = central.api("GET", f"/api/v1/vouchers/{voucher['code']}").json
    assert (used["status"], used["used_sale"]) == ("used", spent["sale_id"])


def test_a_welcome_voucher_has_no_sale(central):
    central.publish(WELCOME)
    shop = central.edge("S001", rules_document=WELCOME)
    customer_id, voucher = register_with_welcome(shop)
    shop.push()
    found = central.api("GET", f"/api/v1/vouchers/{voucher['code']}").json
    assert (found["customer_id"], found["sale_id"], found["status"]) == (customer_id, None, "active")


@pytest.mark.parametrize("path, code", [("/api/v1/gift-cards/NOSUCHCARD", "gift_card_not_found"),
                                        ("/api/v1/vouchers/VNOSUCH", "voucher_not_found"),
                                        ("/api/v1/vouchers/" + "V" * 40, "voucher_not_found")])
def test_an_unknown_code_is_404(central, path, code):
    response = central.api("GET", path)
    assert response.status_code == 404
    assert response.json["error"]["code"] == code


@pytest.mark.parametrize("path", ["/api/v1/gift-cards/GIFTCARD01", "/api/v1/vouchers/V1"])
def test_a_lookup_needs_a_token(central, path):
    response = central.client.get(path)
    assert response.status_code == 401
    assert central.api("GET", path, token="not-a-token").status_code == 401
