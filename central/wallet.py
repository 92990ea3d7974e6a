"""The wallet (e-purse) at central: brand-wide balances, the push's wallet effects, holds.

A wallet is the sum of its movements (``walletmovement``: loads, spends, re-credits and
points converted), per pocket (``shared.wallet``). A push applies the movements its
entries describe — ``wallet.loaded``, ``wallet.converted``, and the ``wallet`` lists of
sales and returns — re-deriving what it can from the rules version the edge used: a
difference opens a ``recalculation_mismatch`` exception and the edge's figure stands, as
for points. A wallet left below zero (two shops spent it offline) opens one
``wallet_overdraft`` exception naming the devices that spent. Online, an edge asks for a
hold first (``authorize``); the sale's entry settles it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import wallet as purse
from shared.times import format_time
from sync import wallet as bodies
from sync.bodies import entry_time
from sync.sale_bodies import SaleCompleted, SaleReturned

from . import db, holds
from . import exceptions as queue
from .pushrows import select_in
from .schemas import WalletAuthorizeRequest

WALLET_OVERDRAFT = "wallet_overdraft"
COLUMNS = ("id", "customer_id", "kind", "amount", "category", "at", "sale_id", "device_id", "entry_id")
KINDS = (bodies.WALLET_LOADED, bodies.WALLET_CONVERTED)
"""Entry kinds that carry a ``customer_id`` the push must load."""


def pockets_of(customer_ids: set[str]) -> dict[str, dict[str | None, int]]:
    """Each customer's pockets (customers without a wallet movement are absent)."""
    found: dict[str, dict[str | None, int]] = {}
    for cid, category, amount in select_in("SELECT customer_id, category, SUM(amount) FROM walletmovement "
                                           "WHERE customer_id IN ({marks}) GROUP BY customer_id, category",
                                           customer_ids):
        found.setdefault(cid, {})[category] = int(amount)
    return found


def state(held: dict[str | None, int]) -> dict[str, Any]:
    """The ``wallet`` of a customer object or a ``customer.state``: balance and non-empty pockets."""
    return {"balance": sum(held.values()),
            "pockets": [{"category": c, "balance": held[c]}
                        for c in sorted(held, key=lambda c: (c is None, c or "")) if held[c]]}


def customer_pockets(customer_id: str) -> dict[str, Any]:
    """The brand-wide wallet of one customer: ``balance`` and ``pockets`` (``state``)."""
    return state(pockets_of({customer_id}).get(customer_id, {}))


