"""Gift cards and vouchers at central: re-derived from each entry, spent once brand-wide, sent to
every shop through the feed (a voucher of some shops to those shops only); what cannot have
happened opens an exception."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from shared.times import format_time, parse_time
from shared.vouchers import AtSale, VoucherTier, issue_at_sale, issue_welcome

DEMO_RULES = json.loads((Path(__file__).resolve().parents[2] / "demo" / "rules.json").read_text())
PERCENT = [{"from": 5000, "percent": 5}, {"from": 10000, "percent": 10}, {"from": 15000, "percent": 15}]
RULES = {**DEMO_RULES, "vouchers": {"at_sale": {"tiers": PERCENT, "valid_days": 30}}}
AT_SALE = AtSale(tuple(VoucherTier(t["from"], percent=t["percent"]) for t in PERCENT), 30)


def _lines(amount: int) -> list[dict]:
    return [{"sku": "A1", "qty": 1, "unit_price": amount, "discount": 0}]


def card(shop, code: str, amount: int) -> dict:
    expires = format_time(shop.harness.clock().replace(year=2099))
    shop.append("gift_card.issued", {"code": code, "amount": amount, "expires_at": expires, "till_id": None})
    return {"code": code, "amount": amount, "expires_at": expires}


def pay_with(shop, method: str, code: str, amount: int, total: int, **extra) -> dict:
    """A ``sale.completed`` of ``total`` paid by ``method`` (``code``) for ``amount``, the rest cash."""
    body = shop.sale_body(None, _lines(total))
    body["payments"] = [{"method": method, "code": code, "amount": amount}] + (
        [{"method": "cash", "amount": total - amount}] if total > amount else [])
    body.update(extra)
    shop.append("sale.completed", body)
    return body


def with_vouchers(shop, total: int, customer_id: str | None = None) -> dict:
    """A sale that issues what an edge issues under ``RULES``."""
    body = shop.sale_body(customer_id, _lines(total))
    at = shop.harness.clock()
    body["vouchers_issued"] = [{"code": v.code, "amount": v.amount, "expires_at": format_time(v.expires_at)}
                               for v in issue_at_sale(body["sale_id"], total, AT_SALE, shop.store, at)]
    shop.append("sale.completed", body)
    return body


def feed(shop, kind: str) -> list[dict]:
    return [item["body"] for item in shop.pull().json["items"] if item["kind"] == kind]


def test_a_card_sold_at_one_shop_reaches_every_shop_and_its_use_too(central):
    central.publish(RULES)
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    sold = card(shop_a, "GIFTCARD01", 5000)
    assert all(r["status"] == "applied" for r in shop_a.push().json["results"])
    assert feed(shop_b, "gift_card.state") == [{**sold, "status": "active"}]
    sale = pay_with(shop_a, "gift_card", "GIFTCARD01", 3000, 3000)
    shop_a.push()
    used = feed(shop_b, "gift_card.state")[-1]
    assert (used["status"], used["used_sale"], used["paid"]) == ("used", sale["sale_id"], 3000)
    assert central.exceptions("gift_card_double_use") == []


def test_a_card_spent_at_two_shops_is_an_exception_and_both_sales_stand(central):
    central.publish(RULES)
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    card(shop_a, "GIFTCARD02", 5000)
    shop_a.push()
    first = pay_with(shop_a, "gift_card", "GIFTCARD02", 5000, 5000)
    second = pay_with(shop_b, "gift_card", "GIFTCARD02", 4000, 4000)
    shop_a.push()
    results = shop_b.push().json["results"]
    assert [r["status"] for r in results][-1] == "applied"
    [conflict] = central.exceptions("gift_card_double_use")
    assert conflict["store"] == "S002"
    details = conflict["details"]
    assert (details["code"], details["first_sale"], details["sale_id"]) == ("GIFTCARD02", first["sale_id"],
                                                                            second["sale_id"])
    assert central.counts()["sale"] == 2


def test_a_card_central_never_sold_or_spent_over_its_value_is_gift_card_invalid(central):
    central.publish(RULES)
    shop = central.edge("S001")
    card(shop, "GIFTCARD03", 1000)
    pay_with(shop, "gift_card", "NOSUCHCARD", 1000, 1000)
    pay_with(shop, "gift_card", "GIFTCARD03", 1500, 1500)
    shop.push()
    problems = sorted(c["details"]["problem"] for c in central.exceptions("gift_card_invalid"))
    assert problems == ["no such gift card", "the card is worth 1000"]


def test_central_reaches_the_same_vouchers_and_sends_them_to_every_shop(central):
    central.publish(RULES)
    shop_a, shop_b = central.edge("S001", rules_document=RULES), central.edge("S002", rules_document=RULES)
    customer = shop_a.register()
    sale = with_vouchers(shop_a, 12000, customer)
    shop_a.push()
    assert central.exceptions("recalculation_mismatch") == []
    [voucher] = sale["vouchers_issued"]
    assert voucher["amount"] == 1200
    state = feed(shop_b, "voucher.state")
    assert state == [{**voucher, "status": "active", "stores": None, "sale_id": sale["sale_id"],
                      "customer_id": customer}]


def test_a_voucher_of_some_shops_and_its_use_reach_those_shops_and_no_other(central):
    scoped = {**RULES, "vouchers": {"at_sale": {**RULES["vouchers"]["at_sale"], "stores": ["S001", "S002"]}}}
    central.publish(scoped)
    shop_a, shop_b, shop_c = (central.edge(code, rules_document=scoped) for code in ("S001", "S002", "S003"))
    at_sale = AtSale(AT_SALE.tiers, 30, frozenset({"S001", "S002"}))
    body = shop_a.sale_body(None, _lines(12000))
    body["vouchers_issued"] = [{"code": v.code, "amount": v.amount, "expires_at": format_time(v.expires_at)}
                               for v in issue_at_sale(body["sale_id"], 12000, at_sale, "S001", shop_a.harness.clock())]
    shop_a.append("sale.completed", body)
    shop_a.push()
    assert central.exceptions("recalculation_mismatch") == []
    [voucher] = body["vouchers_issued"]
    [state] = feed(shop_b, "voucher.state")
    assert (state["code"], state["status"], state["stores"]) == (voucher["code"], "active", ["S001", "S002"])
    pay_with(shop_b, "voucher", voucher["code"], voucher["amount"], 5000)
    shop_b.push()
    assert central.exceptions("voucher_invalid") == []
    assert [(s["code"], s["status"]) for s in feed(shop_a, "voucher.state")] == [(voucher["code"], "active"),
                                                                                 (voucher["code"], "used")]
    assert feed(shop_c, "voucher.state") == []


def test_a_voucher_the_rules_do_not_give_is_a_recalculation_mismatch(central):
    central.publish(RULES)
    shop = central.edge("S001", rules_document=RULES)
    body = shop.sale_body(None, _lines(12000))
    expires = format_time(shop.harness.clock())
    body["vouchers_issued"] = [{"code": "VFORGED", "amount": 5000, "expires_at": expires}]
    shop.append("sale.completed", body)
    shop.push()
    [mismatch] = central.exceptions("recalculation_mismatch")
    derived = issue_at_sale(body["sale_id"], 12000, AT_SALE, "S001", parse_time(expires))
    assert mismatch["details"]["edge_vouchers"] == [["VFORGED", 5000]]
    assert mismatch["details"]["central_vouchers"] == [[v.code, v.amount] for v in derived]


def test_a_voucher_spent_at_two_shops_is_an_exception(central):
    central.publish(RULES)
    shop_a, shop_b = central.edge("S001", rules_document=RULES), central.edge("S002", rules_document=RULES)
    [voucher] = with_vouchers(shop_a, 10000)["vouchers_issued"]
    shop_a.push()
    pay_with(shop_a, "voucher", voucher["code"], 1000, 2000)
    second = pay_with(shop_b, "voucher", voucher["code"], 1000, 1000)
    shop_a.push()
    shop_b.push()
    [conflict] = central.exceptions("voucher_double_use")
    assert conflict["details"]["sale_id"] == second["sale_id"]
    assert central.exceptions("recalculation_mismatch") == []


def test_a_full_return_voids_the_voucher_everywhere(central):
    central.publish(RULES)
    shop_a, shop_b = central.edge("S001", rules_document=RULES), central.edge("S002", rules_document=RULES)
    sale = with_vouchers(shop_a, 15000)
    [voucher] = sale["vouchers_issued"]
    body = shop_a.give_back(sale, 0)
    shop_a.log.pop()
    shop_a.hashes.pop()
    shop_a.append("sale.returned", {**body, "vouchers_voided": [voucher["code"]]})
    shop_a.push()
    assert [s["status"] for s in feed(shop_b, "voucher.state")] == ["active", "voided"]
    pay_with(shop_b, "voucher", voucher["code"], 100, 100, sale_id=str(uuid.uuid4()))
    shop_b.push()
    assert central.exceptions("voucher_double_use") == []  # voided, then spent offline: kept as spent
    assert feed(shop_b, "voucher.state")[-1]["status"] == "used"


WELCOME = {**DEMO_RULES, "vouchers": {"welcome": {"amount": 500, "valid_days": 30}}}


def register_with_welcome(shop, code: str | None = None, amount: int = 500) -> tuple[str, dict]:
    customer_id = str(uuid.uuid4())
    welcome = issue_welcome(customer_id, "ana@example.com", shop.rules.vouchers_welcome, shop.store,
                            shop.harness.clock())
    issued = [{"code": code or v.code, "amount": amount, "expires_at": format_time(v.expires_at)} for v in welcome]
    shop.append("customer.registered", {
        "customer_id": customer_id, "card_number": f"2{uuid.uuid4().int % 10**12:012d}", "first_name": "Ana",
        "last_name": "Pop", "email": "ana@example.com", "phone": None, "birth_date": None, "tier": "Basic",
        "rules_version": 0, "vouchers_issued": issued})
    return customer_id, issued[0]


def test_central_reaches_the_same_welcome_voucher_and_sends_it_to_every_shop(central):
    shop_a, shop_b = central.edge("S001", rules_document=WELCOME), central.edge("S002", rules_document=WELCOME)
    customer_id, voucher = register_with_welcome(shop_a)
    shop_a.push()
    assert central.exceptions("recalculation_mismatch") == []
    [state] = feed(shop_b, "voucher.state")
    assert state == {**voucher, "status": "active", "stores": None, "sale_id": None, "customer_id": customer_id}


def test_a_welcome_voucher_the_rules_do_not_give_is_a_recalculation_mismatch(central):
    shop = central.edge("S001", rules_document=WELCOME)
    customer_id, _ = register_with_welcome(shop, amount=5000)
    shop.push()
    [mismatch] = central.exceptions("recalculation_mismatch")
    assert mismatch["customer_id"] == customer_id
    assert mismatch["details"]["edge_vouchers"][0][1] == 5000
    assert mismatch["details"]["central_vouchers"][0][1] == 500


BIRTHDAY = {**DEMO_RULES, "vouchers": {"birthday": {"amount": 1000, "valid_days": 14}}}


def test_birthday_vouchers_go_to_todays_birthdays_once_and_reach_every_shop(central, run_central):
    central.publish(BIRTHDAY)
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    today = central.clock().date()
    born = {"today": f"1990-{today:%m-%d}", "other": "1990-01-01" if today.month != 1 else "1990-06-01"}
    ids = {}
    for name, birth_date in born.items():
        ids[name] = str(uuid.uuid4())
        shop_a.append("customer.registered", {
            "customer_id": ids[name], "card_number": f"2{uuid.uuid4().int % 10**12:012d}", "first_name": name,
            "last_name": "Pop", "email": None, "phone": None, "birth_date": birth_date, "tier": "Basic"})
    shop_a.push()

    first = run_central("vouchers", "birthdays", "--date", today.isoformat(), "--json",
                        "--database", central.url, "--key-file", central.key_file)
    assert first.returncode == 0, first.stderr
    [voucher] = json.loads(first.stdout)["issued"]
    assert (voucher["customer_id"], voucher["amount"]) == (ids["today"], 1000)
    again = run_central("vouchers", "birthdays", "--date", today.isoformat(), "--json",
                        "--database", central.url, "--key-file", central.key_file)
    assert json.loads(again.stdout)["issued"] == []

    [state] = feed(shop_b, "voucher.state")
    assert (state["code"], state["status"], state["customer_id"]) == (voucher["code"], "active", ids["today"])
    pay_with(shop_b, "voucher", voucher["code"], 1000, 1000)
    shop_b.push()
    assert central.exceptions("voucher_invalid") == [] and central.exceptions("voucher_double_use") == []


def test_a_bad_birthday_date_is_one_clear_line(central, run_central):
    result = run_central("vouchers", "birthdays", "--date", "1 December", "--database", central.url,
                         "--key-file", central.key_file)
    assert result.returncode == 1
    assert result.stderr.strip() == "fidelis-central: --date must be a date as YYYY-MM-DD, not '1 December'"


def test_a_turnover_campaign_rewards_customers_with_enough_visits_and_spend(central, run_central):
    central.publish()
    shop_a, shop_b = central.edge("S001"), central.edge("S002")
    regular, once, elsewhere = shop_a.register(), shop_a.register(), shop_a.register()
    shop_a.sell(regular, _lines(6000))
    returned = shop_a.sell(regular, _lines(6000))
    shop_a.give_back(returned, returned["points_earned"])  # refunds count against turnover
    shop_a.sell(regular, _lines(9000))
    shop_a.sell(once, _lines(50000))
    shop_a.push()
    for _ in range(3):
        shop_b.sell(elsewhere, _lines(20000))
    shop_b.push()
    today = central.clock().date().isoformat()
    campaign = ["vouchers", "turnover", "--from", today, "--to", today, "--min-visits", "2", "--min-turnover", "10000",
                "--percent", "10", "--store", "S001", "--json", "--database", central.url, "--key-file",
                central.key_file]
    first = run_central(*campaign)
    assert first.returncode == 0, first.stderr
    [voucher] = json.loads(first.stdout)["issued"]
    assert (voucher["customer_id"], voucher["amount"]) == (regular, 1500)  # 10 % of 60.00 + 90.00
    assert json.loads(run_central(*campaign).stdout)["issued"] == []
    [state] = feed(shop_a, "voucher.state")
    assert (state["code"], state["stores"]) == (voucher["code"], ["S001"])
    assert feed(shop_b, "voucher.state") == []  # valid at S001 only: no other shop is sent it

    both = run_central(*campaign[:10], "--amount", "500", "--percent", "5", *campaign[12:])
    assert both.returncode == 1 and "either --percent or --amount" in both.stderr
