"""Quoting and committing sales on the edge: the request read, the basket priced, central's
holds asked for, the sale committed.

A committed sale, its point movements, the customer's qualifying spend and its change-log
entry are written in one transaction: all of it or none of it. How a sale reads as JSON
(answered, stored, logged) is ``edge.saleviews``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.currency import Conversion, parse_conversion, to_brand
from shared.engine import Line, Payment, Quote, SaleProblem, price_sale
from shared.ledger import Movement, available_from, expires_at
from shared.rules import RuleSet
from shared.times import format_time, parse_time
from shared.vip import with_vip
from sync.client import Refused
from sync.sale_bodies import SaleCompleted

from . import (accounts, checkpoints, customers, giftcards, rulebook, saleviews, schemas, syncer, vip, vouchers, wallet,
               walletledger)
from .box import EdgeBox
from .db import database, write_transaction
from .errors import ApiError
from .models import Customer, PointMovement, Sale, fast_insert
from .validation import read_body

MAX_LINES, MAX_QTY = schemas.MAX_LINES, schemas.MAX_QTY


@dataclass(frozen=True)
class SaleRequest:
    customer_id: str | None
    card_number: str | None
    lines: tuple[Line, ...]
    names: tuple[str | None, ...]
    payments: tuple[Payment, ...] | None
    conversion: Conversion | None = None  # a sale in another currency
    vip_code: str | None = None  # a VIP card (edge.vip)

    @property
    def rate(self):
        return self.conversion.rate if self.conversion else None


def validate_sale(body: Any, *, payments_required: bool) -> SaleRequest:
    """Read a sale (or quote) body; 422 ``validation_error`` listing every problem."""
    basket = read_body(schemas.SaleRequest if payments_required else schemas.Basket, body)
    lines = tuple(Line(x.sku, x.qty, x.unit_price, x.discount, x.category, x.reward) for x in basket.lines)
    payments = None
    if basket.payments is not None:
        payments = tuple(Payment("points", points=p.points) if p.method == "points"
                         else Payment(p.method, amount=p.amount, code=p.code.upper() if p.code else None)
                         for p in basket.payments)
    conversion, _ = parse_conversion(basket.currency, basket.rate)  # the body's own check listed any problem
    return SaleRequest(basket.customer_id, basket.card_number, lines, tuple(x.name for x in basket.lines), payments,
                       conversion, basket.vip_code)


def _customer_of(request: SaleRequest, now: datetime, box: EdgeBox | None = None) -> Customer | None:
    """The sale's customer; with ``box``, a card this shop does not know is asked of central."""
    if request.customer_id:
        return customers.get(request.customer_id, box)
    if request.card_number:
        return customers.lookup(card=request.card_number, box=box)
    if request.vip_code:
        return customers.get(vip.card(request.vip_code, None, now).customer_id)
    return None


def _vip_percent(request: SaleRequest, customer: Customer | None, now: datetime) -> int:
    """The discount of the sale's VIP card (0 without one); 422 ``vip_card_invalid`` for a bad card."""
    if not request.vip_code:
        return 0
    return vip.card(request.vip_code, customer.id if customer else None, now).discount_percent


def _enrolled(customer: Customer | None, rules: RuleSet, now: datetime) -> bool:
    """Whether the customer earns on a sale now: known, and enrolled under the rules' window."""
    if customer is None or rules.enrolment is None:
        return customer is not None
    return rules.enrolment.earns(parse_time(customer.created_at), now)


def _committed_customer(box: EdgeBox, request: SaleRequest, ticket: "Ticket", now: datetime) -> Customer | None:
    """Inside the sale's transaction: the customer, or a provisional one for a card central
    could not be asked about before the sale (``Ticket.provisional_card``)."""
    try:
        return _customer_of(request, now)
    except ApiError as exc:
        if exc.code != "customer_not_found" or not ticket.provisional_card or not request.card_number:
            raise
        return customers.register_provisional(box, request.card_number.strip(), now)


def _price(request: SaleRequest, customer: Customer | None, rules: RuleSet, acct: accounts.Account | None,
           now: datetime, spendable: int | None = None):
    if customer is not None and customer.provisional:
        spendable = 0  # a card central has not linked yet earns, and spends nothing
    elif customer is not None and spendable is None:
        spendable = accounts.offline_spendable(acct, rules, now)
    tier = with_vip(rules.tier(customer.tier) if customer else None, _vip_percent(request, customer, now))
    return price_sale(request.lines, request.payments, rules, spendable=spendable, tier=tier, rate=request.rate)


