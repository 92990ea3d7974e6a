"""Vouchers at central: re-derived from each sale, spent once brand-wide, voided by a full return.

Central derives the vouchers a sale should have issued from its lines, its rules version and
its shop (``shared.vouchers``); the codes come from the sale's id, so the edge's and central's
agree or the sale is a ``recalculation_mismatch``. The vouchers the edge issued are the ones
the customer holds, and they are kept. A voucher spent by two sales is ``voucher_double_use``;
one central never heard of, or spent for more than its value, ``voucher_invalid``. Every change
goes out as a ``voucher.state`` feed item: to the shops of the voucher's scope, or to every
shop when it has none (``announcements``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared import vouchers
from shared.currency import to_brand
from shared.engine import basket_total
from shared.rules import RuleSet
from shared.times import format_time, parse_time
from sync import bodies
from sync.sale_bodies import SaleCompleted, SaleReturned

from . import audit, db, feed, giftcards
from . import exceptions as queue
from . import rules as rulebook
from .errors import not_found
from .stores import get_store
from .pushrows import first_column, select_in

VOUCHER_STATE = "voucher.state"
DOUBLE_USE, INVALID = "voucher_double_use", "voucher_invalid"
_COLUMNS = ("code", "amount", "expires_at", "status", "stores", "sale_id", "customer_id", "device_id", "used_sale",
            "created_at")


def announcements(body: dict[str, Any], stores: list[str] | None) -> list[tuple]:
    """The ``voucher.state`` feed items of one voucher: one for each shop of its scope (only
    those accept it), or one for every shop when it has none."""
    if stores is None:
        return [(None, VOUCHER_STATE, body)]
    return [(store, VOUCHER_STATE, body) for store in stores]


@dataclass
class _Voucher:
    code: str
    amount: int
    expires_at: str
    status: str
    stores: str | None
    sale_id: str | None
    customer_id: str | None
    used_sale: str | None = None
    new: bool = False
    changed: bool = False


def derived(facts: SaleCompleted, rules: RuleSet, store: str, at: datetime) -> list[tuple[str, int]]:
    """``[(code, amount)]`` of the vouchers the sale issues under its own rules at its shop; a sale
    in another currency is measured by its total in the brand's, which vouchers hold."""
    total = to_brand(basket_total(facts.engine_lines()) - sum(facts.tier_discounts()), facts.rate)
    return [(v.code, v.amount) for v in vouchers.issue_at_sale(facts.sale_id, total, rules.vouchers_at_sale, store, at)]


