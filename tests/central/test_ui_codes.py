"""The gift card and voucher look-up page: support answers "is this code still good?"."""

from __future__ import annotations

from test_central_giftcards import RULES, card, pay_with, with_vouchers


def test_support_looks_up_a_gift_card_in_any_case_and_sees_it_used(central, person):
    central.publish(RULES)
    shop = central.edge("S001")
    card(shop, "GIFTCARD01", 5000)
    shop.push()
    support = person("support")
    page = support.text("/customers/codes?code=giftcard01")
    assert "Gift card GIFTCARD01" in page and 'id="gift-card-status">Good to use<' in page and "50.00" in page
    assert "Sold at</dt><dd>S001" in page
    sale = pay_with(shop, "gift_card", "GIFTCARD01", 3000, 3000)
    shop.push()
    page = support.text("/customers/codes?code=GIFTCARD01")
    assert 'id="gift-card-status">Used<' in page and sale["sale_id"] in page and "took 30.00" in page


def test_a_voucher_shows_its_status_shops_and_customer(central, person):
    central.publish(RULES)
    shop = central.edge("S001")
    customer = shop.register()
    [voucher] = with_vouchers(shop, 12000, customer)["vouchers_issued"]
    shop.push()
    page = person("auditor").text(f"/customers/codes?code={voucher['code'].lower()}")
    assert f"Voucher {voucher['code']}" in page and 'id="voucher-status">Good to use<' in page
    assert "12.00" in page and "every shop" in page and f'href="/customers/{customer}"' in page


def test_an_unknown_code_says_not_found_and_a_bad_one_is_explained(central, person):
    support = person("support")
    assert "No gift card or voucher has the code NOSUCH." in support.text("/customers/codes?code=nosuch")
    assert "No gift card or voucher" not in support.text("/customers/codes")
    response = support.get("/customers/codes?code=%20")
    assert response.status_code == 400 and 'id="code-problem"' in response.get_data(as_text=True)


def test_the_page_is_linked_from_the_customer_search_and_closed_to_finance(central, person):
    assert 'href="/customers/codes"' in person("marketing").text("/customers/")
    assert person("finance").get("/customers/codes?code=X").status_code == 403