def quote(request: SaleRequest, now: datetime, box: EdgeBox) -> dict[str, Any]:
    """Price a basket without committing anything (``box``: ask central about an unknown card).

    Gift card and voucher payments are checked as the sale checks them, reading only: a payment
    the sale would refuse is listed in ``problems`` with the sale's code (``gift_card_used``,
    ``gift_card_invalid``, ``voucher_invalid``) and details; ``vouchers_issued`` previews what
    the sale would issue, without codes (a code comes from the sale's id).
    """
    customer = _customer_of(request, now, box)
    rules = rulebook.in_force(now)
    acct = accounts.account(customer.id) if customer else None
    priced, problems = _price(request, customer, rules, acct, now)
    cards, refused = [], []
    try:  # reads only; listed beside the pricing problems, as the quote always answers 200
        cards = giftcards.check(request.payments, now)
        vouchers.check(request.payments, box.store_code, now)
    except ApiError as exc:
        refused.append({"code": exc.code, "message": exc.message, "details": exc.details})
    return {
        "lines": saleviews.lines_json(request.lines, request.names, priced.tier_discounts),
        "tier": customer.tier if customer else None,
        "tier_discount": priced.tier_discount,
        "total": priced.total,
        "eligible_amount": priced.eligible_amount,
        "points_to_earn": priced.points_to_earn if _enrolled(customer, rules, now) else 0,
        "max_points_redeemable": priced.max_points_redeemable,
        "rewards": [
            {"sku": r.sku, "name": r.name, "cost": r.cost, "affordable": r.affordable} for r in priced.rewards
        ],
        "rules_version": rules.version,
        "problems": [{"code": p.code, "message": p.message} for p in problems if p.code != "payment_mismatch"]
        + refused,
        **saleviews.currency_json(request.conversion, priced),
        **saleviews.vip_json(request.vip_code, _vip_percent(request, customer, now)),
        "gift_cards": cards,
        "vouchers_issued": vouchers.offered(to_brand(priced.total, request.rate), rules, box.store_code, now),
    }


@dataclass(frozen=True)
class Ticket:
    """What was settled before the write: the sale's id and central's word on spending."""

    sale_id: str
    central_available: int | None = None  # None: not asked (no points spent) or offline
    held: int = 0  # points central holds for this sale until its entry arrives or it is released
    wallet_available: int | None = None  # what central let the wallet pay; None: not asked or offline
    wallet_held: int = 0  # wallet money central holds for this sale
    provisional_card: bool = False  # an unknown card, central unreachable: recorded provisionally


def _points_spent(request: SaleRequest, rules: RuleSet) -> int:
    points = sum(p.points for p in request.payments or () if p.is_points)
    return points + sum(line.qty * r.cost for line in request.lines if line.reward and (r := rules.reward(line.sku)))


def check(request: SaleRequest, customer: Customer | None, rules: RuleSet, now: datetime) -> None:
    """Refuse, with its own code, every sale the edge can judge without central.

    Points are checked against everything the edge knows the customer has (central's last
    balance plus this edge's movements since, pending included, as central may have made
    it available meanwhile), not against the offline cap: online, central decides how much
    of the brand-wide balance may be spent.
    """
    known = None
    if customer is not None:
        known = 0
        if _points_spent(request, rules):  # a sale paid only from the wallet need not fold the points
            points = accounts.account(customer.id).points(now)
            known = points.available + points.pending
    priced, problems = _price(request, customer, rules, None, now, known)
    if problems:
        raise _refuse(problems)
    from_wallet = walletledger.paid(request.payments)
    if from_wallet:  # against what the edge knows of the wallet; central holds it next
        walletledger.spend_split(customer, from_wallet, request.lines, priced, rules, None, offline=False)