class Book:
    """The vouchers one push touches: read when first named (locked on PostgreSQL), written by ``flush``."""

    def __init__(self, batch: Any) -> None:
        self.batch = batch
        self.vouchers: dict[str, _Voucher | None] = {}
        self.feed: list[tuple] = []

    def lock(self, entries: list[dict]) -> None:
        """Read (and on PostgreSQL lock) every voucher the entries name, in code order."""
        for code in sorted(giftcards.named_codes(entries, "voucher")):
            self._voucher(code)

    def _voucher(self, code: str) -> _Voucher | None:
        if code not in self.vouchers:
            found = db.rows("SELECT amount, expires_at, status, stores, sale_id, customer_id, used_sale FROM voucher "
                            "WHERE code = ?" + db.for_update(), (code,))
            self.vouchers[code] = _Voucher(code, *found[0]) if found else None
        return self.vouchers[code]

    def sale(self, entry: dict, facts: SaleCompleted, customer_id: str | None, rules: RuleSet | None,
             at: datetime) -> None:
        """Check the vouchers the sale issued against central's own derivation; keep them;
        mark the vouchers it paid with used."""
        issued = [(raw["code"], raw["amount"]) for raw in facts.vouchers_issued]
        if rules is not None:
            expected = derived(facts, rules, self.batch.device.store_code, at)
            if expected != issued:
                self.batch._conflict(queue.RECALCULATION_MISMATCH, entry, customer_id=customer_id,
                                     sale_id=facts.sale_id, rules_version=facts.rules_version,
                                     edge_vouchers=[list(v) for v in issued],
                                     central_vouchers=[list(v) for v in expected])
        stores = None
        if rules is not None and rules.vouchers_at_sale.stores is not None:
            stores = json.dumps(sorted(rules.vouchers_at_sale.stores))
        self._keep(facts.vouchers_issued, stores, facts.sale_id, customer_id)
        for code, amount in facts.coded_payments("voucher").items():
            voucher = self._voucher(code)
            details = {"code": code, "sale_id": facts.sale_id, "amount": amount}
            if voucher is None or amount > voucher.amount:
                problem = "no such voucher" if voucher is None else f"the voucher is worth {voucher.amount}"
                self.batch._conflict(INVALID, entry, customer_id=customer_id, problem=problem, **details)
            elif voucher.status == vouchers.USED and voucher.used_sale != facts.sale_id:
                self.batch._conflict(DOUBLE_USE, entry, customer_id=customer_id, first_sale=voucher.used_sale,
                                     **details)
            else:
                # A voucher voided by a return at one shop and spent at another offline stays spent.
                voucher.status, voucher.used_sale, voucher.changed = vouchers.USED, facts.sale_id, True
                self._announce(voucher)

    def welcome(self, entry: dict, facts: bodies.Registration, rules: RuleSet | None, at: datetime) -> None:
        """A registration's welcome voucher: checked against central's derivation, then kept."""
        issued = [(raw["code"], raw["amount"]) for raw in facts.vouchers_issued]
        welcome = rules.vouchers_welcome if rules is not None else None
        if rules is not None:
            expected = [(v.code, v.amount) for v in vouchers.issue_welcome(
                facts.customer_id, facts.email, welcome, self.batch.device.store_code, at)]
            if expected != issued:
                self.batch._conflict(queue.RECALCULATION_MISMATCH, entry, customer_id=facts.customer_id,
                                     rules_version=facts.rules_version, edge_vouchers=[list(v) for v in issued],
                                     central_vouchers=[list(v) for v in expected])
        stores = json.dumps(sorted(welcome.stores)) if welcome is not None and welcome.stores is not None else None
        self._keep(facts.vouchers_issued, stores, None, facts.customer_id)

    def _keep(self, issued: tuple, stores: str | None, sale_id: str | None, customer_id: str | None) -> None:
        for raw in issued:
            if self._voucher(raw["code"]) is not None:
                continue  # the same code again is the same sale or customer again
            voucher = _Voucher(raw["code"], raw["amount"], raw["expires_at"], vouchers.ACTIVE, stores, sale_id,
                               customer_id, new=True)
            self.vouchers[voucher.code] = voucher
            self._announce(voucher)

    def returned(self, facts: SaleReturned) -> None:
        """A full return voided these vouchers of its sale (a voucher already spent stays spent)."""
        for code in facts.vouchers_voided:
            voucher = self._voucher(code)
            if voucher is not None and voucher.status == vouchers.ACTIVE and voucher.sale_id == facts.sale_id:
                voucher.status, voucher.changed = vouchers.VOIDED, True
                self._announce(voucher)

    def _announce(self, voucher: _Voucher) -> None:
        stores = json.loads(voucher.stores) if voucher.stores is not None else None
        body = {"code": voucher.code, "amount": voucher.amount, "expires_at": voucher.expires_at,
                "status": voucher.status, "stores": stores, "sale_id": voucher.sale_id,
                "customer_id": voucher.customer_id}
        self.feed += announcements(body, stores)

    def flush(self) -> None:
        """Write the new vouchers and the ones spent or voided."""
        found = [v for v in self.vouchers.values() if v is not None]
        db.insert_rows("voucher", _COLUMNS, [
            (v.code, v.amount, v.expires_at, v.status, v.stores, v.sale_id, v.customer_id, self.batch.device.id,
             v.used_sale, self.batch.stamp) for v in found if v.new])
        db.update_many("voucher", "code", ("status", "used_sale"),
                       [(v.code, v.status, v.used_sale) for v in found if v.changed and not v.new])


def look_up(code: str, now: datetime) -> dict[str, Any]:
    """The voucher with ``code`` (upper-cased, as the till API reads it) as central knows it:
    amount, expiry, status now, its customer, the shops it is good at (None: every shop), the
    sale that issued it and the one that spent it; 404 ``voucher_not_found``."""
    code = code.strip().upper()
    found = db.rows("SELECT amount, expires_at, status, stores, sale_id, customer_id, used_sale FROM voucher "
                    "WHERE code = ?", (code,)) if bodies.usable_key(code, bodies.CODE_MAX) else []
    if not found:
        raise not_found("voucher_not_found", f"no voucher with code {code}")
    amount, expires_at, status, stores, sale_id, customer_id, used_sale = found[0]
    status = vouchers.Voucher(code, amount, parse_time(expires_at), status).state(now)
    return {"code": code, "amount": amount, "expires_at": expires_at, "status": status, "customer_id": customer_id,
            "stores": json.loads(stores) if stores else None, "sale_id": sale_id, "used_sale": used_sale}


