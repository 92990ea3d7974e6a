"""The wallet at central: signed entries applied brand-wide, re-derived, sent back in the feed,
overdrafts queued, holds for online spending. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

DEMO_RULES = json.loads((Path(__file__).resolve().parents[2] / "demo" / "rules.json").read_text())
RULES = {**DEMO_RULES, "wallet": {"ceiling": 15000, "offline_cap": 5000,
                                                  "types": [{"name": "KDO", "amount": 5000, "category": "pants"}]}}


def load(edge, customer_id, amount, **extra):
    body = {"load_id": str(uuid.uuid4()), "customer_id": customer_id, "amount": amount, "till_id": None,
            "rules_version": 0, **extra}
    edge.append("wallet.loaded", body)
    return body


def pay(edge, customer_id, amount, price=2500, sale_id=None):
    """A sale of one line paid ``amount`` from the wallet and the rest in cash."""
    body = edge.sale_body(customer_id, [{"sku": "A1", "qty": 1, "unit_price": price, "discount": 0}],
                          sale_id=sale_id)
    body["payments"] = [{"method": "wallet", "amount": amount}] + (
        [{"method": "cash", "amount": price - amount}] if price > amount else [])
    body["wallet"] = [{"category": None, "amount": amount}]
    edge.append("sale.completed", body)
    return body


def give_back(edge, sale, wallet_amount):
    """A full return of ``sale`` putting ``wallet_amount`` back on the wallet."""
    body = {"return_id": str(uuid.uuid4()), "sale_id": sale["sale_id"], "customer_id": sale["customer_id"],
            "lines": [{"sku": line["sku"], "qty": line["qty"]} for line in sale["lines"]],
            "amount_refunded": sale["total"], "points_reversed": sale["points_earned"], "rules_version": 0,
            "eligible_reversed": sale["eligible_amount"], "wallet": [{"category": None, "amount": wallet_amount}]}
    edge.append("sale.returned", body)
    return body


def wallet_state(edge, customer_id):
    items = edge.pull().json["items"]
    states = [i["body"] for i in items if i["kind"] == "customer.state" and i["body"]["customer"]["id"] == customer_id]
    return states[-1]["wallet"]


def test_loads_spends_and_a_full_return_make_the_brand_wide_balance(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 10000)
    sale = pay(edge, cid, 2500)
    assert edge.push().status_code == 200
    assert central.customer(cid)["wallet"]["balance"] == 7500
    assert wallet_state(edge, cid) == {"balance": 7500, "pockets": [{"category": None, "balance": 7500}]}
    give_back(edge, sale, 2500)
    assert edge.push().status_code == 200
    assert central.customer(cid)["wallet"]["balance"] == 10000
    assert central.exceptions() == []  # re-derived with no mismatch


def test_a_return_recrediting_more_than_the_wallet_paid_is_a_mismatch(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 5000)
    sale = pay(edge, cid, 1000)
    give_back(edge, sale, 2500)
    edge.push()
    mismatch = central.exceptions("recalculation_mismatch")
    assert len(mismatch) == 1
    assert mismatch[0]["details"]["central_wallet"] == [{"category": None, "amount": 1000}]
    assert central.customer(cid)["wallet"]["balance"] == 6500  # the edge's figure stands


def test_two_shops_spending_one_wallet_offline_is_an_overdraft(central):
    first, second = central.edge("S001", rules_document=RULES), central.edge("S002", rules_document=RULES)
    cid = first.register()
    load(first, cid, 6000)
    first.push()
    second.pull()
    pay(first, cid, 5000, price=5000)
    pay(second, cid, 5000, price=5000)
    first.push()
    assert central.exceptions("wallet_overdraft") == []
    second.push()
    overdraft = central.exceptions("wallet_overdraft")
    assert len(overdraft) == 1
    assert overdraft[0]["details"]["balance"] == -4000
    assert sorted(overdraft[0]["details"]["devices"]) == sorted([first.device_id, second.device_id])
    assert central.customer(cid)["wallet"]["balance"] == -4000
    load(first, cid, 5000)
    first.push()
    assert central.customer(cid)["wallet"]["balance"] == 1000  # a later load repays the overdraft
    assert len(central.exceptions("wallet_overdraft")) == 1


def test_points_converted_leave_the_ledger_and_credit_the_wallet(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    edge.sell(cid, [{"sku": "A1", "qty": 1, "unit_price": 10000, "discount": 0}])  # 10 points
    edge.append("wallet.converted", {"conversion_id": str(uuid.uuid4()), "customer_id": cid, "points": 6,
                                     "amount": 60, "rules_version": 0})
    edge.append("wallet.converted", {"conversion_id": str(uuid.uuid4()), "customer_id": cid, "points": 1,
                                     "amount": 99, "rules_version": 0})  # wrong: a point is worth 10
    edge.push()
    customer = central.customer(cid)
    assert customer["points"]["available"] == 3
    assert customer["wallet"]["balance"] == 159
    mismatch = central.exceptions("recalculation_mismatch")
    assert [(m["details"]["edge_amount"], m["details"]["central_amount"]) for m in mismatch] == [(99, 10)]


def test_a_typed_load_is_held_to_its_type(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 5000, type="KDO", category="pants")
    load(edge, cid, 4000, type="KDO", category="pants")
    edge.push()
    assert central.customer(cid)["wallet"]["pockets"] == [{"category": "pants", "balance": 9000}]
    assert len(central.exceptions("recalculation_mismatch")) == 1


def test_a_malformed_wallet_list_is_rejected_and_nothing_of_the_sale_applies(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 5000)
    body = edge.sale_body(cid)
    body["payments"] = [{"method": "wallet", "amount": 2500}]
    body["wallet"] = [{"category": None, "amount": 2000}]  # does not add up to the wallet payments
    edge.append("sale.completed", body)
    reply = edge.push().json
    assert reply["results"][-1]["status"] == "rejected"
    assert reply["results"][-1]["reason"] == "malformed_body"
    assert central.customer(cid)["wallet"]["balance"] == 5000
    assert central.customer(cid)["points"]["available"] == 0


def test_a_wallet_entry_for_an_unknown_customer_is_rejected(central):
    edge = central.edge(rules_document=RULES)
    load(edge, str(uuid.uuid4()), 100)
    assert edge.push().json["results"][-1]["reason"] == "unknown_customer"


def test_a_hold_reserves_wallet_money_until_the_sale_settles_it(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 3000)
    edge.push()
    sale_id = str(uuid.uuid4())
    held = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 2000, "sale_id": sale_id})
    assert held.status_code == 200, held.json
    assert held.json["available"] == 1000
    assert central.customer(cid)["wallet"]["held"] == 2000
    other = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 1500,
                                                              "sale_id": str(uuid.uuid4())})
    assert other.status_code == 422 and other.json["error"]["code"] == "insufficient_wallet"
    pay(edge, cid, 2000, sale_id=sale_id)
    edge.push()
    customer = central.customer(cid)
    assert customer["wallet"] == {"balance": 1000, "held": 0, "pockets": [{"category": None, "balance": 1000}]}


def test_a_released_hold_gives_the_money_back(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 3000)
    edge.push()
    sale_id = str(uuid.uuid4())
    edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 3000, "sale_id": sale_id})
    assert central.customer(cid)["wallet"]["held"] == 3000
    released = edge.request("DELETE", f"/sync/v1/wallet/holds/{sale_id}")
    assert released.json == {"sale_id": sale_id, "released": True}
    assert central.customer(cid)["wallet"]["held"] == 0
    bad = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 1.5, "sale_id": sale_id})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "validation_error"


def test_a_wallet_hold_answers_in_the_wallets_own_words(central):
    edge = central.edge(rules_document=RULES)
    cid = edge.register()
    load(edge, cid, 3000)
    edge.push()
    sale_id = str(uuid.uuid4())
    short = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 5000, "sale_id": sale_id})
    assert (short.status_code, short.json["error"]["code"]) == (422, "insufficient_wallet")
    assert short.json["error"]["message"] == "5000 requested, 3000 in the wallet"
    assert short.json["error"]["details"]["available"] == 3000
    first = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 1000, "sale_id": sale_id})
    again = edge.request("POST", "/sync/v1/wallet/authorize", {"customer_id": cid, "amount": 2000, "sale_id": sale_id})
    assert again.json["hold_id"] == first.json["hold_id"] and again.json["available"] == 1000  # replaced, not added
    stranger = central.edge("S002").request("DELETE", f"/sync/v1/wallet/holds/{sale_id}")
    assert (stranger.status_code, stranger.json["error"]["code"]) == (403, "hold_not_yours")
    assert stranger.json["error"]["message"] == f"the wallet hold for sale {sale_id} was made by another device"
    pay(edge, cid, 2000, sale_id=sale_id)
    edge.push()
    settled = edge.request("DELETE", f"/sync/v1/wallet/holds/{sale_id}")
    assert (settled.status_code, settled.json["error"]["code"]) == (409, "hold_settled")
    assert settled.json["error"]["message"] == f"the wallet hold for sale {sale_id} is already settled by its sale"
    nothing = edge.request("DELETE", f"/sync/v1/wallet/holds/{uuid.uuid4()}")
    assert (nothing.status_code, nothing.json["released"]) == (200, False)


def test_a_merge_moves_the_wallet_to_the_customer_kept(central):
    edge = central.edge(rules_document=RULES)
    keep, absorb = edge.register(), edge.register(first_name="Ann")
    load(edge, keep, 1000)
    load(edge, absorb, 2500)
    edge.push()
    merged = central.api("POST", "/api/v1/customers/merge", {"keep": keep, "absorb": absorb})
    assert merged.status_code == 200, merged.json
    assert merged.json["wallet"]["balance"] == 3500


def test_publishing_a_wallet_section_lists_every_problem(central):
    bad = {**DEMO_RULES, "wallet": {"ceiling": "150", "types": [{"name": "KDO", "amount": 0}, {"name": "KDO"}]}}
    refused = central.api("POST", "/api/v1/rules", bad)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "invalid_rules"
    assert sorted(p["path"] for p in refused.json["error"]["details"]["problems"]) == [
        "wallet.ceiling", "wallet.types", "wallet.types[0].amount"]
    assert central.api("POST", "/api/v1/rules", RULES).status_code == 201