def authorize(box: EdgeBox, request: SaleRequest, now: datetime) -> Ticket:
    """Check the sale, then ask central to hold the points and wallet money it spends; outside
    any lock, at most ~1 s each.

    Central is asked only for a sale that would commit: whatever the edge can refuse itself
    is refused first (``check``). Central's refusal is final (422 ``insufficient_points`` or
    ``insufficient_wallet``); no answer means offline and the offline allowances apply at
    commit. A ticket with ``held`` points or ``wallet_held`` money must be settled by the
    sale's entry or given back with ``release``.
    """
    ticket = Ticket(str(uuid.uuid4()))
    from_wallet = walletledger.paid(request.payments)
    spends = any(p.is_points for p in request.payments or ()) or any(line.reward for line in request.lines)
    try:
        customer = _customer_of(request, now, box)
    except customers.CardUnknownOffline:
        if spends or from_wallet:
            code = "insufficient_points" if spends else "insufficient_wallet"
            raise ApiError(422, code, "a card this shop does not know cannot spend points or wallet money while "
                           "central is unreachable; it still earns", {"available": 0}) from None
        return Ticket(ticket.sale_id, provisional_card=True)
    if not spends and not from_wallet:
        return ticket
    rules = rulebook.in_force(now)
    check(request, customer, rules, now)
    points = _points_spent(request, rules)
    if customer is not None and from_wallet:
        available = wallet.authorize(box, customer.id, from_wallet, ticket.sale_id)
        ticket = replace(ticket, wallet_available=available, wallet_held=from_wallet if available is not None else 0)
    if customer is None or not points:
        return ticket
    try:
        available = syncer.authorize(box, customer.id, points, ticket.sale_id)
    except Refused as exc:
        release(box, ticket)  # the wallet's hold, if any
        raise ApiError(422, "insufficient_points", f"central refused: {exc.message if hasattr(exc, 'message') else exc}",
                       {"available": exc.details.get("available")}) from None
    return replace(ticket, central_available=available, held=points if available is not None else 0)


def release(box: EdgeBox, ticket: Ticket) -> None:
    """Give back central's hold for a sale that was not recorded (best effort, never raises)."""
    if ticket.held:
        syncer.release(box, ticket.sale_id)
    if ticket.wallet_held:
        wallet.release(box, ticket.sale_id)


def _refuse(problems: list[SaleProblem]) -> ApiError:
    first = problems[0]
    status = 422
    return ApiError(
        status, first.code, first.message, {"problems": [{"code": p.code, "message": p.message} for p in problems]}
    )


def commit(
    box: EdgeBox, request: SaleRequest, till_id: str | None, now: datetime, ticket: Ticket | None = None
) -> dict[str, Any]:
    """Commit a sale: the sale, its point movements and its log entry in one transaction."""
    ticket = ticket or Ticket(str(uuid.uuid4()))
    with write_transaction():
        customer = _committed_customer(box, request, ticket, now)
        rules = rulebook.in_force(now)
        acct = accounts.account(customer.id) if customer else None
        spendable = None
        if customer is not None and ticket.central_available is not None:
            spendable = ticket.central_available  # central authorized against the brand-wide balance
        priced, problems = _price(request, customer, rules, acct, now, spendable)
        if problems:
            raise _refuse(problems)
        from_wallet = walletledger.paid(request.payments)
        split = walletledger.spend_split(customer, from_wallet, request.lines, priced, rules,
                                         ticket.wallet_available, offline=ticket.wallet_available is None) \
            if from_wallet else {}
        sale_id = ticket.sale_id
        stamp = format_time(now)
        cards_spent = giftcards.spend(request.payments, sale_id, now)
        vouchers.spend(request.payments, box.store_code, sale_id, now)
        earned = priced.points_to_earn if _enrolled(customer, rules, now) else 0
        log_seq = box.changelog.next_seq()
        parts = _write_movements(sale_id, customer, priced, earned, rules, now, acct.local, log_seq) if customer else {}
        if split:
            parts["wallet"] = tuple(walletledger.write_spend(customer.id, sale_id, split, stamp, log_seq))
        tier_before = customer.tier if customer else None
        if customer is not None:
            _add_qualifying_spend(customer, priced.eligible_amount, rules, stamp)
            checkpoints.save(customer.id, acct, log_seq, now)
        lines = saleviews.lines_json(request.lines, request.names, priced.tier_discounts)
        payments = [saleviews.payment_json(p) for p in request.payments or ()]
        fast_insert(
            Sale,
            id=sale_id,
            customer=customer.id if customer else None,
            till=till_id,
            total=priced.total,
            eligible_amount=priced.eligible_amount,
            points_earned=earned,
            points_paid=priced.points_paid,
            reward_points=priced.reward_points,
            rules_version=rules.version,
            tier=tier_before,
            lines=json.dumps(lines),
            payments=json.dumps(payments),
            created_at=stamp,
            log_seq=log_seq,
            currency=request.conversion.currency if request.conversion else None,
            rate=request.conversion.text if request.conversion else None,
            vip_percent=_vip_percent(request, customer, now),
        )
        brand_total = to_brand(priced.total, request.rate)  # what vouchers hold and their tiers count
        issued = vouchers.issue(sale_id, customer.id if customer else None, brand_total, rules, box.store_code, now)
        conversion = request.conversion
        box.changelog.write(SaleCompleted(
            sale_id=sale_id, customer_id=customer.id if customer else None, till_id=till_id, lines=tuple(lines),
            payments=tuple(payments), total=priced.total, eligible_amount=priced.eligible_amount,
            rules_version=rules.version, tier=tier_before, tier_after=customer.tier if customer else None,
            points_earned=earned, points_paid=priced.points_paid, reward_points=priced.reward_points,
            vouchers_issued=tuple(issued), conversion=conversion,
            converted_total=brand_total if conversion else None,
            original_eligible_amount=priced.earning.original_eligible if conversion else None,
            vip_code=request.vip_code or None, vip_percent=_vip_percent(request, customer, now), **parts,
        ))
        view = {
            "id": sale_id, "customer_id": customer.id if customer else None, "till_id": till_id,
            "created_at": stamp, "lines": lines, "payments": payments, "tier_discount": priced.tier_discount,
            "total": priced.total,
            "eligible_amount": priced.eligible_amount, "points_earned": earned,
            "points_redeemed": priced.points_redeemed, "rules_version": rules.version, "tier": tier_before,
            "returns": [], "gift_cards": cards_spent, "vouchers_issued": issued,
            **saleviews.currency_json(request.conversion, priced),
            **saleviews.vip_json(request.vip_code, _vip_percent(request, customer, now)),
        }
        if customer is not None:
            view["customer"] = accounts.customer_view(customer, rules, now, acct)
    return view