class WalletEffects:
    """The wallet part of one push (``central.effects.Batch``): rows gathered, written by ``flush``."""

    def __init__(self, batch: Any) -> None:  # a ``central.effects.Batch``, which owns this
        self.batch = batch
        self.rows: list[tuple] = []
        self.spent: set[str] = set()  # customers this push took wallet money from
        self.settle: dict[str, str] = {}
        self.pockets: dict[str, dict[str | None, int]] = {}

    def _row(self, movement_id: str, cid: str, kind: str, amount: int, category: str | None, at: str, entry: dict,
             sale_id: str | None = None) -> None:
        self.rows.append((movement_id, cid, kind, amount, category, at, sale_id, self.batch.device.id, entry["id"]))
        self.batch.touched[cid] = entry["seq"]
        if amount < 0:
            self.spent.add(cid)

    def _customer(self, entry: dict, customer_id: str) -> str | None:
        cid = self.batch._live(customer_id)
        if cid not in self.batch.customers:
            self.batch._conflict(queue.UNKNOWN_CUSTOMER, entry, customer_id=cid)
            return None
        return cid

    def _mismatch(self, entry: dict, cid: str, **details: Any) -> None:
        self.batch._conflict(queue.RECALCULATION_MISMATCH, entry, customer_id=cid, **details)

    # --- entries --------------------------------------------------------------------------------

    def loaded(self, entry: dict, body: dict) -> str | None:
        """``wallet.loaded``: the load as the edge made it; a typed load is held to its type."""
        facts = bodies.WalletLoaded.read(body)
        cid = self._customer(entry, facts.customer_id)
        if cid is None:
            return queue.UNKNOWN_CUSTOMER
        version = facts.rules_version
        rules = self.batch._ruleset(version) if type(version) is int else None
        if rules is not None and facts.type is not None:
            kind = rules.wallet.type(facts.type)
            if kind is None or (kind.amount is not None and kind.amount != facts.amount) \
                    or kind.category != facts.category:
                self._mismatch(entry, cid, load_id=facts.load_id, rules_version=version, wallet_type=facts.type,
                               edge_amount=facts.amount, edge_category=facts.category,
                               central_amount=kind.amount if kind else None,
                               central_category=kind.category if kind else None)
        self._row(f"{facts.load_id}:load", cid, purse.LOAD, facts.amount, facts.category, self._at(entry), entry)
        return None

    def converted(self, entry: dict, body: dict) -> str | None:
        """``wallet.converted``: points leave the ledger, credit comes onto the wallet."""
        facts = bodies.WalletConverted.read(body)
        cid = self._customer(entry, facts.customer_id)
        if cid is None:
            return queue.UNKNOWN_CUSTOMER
        rules = self.batch._ruleset(facts.rules_version)
        if rules is not None and purse.conversion_amount(facts.points, rules.point_value) != facts.amount:
            self._mismatch(entry, cid, conversion_id=facts.conversion_id, rules_version=facts.rules_version,
                           edge_amount=facts.amount,
                           central_amount=purse.conversion_amount(facts.points, rules.point_value))
        at = self._at(entry)
        self.batch._movement(f"{facts.conversion_id}:convert", cid, "redeem", -facts.points, at, entry, None)
        self.batch.settle[facts.conversion_id] = entry["id"]  # central's points hold, if one was taken
        self._row(f"{facts.conversion_id}:convert", cid, purse.CONVERT, facts.amount, None, at, entry)
        return None

    def sale(self, entry: dict, facts: SaleCompleted, paid: dict[str | None, int], cid: str, at: str) -> None:
        """A sale paid from the wallet: one movement per pocket; a category pocket pays its lines only."""
        if not paid:
            return
        totals: dict[str, int] = {}
        for line, discount in zip(facts.engine_lines(), facts.tier_discounts()):
            if line.category is not None and not line.reward:
                totals[line.category] = totals.get(line.category, 0) + line.total - discount
        over = {c: a for c, a in paid.items() if c is not None and a > totals.get(c, 0)}
        if over:
            self._mismatch(entry, cid, sale_id=facts.sale_id, wallet_over_category=over)
        for category, amount in paid.items():
            self._row(f"{facts.sale_id}:wallet:{category or ''}", cid, purse.SPEND, -amount, category, at, entry,
                      facts.sale_id)
        self.settle[facts.sale_id] = entry["id"]

    def returned(self, entry: dict, facts: SaleReturned, back: dict[str | None, int], cid: str | None, at: str) -> None:
        """A return's re-credit: never more per pocket than the sale took from it."""
        if not back or cid is None:
            return
        paid: dict[str | None, int] = {}
        refunded: dict[str | None, int] = {}
        for kind, amount, category in db.rows("SELECT kind, amount, category FROM walletmovement WHERE sale_id = ?",
                                              (facts.sale_id,)) + [(r[2], r[3], r[4]) for r in self.rows
                                                                    if r[6] == facts.sale_id]:
            target = paid if kind == purse.SPEND else refunded
            target[category] = target.get(category, 0) + abs(amount)
        derived = purse.refund_split(sum(back.values()), paid, refunded)
        if derived != back:
            self._mismatch(entry, cid, return_id=facts.return_id, sale_id=facts.sale_id,
                           edge_wallet=_listed(back), central_wallet=_listed(derived))
        for category, amount in back.items():
            self._row(f"{facts.return_id}:wallet:{category or ''}", cid, purse.REFUND, amount, category, at, entry,
                      facts.sale_id)

    def _at(self, entry: dict) -> str:
        return format_time(entry_time(entry["at"], self.batch.now))

    # --- writing ----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the movements, settle holds, read every touched wallet, queue overdrafts."""
        db.insert_rows("walletmovement", COLUMNS, self.rows)
        if self.settle:
            _settle(self.settle, self.batch.now)
        self.pockets = pockets_of(set(self.batch.touched))
        short = {cid for cid in self.spent if sum(self.pockets.get(cid, {}).values()) < 0}
        already = {cid for (cid,) in select_in(
            f"SELECT customer_id FROM conflict WHERE kind = '{WALLET_OVERDRAFT}' AND status = 'open' "
            "AND customer_id IN ({marks})", short)}
        spenders: dict[str, set[str]] = {cid: set() for cid in short - already}
        for cid, device_id in select_in("SELECT customer_id, device_id FROM walletmovement WHERE amount < 0 "
                                        "AND customer_id IN ({marks})", set(spenders)):
            spenders[cid].add(device_id)
        for cid in sorted(spenders):
            self.batch.conflicts.append(queue.row(
                WALLET_OVERDRAFT, self.batch.now, device_id=self.batch.device.id,
                store_code=self.batch.device.store_code, customer_id=cid, seq=self.batch.touched[cid], customer=cid,
                balance=sum(self.pockets[cid].values()), devices=sorted(spenders[cid])))

    def state_of(self, cid: str) -> dict[str, Any]:
        """The ``wallet`` of this customer's ``customer.state``."""
        return state(self.pockets.get(cid, {}))


def _listed(split: dict[str | None, int]) -> list[dict[str, Any]]:
    return [{"category": c, "amount": split[c]} for c in sorted(split, key=lambda c: (c is None, c or ""))]


# --- holds ------------------------------------------------------------------------------------------


def authorize(device_id: str, body: WalletAuthorizeRequest, now: datetime) -> dict[str, Any]:
    """Hold ``amount`` of a customer's wallet for ``sale_id`` if the brand-wide balance allows it.

    Asking again for the same sale replaces its hold; the sale's entry settles it; an unsettled
    hold lapses after ``settings.HOLD_TTL``. Too little is ``422 insufficient_wallet`` (``central.holds``).
    """
    return holds.take(holds.WALLET, device_id, body.customer_id, body.sale_id, body.amount, now,
                      lambda cid: sum(pockets_of({cid}).get(cid, {}).values()))


def release(device_id: str, sale_id: str) -> dict[str, Any]:
    """Give back the wallet hold of a sale the edge did not record; only its own device may."""
    return holds.give_back(holds.WALLET, device_id, sale_id)


def _settle(sale_entries: dict[str, str], now: datetime) -> None:
    found = [sale_id for (sale_id,) in select_in("SELECT sale_id FROM wallethold WHERE settled_at IS NULL "
                                                 "AND sale_id IN ({marks})", set(sale_entries))]
    stamp = format_time(now)
    db.update_rows("UPDATE wallethold SET settled_at = ?, settled_entry = ? WHERE sale_id = ? AND settled_at IS NULL",
                   [(stamp, sale_entries[sale_id], sale_id) for sale_id in found])
