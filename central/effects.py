"""What a push's new entries do to the brand: customers, sales, ledger movements, exceptions.

``Batch`` reads what it needs for the whole push up front (a handful of ``IN`` queries),
applies entry after entry in memory, then writes everything with one bulk insert per table:
no per-entry SELECT. It runs inside the push's transaction (``central.ingest``), whose
``logentry`` rows key every effect to its entry, so nothing applies twice.

This module owns the batch itself: what it reads, how an entry is dispatched to its kind's
effects (``HANDLERS``) and what ``flush`` and ``finish`` write. The effects of a sale and a
return are in ``central.saleeffects``, of a registration in ``central.registrations``; the
wallet, gift cards and vouchers keep their own parts (``central.wallet``,
``central.giftcards``, ``central.vouchers``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from shared.rules import RuleSet
from shared.tiers import decided_tier, window_start
from shared.times import format_time
from sync import bodies, kinds
from sync.bodies import BodyError

from . import db, feed, figure_tables, giftcards, ledger, reach, traffic, vouchers
from . import exceptions as queue
from . import rules as rulebook
from . import wallet
from .registrations import RegistrationEffects
from .saleeffects import SaleEffects

from .pushrows import (  # noqa: F401  (column lists re-exported for bench/ and ingest)
    CUSTOMER_FIELDS,
    LOG_COLUMNS,
    NAME_KEYS,
    RETURN_COLUMNS,
    SALE_COLUMNS,
    CustomerRow,
    DeviceState,
    first_column,
    select_in,
)


class Batch(SaleEffects, RegistrationEffects):
    """The effects of one push's new entries, gathered in memory and written in bulk by ``flush``."""

    def __init__(self, device: DeviceState, now: datetime) -> None:
        self.device = device
        self.now = now
        self.stamp = format_time(now)
        # What central knows, read once.
        self.customers: dict[str, CustomerRow] = {}
        self.card_owner: dict[str, str] = {}
        self.sales: dict[str, str | None] = {}
        self.qualifying: dict[str, int] = {}  # per sale: what it still adds to qualifying spend
        self.returns: set[str] = set()
        self.device_rules: dict[int, str] = {}
        self.merged: dict[str, str] = {}  # absorbed customer -> the one kept (central.care)
        self.locked: set[str] = set()  # customers whose tier head office locked
        self.published: dict[int, RuleSet | None] = {}
        # What this push writes.
        self.new_customers: list[str] = []
        self.links: list[tuple[str, str, str]] = []  # (provisional id, the customer it is, card)
        self.changed: set[str] = set()
        self.rules_rows: list[tuple] = []
        self.sale_rows: list[tuple] = []
        self.reduced_sales: set[str] = set()
        self.return_rows: list[tuple] = []
        self.movement_rows: list[tuple] = []
        self.log_rows: list[tuple] = []
        self.conflicts: list[tuple] = []
        self.refusals: list[tuple[int, int]] = []  # (conflict, entry) of each rejected entry
        self.settle: dict[str, str] = {}
        self.touched: dict[str, int] = {}
        self.balances: dict[str, Any] = {}
        self.holdings: dict[str, Any] = {}
        self.tier_spend: dict[str, int] = {}
        self.applied: dict[str, dict[str, int]] = {}
        self.feed_rows: list[tuple] = []
        self.wallet = wallet.WalletEffects(self)
        self.gift_cards = giftcards.Book(self)
        self.vouchers = vouchers.Book(self)
        self.traffic: traffic.Counts = {}

    # --- reading ----------------------------------------------------------------------------

    def load(self, entries: list[dict]) -> None:
        """Read every customer, card, sale, return and rules document the entries refer to."""
        customer_ids, cards, sale_ids, return_ids = set(), set(), set(), set()
        for entry in entries:
            body = entry["body"]
            kind = entry["kind"]
            if kind in (bodies.CUSTOMER_REGISTERED, bodies.SALE_COMPLETED, bodies.SALE_RETURNED, *wallet.KINDS):
                if bodies.usable_key(body.get("customer_id")):
                    customer_ids.add(body["customer_id"])
                if kind == bodies.CUSTOMER_REGISTERED and bodies.usable_key(body.get("card_number"), 32):
                    cards.add(body["card_number"])
                if kind != bodies.CUSTOMER_REGISTERED and bodies.usable_key(body.get("sale_id")):
                    sale_ids.add(body["sale_id"])
                if kind == bodies.SALE_RETURNED and bodies.usable_key(body.get("return_id")):
                    return_ids.add(body["return_id"])
        # Entries an edge wrote for a customer since merged apply to the one kept.
        self.merged.update(select_in("SELECT id, merged_into FROM customer WHERE merged_into IS NOT NULL "
                                      "AND id IN ({marks})", customer_ids))
        self._read_card_owners(cards)
        # PostgreSQL: lock the customers in id order, so concurrent pushes never deadlock and
        # an overdraft made by two stores at once is seen by whichever commits second. The
        # holders of registered cards are locked too: a provisional registration links to one.
        self._lock_customers({self.merged.get(cid, cid) for cid in customer_ids | set(self.card_owner.values())})
        self.gift_cards.lock(entries)  # then cards and vouchers, each in code order
        self.vouchers.lock(entries)
        self._read_card_owners(cards)  # again, under the locks: a card may have moved meanwhile
        for sale_id, customer_id, qualifying in select_in("SELECT id, customer_id, qualifying FROM sale "
                                                           "WHERE id IN ({marks})", sale_ids):
            self.sales[sale_id] = customer_id
            self.qualifying[sale_id] = qualifying
        self.returns.update(first_column(select_in("SELECT id FROM salereturn WHERE id IN ({marks})", return_ids)))
        for version, document in db.rows("SELECT version, document FROM devicerules WHERE device_id = ?",
                                         (self.device.id,)):
            self.device_rules[version] = document

    def _read_card_owners(self, cards: set[str]) -> None:
        for card, owner in select_in("SELECT card_number, id FROM customer WHERE card_number IN ({marks})", cards):
            self.card_owner[card] = owner
        # A card reported lost or merged away is never another customer's.
        for card, owner in select_in("SELECT card_number, customer_id FROM retiredcard WHERE card_number IN "
                                      "({marks})", cards):
            self.card_owner[card] = owner

    def _lock_customers(self, customer_ids: set[str]) -> None:
        lock = " ORDER BY id" + db.for_update()
        columns = ", ".join(CUSTOMER_FIELDS)
        late: set[str] = set()
        for cid, *values in select_in(f"SELECT id, {columns}, tier_locked, merged_into, created_at FROM customer "
                                       f"WHERE id IN ({{marks}})", customer_ids, lock):
            *values, locked, merged_into, registered_at = values
            if merged_into is not None:  # merged while this push waited for the lock
                self.merged[cid] = merged_into
                late.add(merged_into)
                continue
            self.customers[cid] = CustomerRow(cid, *values[:7], bool(values[7]), values[8], ledger.Summary(*values[9:]),
                                              registered_at)
            if locked:
                self.locked.add(cid)
        if late - set(self.customers):
            self._lock_customers(late - set(self.customers))

    def _live(self, customer_id: str | None) -> str | None:
        """The customer an entry's ``customer_id`` now means: the one kept after a merge."""
        return self.merged.get(customer_id, customer_id) if customer_id is not None else None

    # --- applying ---------------------------------------------------------------------------

    def apply(self, entry: dict, entry_hash: str) -> dict[str, Any]:
        """Apply one new entry in memory; return its push result."""
        handler = HANDLERS.get(entry["kind"])
        reason = problem = None
        if handler is not None:
            try:
                reason = handler(self, entry, entry["body"])
            except BodyError as exc:
                reason, problem = queue.MALFORMED_BODY, str(exc)
                self._conflict(queue.MALFORMED_BODY, entry, problem=problem, entry_kind=entry["kind"])
        status = "rejected" if reason else "applied"
        if reason:
            # Every way to a rejection queues its exception last; ``finish`` attaches the entry.
            self.refusals.append((len(self.conflicts) - 1, len(self.log_rows)))
        self.log_rows.append((self.device.id, entry["seq"], entry["id"], bodies.plain_text(entry["kind"]), entry_hash,
                              bodies.plain_text(entry["at"]), status, self.stamp))
        result = {"seq": entry["seq"], "id": entry["id"], "status": status}
        if reason:
            result["reason"] = reason
            result["message"] = problem or queue.REJECTIONS.get(reason, reason)
        return result

    def _conflict(self, kind: str, entry: dict, customer_id: str | None = None, **details: Any) -> None:
        self.conflicts.append(queue.row(kind, self.now, device_id=self.device.id, store_code=self.device.store_code,
                                        customer_id=customer_id, seq=entry["seq"], entry_id=entry["id"], **details))

    def _movement(self, movement_id: str, customer_id: str, kind: str, points: int, at: str, entry: dict,
                  sale_id: str, available_at: str | None = None, expires_at: str | None = None,
                  lot: str | None = None) -> None:
        self.movement_rows.append((movement_id, customer_id, kind, points, at, available_at, expires_at, lot, sale_id,
                                   self.device.id, entry["id"]))
        self.customers[customer_id].summary.add(points, at, available_at, expires_at)
        self.changed.add(customer_id)

    def _rules_installed(self, entry: dict, body: dict) -> str | None:
        installed = bodies.RulesInstalled.read(body)
        version, document = installed.version, installed.document
        if version not in self.device_rules:  # a device's installed version never changes
            text = feed.dumps(document)
            self.device_rules[version] = text
            self.rules_rows.append((self.device.id, version, text, entry["id"]))
        return None

    def _visits(self, entry: dict, body: dict) -> str | None:
        kinds.check(entry["kind"], body)
        traffic.count_visits(self.traffic, self.device.store_code, body)
        return None

    def _checked(self, entry: dict, body: dict) -> str | None:
        """A kind without effects here: its body is still held to its definition."""
        kinds.check(entry["kind"], body)
        return None

    def _ruleset(self, version: int) -> RuleSet | None:
        """The rules an entry names (None: unknown): version 0 is the device's own, read once per push."""
        if version == 0:
            text = self.device_rules.get(0)
            return rulebook.ruleset_of(text, 0) if text else None
        if version not in self.published:
            self.published[version] = rulebook.published_ruleset(version)
        return self.published[version]

    # --- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the effects: customers, sales, movements, holds, balances, flags, overdrafts, touches."""
        self._insert_customers()
        # A linked provisional id stays as a row merged into its customer, so later entries
        # naming it (and a repeat of its registration) apply to that customer.
        db.insert_rows("customer", ("id", "first_name", "last_name", "balance_negative", "device_id", "created_at",
                                    "updated_at", "merged_into"),
                       [(cid, "", "", False, self.device.id, self.stamp, self.stamp, owner)
                        for cid, owner, _ in self.links])
        db.insert_rows("devicerules", ("device_id", "version", "document", "entry_id"), self.rules_rows,
                       "ON CONFLICT (device_id, version) DO NOTHING")
        db.insert_rows("sale", SALE_COLUMNS, self.sale_rows)
        figure_tables.add_sales(self.device.store_code, [(row[12], row[3], row[5]) for row in self.sale_rows])
        for row in self.sale_rows:
            traffic.count_sale(self.traffic, self.device.store_code, row[12])
        traffic.add(self.traffic)
        db.update_many("sale", "id", ("qualifying",),
                       [(sale_id, self.qualifying[sale_id]) for sale_id in sorted(self.reduced_sales)])
        db.insert_rows("salereturn", RETURN_COLUMNS, self.return_rows)
        db.insert_rows("movement", ledger.MOVEMENT_COLUMNS, self.movement_rows)
        self.wallet.flush()
        self.gift_cards.flush()
        self.vouchers.flush()
        if self.settle:
            ledger.settle_holds(self.settle, self.now)
        self.balances = self._check_balances()
        self._decide_tiers()
        self._update_customers()
        self._record_touches()
        self.feed_rows = feed.rows(self._customer_states() + self.gift_cards.feed + self.vouchers.feed, self.now)

    def finish(self, lines: list[str]) -> None:
        """Once the signatures are confirmed: the exceptions, the entries verbatim, then the feed.

        A rejected entry's exception carries the entry's stored line, so head office sees
        what was refused. The feed comes last because appending to it takes the feed lock
        until commit.
        """
        for conflict, position in self.refusals:
            self.conflicts[conflict] = queue.attach(self.conflicts[conflict], line=lines[position])
        queue.record(self.conflicts)
        db.insert_rows("logentry", LOG_COLUMNS, [row[:7] + (line, row[7]) for row, line in zip(self.log_rows, lines)])
        feed.append_rows(self.feed_rows)

    def _insert_customers(self) -> None:
        rows_ = [(cid, *self.customers[cid].fields(), *self.customers[cid].name_keys(), self.device.id,
                  self.customers[cid].registered_at or self.stamp, self.stamp) for cid in self.new_customers]
        db.insert_rows("customer", ("id", *CUSTOMER_FIELDS, *NAME_KEYS, "device_id", "created_at", "updated_at"), rows_)
        self.changed.difference_update(self.new_customers)

    def _update_customers(self) -> None:
        db.update_many("customer", "id", (*CUSTOMER_FIELDS, *NAME_KEYS, "updated_at"),
                       [(cid, *self.customers[cid].fields(), *self.customers[cid].name_keys(), self.stamp)
                        for cid in sorted(self.changed)])

    def _check_balances(self) -> dict[str, Any]:
        """Fold each touched customer once; flag and queue the ones left below zero."""
        self.holdings = ledger.resolve({cid: self.customers[cid].summary for cid in self.touched}, self.now)
        balances = {cid: held.balance(self.now) for cid, held in self.holdings.items()}
        negative = {cid for cid, balance in balances.items() if balance.available < 0}
        already = set(first_column(select_in("SELECT customer_id FROM conflict WHERE kind = 'overdraft' AND status = 'open' "
                                      "AND customer_id IN ({marks})", negative)))
        spenders: dict[str, set[str]] = {cid: set() for cid in negative - already}
        for cid, device_id in select_in("SELECT customer_id, device_id FROM movement WHERE points < 0 "
                                         "AND customer_id IN ({marks})", set(spenders)):
            spenders[cid].add(device_id)
        for cid in sorted(spenders):
            devices = sorted(spenders[cid])
            self.conflicts.append(queue.row(
                queue.OVERDRAFT, self.now, device_id=self.device.id, store_code=self.device.store_code,
                customer_id=cid, seq=self.touched[cid], customer=cid, balance=balances[cid].available,
                pending=balances[cid].pending, devices=devices))
        for cid in self.touched:
            if self.customers[cid].balance_negative != (cid in negative):
                self.customers[cid].balance_negative = cid in negative
                self.changed.add(cid)
        return balances

    def _decide_tiers(self) -> None:
        """Central's word on the tier of every customer touched, from brand-wide qualifying spend.

        Lifetime spend is the running total on the customer row; a rolling period sums the
        sales inside it (the sales of this push are already inserted).
        """
        rules = rulebook.in_force(self.now)
        if rules is None or not self.touched:
            return  # nothing published yet: keep what the customer row says
        spend = {cid: self.customers[cid].qualifying_spend for cid in self.touched}
        start = window_start(rules, self.now)
        if start is not None:
            ids = sorted(self.touched)
            spend = dict.fromkeys(ids, 0)
            spend.update(db.rows(f"SELECT customer_id, SUM(qualifying) FROM sale WHERE customer_id IN "
                                 f"({db.marks(len(ids))}) AND at >= ? GROUP BY customer_id", [*ids, format_time(start)]))
        for cid, amount in spend.items():
            self.tier_spend[cid] = int(amount)
            if cid in self.locked:
                continue  # head office set this tier by hand and locked it
            tier = decided_tier(rules, int(amount))
            if tier is not None and self.customers[cid].tier != tier:
                self.customers[cid].tier = tier
                self.changed.add(cid)

    def _record_touches(self) -> None:
        """Per customer touched, this device's last seq; then every device's, for the feed."""
        self.applied = {cid: {} for cid in self.touched}
        if not self.touched:
            return
        reach.know((self.device.store_code, cid) for cid in self.touched)
        db.insert_rows("customerdeviceseq", ("customer_id", "device_id", "seq"),
                       [(cid, self.device.id, seq) for cid, seq in self.touched.items()],
                       "ON CONFLICT (customer_id, device_id) DO UPDATE SET seq = excluded.seq "
                       "WHERE excluded.seq > customerdeviceseq.seq")
        for cid, device_id, seq in select_in(
                "SELECT customer_id, device_id, seq FROM customerdeviceseq WHERE customer_id IN ({marks})",
                set(self.touched)):
            self.applied[cid][device_id] = seq

    def _customer_states(self) -> list[feed.FeedItem]:
        """One ``customer.state`` per customer touched, for every store that knows the customer
        (this one included), then a ``customer.linked`` per provisional record, for this store."""
        items: list[feed.FeedItem] = []
        for cid in self.touched:
            customer = self.customers[cid]
            body = feed.customer_state(customer.public(), self.holdings[cid], self.now, customer.balance_negative,
                                       self.tier_spend.get(cid, customer.qualifying_spend), self.applied[cid],
                                       tier_locked=cid in self.locked, wallet=self.wallet.state_of(cid),
                                       registered_at=customer.registered_at)
            items.append(feed.for_customer(cid, feed.CUSTOMER_STATE, body))
        for provisional, owner, card in self.links:
            items.append((self.device.store_code, feed.LINKED,
                          {"provisional": provisional, "customer_id": owner, "card_number": card}))
        return items


HANDLERS: dict[str, Callable[[Batch, dict, dict], str | None]] = {
    bodies.CUSTOMER_REGISTERED: Batch._registered,
    bodies.RULES_INSTALLED: Batch._rules_installed,
    bodies.SALE_COMPLETED: Batch._sale_completed,
    bodies.SALE_RETURNED: Batch._sale_returned,
    kinds.DEVICE_INITIALISED: Batch._checked,
    kinds.DEVICE_PROVISIONED: Batch._checked,
    kinds.TILL_ADDED: Batch._checked,
    kinds.TRAFFIC_VISITS: Batch._visits,
    wallet.bodies.WALLET_LOADED: lambda batch, entry, body: batch.wallet.loaded(entry, body),
    wallet.bodies.WALLET_CONVERTED: lambda batch, entry, body: batch.wallet.converted(entry, body),
    bodies.GIFT_CARD_ISSUED: lambda batch, entry, body: batch.gift_cards.issued(entry, body),
}
