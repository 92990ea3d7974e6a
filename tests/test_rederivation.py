"""The edge's quote and central's re-derivation agree for generated baskets: the sale's log
body as the edge writes it, read by ``sync.sale_bodies`` and priced again as central does, gives the
same points and the same line discounts, in the brand currency or another, with or without a
VIP card; the vouchers the quote previews are the ones central derives for the sale."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from central import vouchers as central_vouchers
from central.pushrows import earning_of
from shared.engine import Payment, price_sale, tier_discounts
from shared.vip import with_vip
from shared.vouchers import AtSale, VoucherTier, offered_at_sale
from sync.sale_bodies import SaleCompleted
from test_shared_currency import rates
from test_shared_engine import FAST, lines, rule_sets, tiers_of


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=6),
       rate=st.one_of(st.none(), rates), vip=st.sampled_from([0, 0, 5, 15, 100]))
@FAST
def test_quote_and_central_agree(data, rules, basket, rate, vip) -> None:
    tier = data.draw(tiers_of(rules))
    priced, _ = price_sale(basket, None, rules, spendable=0, tier=with_vip(tier, vip),
                                  rate=Fraction(rate) if rate else None)
    assert priced.points_to_earn >= 0
    body = {
        "sale_id": "s1", "customer_id": "c1", "rules_version": 1, "tier": tier.name if tier else None,
        "lines": [{"sku": line.sku, "qty": line.qty, "unit_price": line.unit_price, "discount": line.discount,
                   "tier_discount": discount, **({"category": line.category} if line.category else {})}
                  for line, discount in zip(basket, priced.tier_discounts)],
        "payments": [{"method": "cash", "amount": priced.total}],
        "total": priced.total, "eligible_amount": priced.eligible_amount, "points_earned": priced.points_to_earn,
        **({"currency": "EUR", "rate": rate} if rate else {}),
        **({"vip": {"code": "#VIP#1", "discount_percent": vip}} if vip else {}),
    }
    facts = SaleCompleted.read(body)
    central = earning_of(rules, facts, facts.vip_percent)
    assert (central.points, central.eligible_amount) == (priced.points_to_earn, priced.eligible_amount)
    assert tier_discounts(facts.engine_lines(), with_vip(rules.tier(facts.tier), facts.vip_percent)) == \
        facts.tier_discounts()


@given(rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=4), rate=rates,
       spent=st.integers(1, 10**4))
@FAST
def test_points_never_pay_in_another_currency_whatever_the_basket(rules, basket, rate, spent) -> None:
    quote, problems = price_sale(basket, [Payment("points", points=spent)], rules, spendable=10**6, tier=None,
                                 rate=Fraction(rate))
    assert "currency_not_payable_with_points" in [p.code for p in problems]
    assert quote.max_points_redeemable == 0


VOUCHER_TABLES = [  # seed B's tables
    (VoucherTier(5000, percent=5), VoucherTier(10000, percent=10), VoucherTier(15000, percent=15)),
    (VoucherTier(5000, amount=500), VoucherTier(10000, amount=1000), VoucherTier(15000, amount=1500)),
]


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=6),
       table=st.sampled_from(VOUCHER_TABLES))
@FAST
def test_the_quotes_voucher_preview_is_what_central_derives_for_the_sale(data, rules, basket, table) -> None:
    rules = replace(rules, vouchers_at_sale=AtSale(table, 30))
    tier = data.draw(tiers_of(rules))
    at = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    priced, _ = price_sale(basket, None, rules, spendable=0, tier=tier)
    body = {
        "sale_id": "s1", "customer_id": "c1", "rules_version": 1, "tier": tier.name if tier else None,
        "lines": [{"sku": line.sku, "qty": line.qty, "unit_price": line.unit_price, "discount": line.discount,
                   "tier_discount": discount} for line, discount in zip(basket, priced.tier_discounts)],
        "payments": [{"method": "cash", "amount": priced.total}],
        "total": priced.total, "eligible_amount": priced.eligible_amount, "points_earned": priced.points_to_earn,
    }
    derived = central_vouchers.derived(SaleCompleted.read(body), rules, "S001", at)
    assert [v.amount for v in offered_at_sale(priced.total, rules.vouchers_at_sale, "S001", at)] == \
        [amount for _, amount in derived]


MONEY_METHODS = ["cash", "card", "wallet", "gift_card", "voucher"]


@given(data=st.data(), rules=rule_sets(), basket=st.lists(lines(), min_size=1, max_size=6),
       methods=st.lists(st.sampled_from(MONEY_METHODS), min_size=1, max_size=4))
@FAST
def test_every_payment_method_is_priced_and_derived_alike(data, rules, basket, methods) -> None:
    """However the total is split between cash, card, wallet, gift cards and vouchers, the till
    takes the payments and central derives the same points from the body the edge writes."""
    tier = data.draw(tiers_of(rules))
    total = price_sale(basket, None, rules, spendable=0, tier=tier)[0].total
    cuts = sorted(data.draw(st.lists(st.integers(0, total), min_size=len(methods) - 1,
                                     max_size=len(methods) - 1)))
    amounts = [high - low for low, high in zip([0, *cuts], [*cuts, total])]
    payments = [Payment(method, amount=amount, code=f"CODE{n:04d}" if method in ("gift_card", "voucher") else None)
                for n, (method, amount) in enumerate(zip(methods, amounts))]
    priced, problems = price_sale(basket, payments, rules, spendable=0, tier=tier)
    assert not {"payment_mismatch", "currency_not_payable_with_stored_value"} & {p.code for p in problems}
    body = {
        "sale_id": "s1", "customer_id": "c1", "rules_version": 1, "tier": tier.name if tier else None,
        "lines": [{"sku": line.sku, "qty": line.qty, "unit_price": line.unit_price, "discount": line.discount,
                   "tier_discount": discount, **({"category": line.category} if line.category else {})}
                  for line, discount in zip(basket, priced.tier_discounts)],
        "payments": [{"method": p.method, "amount": p.amount, **({"code": p.code} if p.code else {})}
                     for p in payments],
        "total": priced.total, "eligible_amount": priced.eligible_amount, "points_earned": priced.points_to_earn,
    }
    facts = SaleCompleted.read(body)
    central = earning_of(rules, facts, facts.vip_percent)
    assert (central.points, central.eligible_amount) == (priced.points_to_earn, priced.eligible_amount)
    assert central.points >= 0
