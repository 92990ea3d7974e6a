"""A push's effects of a sale and of a return: the sale row, points earned and redeemed, what
the sale adds to (and a return takes from) qualifying spend, and central's own re-derivation of
the sale's points and tier discounts under the rules version the edge used.

``SaleEffects`` is part of ``central.effects.Batch``: its methods read and add to the batch's
state (customers, sales, returns, rows to write) and hand the gift-card, voucher and wallet
parts of an entry to the batch's books.
"""

from __future__ import annotations

from shared.engine import Earning, tier_discounts
from shared.times import format_time
from shared.vip import with_vip
from sync import bodies
from sync.sale_bodies import SaleCompleted, SaleReturned

from . import exceptions as queue
from . import vip
from .pushrows import DUPLICATE_RETURN, earning_of


class SaleEffects:
    """``sale.completed`` and ``sale.returned`` applied in memory (a part of ``central.effects.Batch``)."""

    def _sale_completed(self, entry: dict, body: dict) -> str | None:
        facts = SaleCompleted.read(body)
        paid = facts.pockets()
        if facts.sale_id in self.sales:
            self._conflict(queue.DUPLICATE_SALE, entry, customer_id=facts.customer_id, sale_id=facts.sale_id)
            return queue.DUPLICATE_SALE
        cid = self._live(facts.customer_id)
        if cid is not None and cid not in self.customers:
            self._conflict(queue.UNKNOWN_CUSTOMER, entry, customer_id=cid, sale_id=facts.sale_id)
            return queue.UNKNOWN_CUSTOMER
        at = format_time(bodies.entry_time(entry["at"], self.now))
        earning = self._recalculate(entry, facts)
        # Tiers follow the spend central derives itself; the edge's figure only when central
        # cannot price the sale (an unknown rules version, already queued as an exception).
        qualifying = earning.eligible_amount if earning is not None else facts.eligible_amount
        self.sales[facts.sale_id] = cid
        self.qualifying[facts.sale_id] = qualifying
        self.gift_cards.sale(entry, facts, cid)
        self.vouchers.sale(entry, facts, cid, self._ruleset(facts.rules_version), bodies.entry_time(entry["at"], self.now))
        total = facts.conversion.to_brand(facts.total) if facts.conversion else facts.total  # in the brand currency
        self.sale_rows.append((facts.sale_id, entry["id"], self.device.id, cid, facts.till_id, total,
                               facts.eligible_amount, facts.points_earned, facts.points_paid, facts.reward_points,
                               facts.rules_version, facts.tier, at, qualifying))
        if cid is None:
            return None
        if facts.points_earned:
            self._movement(f"{facts.sale_id}:earn", cid, "earn", facts.points_earned, at, entry, facts.sale_id,
                           available_at=facts.available_at or at, expires_at=facts.expires_at)
        redeemed = facts.points_paid + facts.reward_points
        if redeemed:
            self._movement(f"{facts.sale_id}:redeem", cid, "redeem", -redeemed, at, entry, facts.sale_id)
        self.settle[facts.sale_id] = entry["id"]
        self.wallet.sale(entry, facts, paid, cid, at)
        self.customers[cid].qualifying_spend += qualifying
        self.changed.add(cid)
        self.touched[cid] = entry["seq"]
        return None

    def _recalculate(self, entry: dict, facts: SaleCompleted) -> Earning | None:
        """Re-derive the sale's points and tier discounts from its lines under its own rule version
        (None: unknown version)."""
        rules = self._ruleset(facts.rules_version)
        if rules is None:
            self._conflict(queue.UNKNOWN_RULES_VERSION, entry, customer_id=facts.customer_id, sale_id=facts.sale_id,
                           rules_version=facts.rules_version)
            return None
        percent = self._vip_percent(entry, facts)
        earning = earning_of(rules, facts, percent)
        recorded = facts.tier_discounts()
        tier = with_vip(rules.tier(facts.tier), percent)
        derived = recorded
        if any(recorded) or (tier is not None and tier.discount_percent):
            derived = tier_discounts(facts.engine_lines(), tier)
        points = earning.points if self._enrolled(entry, facts) else 0
        if points != facts.points_earned or derived != recorded:
            self._conflict(queue.RECALCULATION_MISMATCH, entry, customer_id=facts.customer_id, sale_id=facts.sale_id,
                           rules_version=facts.rules_version, edge_points=facts.points_earned,
                           central_points=points, edge_eligible=facts.eligible_amount,
                           central_eligible=earning.eligible_amount, edge_tier_discounts=list(recorded),
                           central_tier_discounts=list(derived))
        return earning

    def _vip_percent(self, entry: dict, facts: SaleCompleted) -> int:
        """The discount of the sale's VIP card as central issued it: 0 when the card is unknown,
        another customer's or past its last day at the sale (the edge's discount then differs)."""
        if facts.vip_code is None:
            return 0
        card = vip.card_for(facts.vip_code)
        if card is None or card.customer_id != self._live(facts.customer_id):
            return 0
        return card.discount_percent if card.valid_at(bodies.entry_time(entry["at"], self.now)) else 0

    def _enrolled(self, entry: dict, facts: SaleCompleted) -> bool:
        """Whether the sale's customer earns under its rules' enrolment window (nobody earns on an
        anonymous sale): from the customer's registration and the sale's time, as the edge decides."""
        if facts.customer_id is None:
            return False
        rules = self._ruleset(facts.rules_version)
        customer = self.customers.get(self._live(facts.customer_id) or "")
        if rules is None or rules.enrolment is None or customer is None or customer.registered_at is None:
            return True
        return rules.enrolment.earns(bodies.normal_time(customer.registered_at),
                                     bodies.entry_time(entry["at"], self.now))

    def _sale_returned(self, entry: dict, body: dict) -> str | None:
        facts = SaleReturned.read(body)
        back = facts.pockets()
        if facts.return_id in self.returns:
            self._conflict(DUPLICATE_RETURN, entry, customer_id=facts.customer_id, return_id=facts.return_id)
            return DUPLICATE_RETURN
        if facts.sale_id not in self.sales:
            self._conflict(queue.UNKNOWN_SALE, entry, customer_id=facts.customer_id, sale_id=facts.sale_id)
            return queue.UNKNOWN_SALE
        cid = self._live(facts.customer_id or self.sales[facts.sale_id])
        if cid is not None and cid not in self.customers:
            self._conflict(queue.UNKNOWN_CUSTOMER, entry, customer_id=cid, sale_id=facts.sale_id)
            return queue.UNKNOWN_CUSTOMER
        at = format_time(bodies.entry_time(entry["at"], self.now))
        self.returns.add(facts.return_id)
        self.vouchers.returned(facts)
        self.return_rows.append((facts.return_id, entry["id"], facts.sale_id, self.device.id, cid,
                                 facts.amount_refunded, facts.points_reversed, at))
        taken = min(facts.eligible_reversed, self.qualifying.get(facts.sale_id, 0))
        if taken:
            self.qualifying[facts.sale_id] -= taken
            self.reduced_sales.add(facts.sale_id)
        if cid is not None:
            if taken:
                self.customers[cid].qualifying_spend -= taken
                self.changed.add(cid)
            if facts.points_reversed:
                self._movement(f"{facts.return_id}:reverse", cid, "reverse", -facts.points_reversed, at, entry,
                               facts.sale_id, lot=f"{facts.sale_id}:earn")
            self.wallet.returned(entry, facts, back, cid, at)
            self.touched[cid] = entry["seq"]
        return None