def _write_movements(
    sale_id: str, customer: Customer, priced: Quote, earned: int, rules: RuleSet, now: datetime,
    ledger: list[Movement], log_seq: int,
) -> dict[str, Any]:
    """Ledger rows for the sale, also appended to ``ledger``; returns the entry's points dates
    (``SaleCompleted``'s ``available_at`` and ``expires_at``, only when the sale earned)."""
    stamp = format_time(now)
    body: dict[str, Any] = {}
    if earned:
        available = available_from(rules, now)
        expiry = expires_at(rules, available)
        earn_id = f"{sale_id}:earn"
        fast_insert(
            PointMovement,
            id=earn_id,
            customer=customer.id,
            kind="earn",
            points=earned,
            at=stamp,
            available_at=format_time(available),
            expires_at=format_time(expiry) if expiry else None,
            sale=sale_id,
            log_seq=log_seq,
        )
        ledger.append(Movement("earn", earned, now, earn_id, available_at=available, expires_at=expiry))
        body["available_at"] = format_time(available)
        body["expires_at"] = format_time(expiry) if expiry else None
    if priced.points_redeemed:
        fast_insert(
            PointMovement,
            id=f"{sale_id}:redeem",
            customer=customer.id,
            kind="redeem",
            points=-priced.points_redeemed,
            at=stamp,
            sale=sale_id,
            log_seq=log_seq,
        )
        ledger.append(Movement("redeem", -priced.points_redeemed, now, f"{sale_id}:redeem"))
    return body


def _add_qualifying_spend(customer: Customer, amount: int, rules: RuleSet, stamp: str) -> None:
    """Raise cumulative spend and upgrade the tier when a threshold is crossed (never down, and
    never a tier head office locked)."""
    customer.qualifying_spend += amount
    reached = rules.tier_for_spend(customer.qualifying_spend)
    current = rules.tier(customer.tier)
    if reached is not None and not customer.tier_locked and (current is None or reached.threshold > current.threshold):
        customer.tier = reached.name
    customer.updated_at = stamp
    database.execute_sql(
        "UPDATE customer SET qualifying_spend = ?, tier = ?, updated_at = ? WHERE id = ?",
        (customer.qualifying_spend, customer.tier, stamp, customer.id),
    )