def issue_birthdays(day: date, now: datetime, actor: str = "fidelis-central") -> list[dict[str, Any]]:
    """Give every customer whose birthday is ``day`` the rules' ``vouchers.birthday`` voucher.

    Run once a day (a timer or cron); running again the same day issues nothing new, as a
    customer's birthday voucher of a year has one code. The vouchers reach every shop through
    the feed. Returns the new vouchers, each with its ``customer_id``.
    """
    rules = rulebook.in_force(now)
    birthday = rules.vouchers_birthday if rules is not None else None
    if birthday is None:
        return []
    born = db.rows("SELECT id, birth_date FROM customer WHERE merged_into IS NULL AND birth_date LIKE ?",
                   (f"%-{day.month:02d}-%",))
    issued = [{"code": v.code, "amount": v.amount, "expires_at": format_time(v.expires_at), "customer_id": cid}
              for cid, birth_date in born for v in vouchers.issue_birthday(cid, birth_date, birthday, day, now)]
    return _issue(issued, sorted(birthday.stores) if birthday.stores is not None else None, now, actor,
                  "vouchers.birthdays", day.isoformat())


def _issue(issued: list[dict[str, Any]], stores: list[str] | None, now: datetime, actor: str, action: str,
           target: str) -> list[dict[str, Any]]:
    """Store the vouchers head office issues that it has not issued before, send them to the
    shops of ``stores`` (every shop when None) and write one audit line; return the new ones."""
    with db.database.atomic():
        known = set(first_column(select_in("SELECT code FROM voucher WHERE code IN ({marks})",
                                           {v["code"] for v in issued})))
        new = [v for v in issued if v["code"] not in known]
        scope = json.dumps(stores) if stores is not None else None
        db.insert_rows("voucher", _COLUMNS, [(v["code"], v["amount"], v["expires_at"], vouchers.ACTIVE, scope, None,
                                              v["customer_id"], "central", None, format_time(now)) for v in new])
        feed.append([item for v in new for item in announcements(
            {**v, "status": vouchers.ACTIVE, "stores": stores, "sale_id": None}, stores)], now)
        audit.record(actor, action, target, None, {"issued": len(new)}, now)
    return new


def issue_by_turnover(campaign: vouchers.Turnover, start: datetime, end: datetime, valid_days: int,
                      stores: list[str] | None, now: datetime, actor: str = "fidelis-central") -> list[dict[str, Any]]:
    """A campaign: every customer whose sales in ``[start, end)`` (at ``stores``, or anywhere)
    reach the campaign's visits and turnover (sale totals less refunds) gets one voucher, valid
    ``valid_days`` at those shops. The code comes from the period, the shops and the customer, so
    running the same campaign again issues nothing new. A shop that does not exist is
    ``404 store_not_found`` (a typo, not a quiet month)."""
    shops = sorted(stores) if stores else None
    for code in shops or ():
        get_store(code)
    where, params = "s.customer_id IS NOT NULL AND s.at >= ? AND s.at < ?", [format_time(start), format_time(end)]
    if shops:
        where += f" AND d.store_code IN ({db.marks(len(shops))})"
        params += shops
    found = db.rows(
        "SELECT s.customer_id, SUM(s.total - COALESCE((SELECT SUM(r.amount_refunded) FROM salereturn r "
        "WHERE r.sale_id = s.id), 0)), COUNT(*) FROM sale s JOIN device d ON d.id = s.device_id "
        f"WHERE {where} GROUP BY s.customer_id", params)
    key = f"turnover/{format_time(start)}/{format_time(end)}/{','.join(shops or [])}"
    expires = format_time(now.replace(microsecond=0) + timedelta(days=valid_days))
    issued = [{"code": vouchers.voucher_code(f"{key}/{cid}"), "amount": amount, "expires_at": expires,
               "customer_id": cid}
              for cid, turnover, visits in sorted(found)
              if (amount := campaign.value(int(turnover), int(visits))) > 0]
    return _issue(issued, shops, now, actor, "vouchers.turnover", key)
