"""Which stores know which customers, and an edge's look-up of a card it does not know.

A brand's customers are not copied to every shop. A store knows a customer once the customer
was registered there, sold to or had a return there, or was looked up there (``storecustomer``);
from then on every change central makes to that customer reaches the store's feed
(``central.feed``), and no other store's. A card a shop does not know it asks central for,
online, in one signed call (``lookup``): the answer is the customer's ``customer.state``, and
the shop is a knowing store from that moment on.

Ordering: ``lookup`` locks the customer's row before it marks the store and reads the state,
as a push or a head-office act locks it before it changes the customer; so a change either
commits before the look-up reads (and is in its answer) or after the store is marked (and is
delivered to it through the feed).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from shared.tiers import window_start
from shared.times import format_time
from sync.bodies import usable_key

from . import db, feed, ledger, wallet
from . import rules as rulebook
from .errors import CentralError, conflict, not_found

CARD_MAX = 32
StoreCode = str
CustomerId = str


def know(pairs: Iterable[tuple[StoreCode, CustomerId]]) -> None:
    """Mark stores as knowing customers (idempotent); inside the transaction that made them known."""
    rows = sorted(set(pairs))
    db.insert_rows("storecustomer", ("store_code", "customer_id"), rows,
                   "ON CONFLICT (store_code, customer_id) DO NOTHING")


def share(absorbed: CustomerId, kept: CustomerId) -> None:
    """A merge: every store that knew the absorbed customer now knows the one kept too."""
    db.execute("INSERT INTO storecustomer (store_code, customer_id) SELECT store_code, ? FROM storecustomer "
               "WHERE customer_id = ? ON CONFLICT (store_code, customer_id) DO NOTHING", (kept, absorbed))


def tier_spend(customer_id: CustomerId, lifetime: int, now: datetime) -> int:
    """The qualifying spend that decides the customer's tier now (lifetime, or the rules' window)."""
    rules = rulebook.in_force(now)
    start = window_start(rules, now) if rules is not None else None
    if start is None:
        return lifetime
    found = db.rows("SELECT COALESCE(SUM(qualifying), 0) FROM sale WHERE customer_id = ? AND at >= ?",
                    (customer_id, format_time(start)))
    return int(found[0][0])


def state(customer_id: CustomerId, now: datetime) -> dict[str, Any]:
    """The customer's ``customer.state`` body as it stands now."""
    (*public, locked, negative, lifetime, registered_at), = db.rows(
        f"SELECT {', '.join(feed.CUSTOMER_FIELDS)}, tier_locked, balance_negative, qualifying_spend, created_at "
        "FROM customer WHERE id = ?", (customer_id,))
    held = ledger.customer_holdings([customer_id], now)[customer_id]
    spend = tier_spend(customer_id, lifetime, now)
    applied = dict(db.rows("SELECT device_id, seq FROM customerdeviceseq WHERE customer_id = ?", (customer_id,)))
    return feed.customer_state(public, held, now, bool(negative), spend, applied, tier_locked=bool(locked),
                               wallet=wallet.state(wallet.pockets_of({customer_id}).get(customer_id, {})),
                               registered_at=registered_at)


def _bad(name: str, message: str) -> CentralError:
    return CentralError(422, "validation_error", f"{name}: {message}",
                        {"problems": [{"path": name, "message": message}]})


def lookup(store_code: StoreCode, card: str | None, customer_id: str | None, now: datetime) -> dict[str, Any]:
    """``GET /sync/v1/customers?card=`` (or ``?id=``): the customer, now known by the store.

    ``{"state": <customer.state body>, "found_by": {"card_number" | "customer_id", "status"}}``,
    ``status`` being ``current``, or ``merged`` when the card or id was a customer's since
    merged into this one. A lost card is ``409 card_blocked`` with the signed ``card.blocked``
    act in ``details.act``; an unknown card or id is ``404 customer_not_found``.
    """
    if (card is None) == (customer_id is None):
        raise CentralError(400, "bad_lookup", "give exactly one of card= or id=")
    if card is not None and not (usable_key(card, CARD_MAX) and card.isascii() and card.isalnum()):
        raise _bad("card", "must be 1 to 32 letters or digits")
    if customer_id is not None and not usable_key(customer_id, 64):
        raise _bad("id", "must be 1 to 64 characters without control characters")

    def answer() -> dict[str, Any]:
        """Mark the store and read the state, in one transaction (rerun whole on a serialization failure)."""
        if card is not None:
            owner, status = _card_owner(card)
            found_by: dict[str, Any] = {"card_number": card, "status": status}
        else:
            row = db.rows("SELECT merged_into FROM customer WHERE id = ?", (customer_id,))
            if not row:
                raise not_found("customer_not_found", f"no customer with id {customer_id}")
            owner = row[0][0] or customer_id
            found_by = {"customer_id": customer_id, "status": "merged" if row[0][0] else "current"}
        locked = db.rows(f"SELECT merged_into FROM customer WHERE id = ?{db.for_update()}", (owner,))
        if not locked or locked[0][0] is not None:  # merged away between the two reads: ask again
            raise CentralError(503, "customer_moving", "the customer is being merged; try again")
        know([(store_code, owner)])
        return {"state": state(owner, now), "found_by": found_by}

    return db.retrying(answer)


def _card_owner(card: str) -> tuple[CustomerId, str]:
    """Who holds ``card`` and whether it is their own (``current``) or an absorbed one's (``merged``)."""
    found = db.rows("SELECT id FROM customer WHERE card_number = ? AND merged_into IS NULL", (card,))
    if found:
        return found[0][0], "current"
    retired = db.rows("SELECT customer_id, status, act_id FROM retiredcard WHERE card_number = ?", (card,))
    if not retired:
        raise not_found("customer_not_found", f"no customer holds card {card}")
    owner, status, act_id = retired[0]
    if status != "blocked":
        return owner, status
    details: dict[str, Any] = {"card_number": card}
    act = db.rows("SELECT id, kind, customer_id, at, body, signature FROM careact WHERE id = ?", (act_id,))
    if act:
        i, kind, cid, at, body, signature = act[0]
        details["act"] = {"id": i, "kind": kind, "customer_id": cid, "at": at, "body": json.loads(body),
                          "signature": signature}
    raise conflict("card_blocked", f"card {card} was reported lost and is blocked", **details)


def backfill() -> None:
    """For a database from before this table: stores know the customers registered or sold to there.

    Also tags the customer items already in the feed with their customer, so a store that
    starts reading the feed from the beginning is not sent the whole brand.
    """
    for source in ("SELECT d.store_code, c.id FROM customer c JOIN device d ON d.id = c.device_id "
                   "WHERE c.merged_into IS NULL",
                   "SELECT DISTINCT d.store_code, s.customer_id FROM sale s JOIN device d ON d.id = s.device_id "
                   "WHERE s.customer_id IS NOT NULL"):
        db.execute(f"INSERT INTO storecustomer (store_code, customer_id) {source} "
                   "ON CONFLICT (store_code, customer_id) DO NOTHING")
    after = 0
    while True:
        page = db.rows("SELECT cursor, kind, body FROM feeditem WHERE cursor > ? AND store_code IS NULL "
                       "AND customer_id IS NULL AND kind <> ? ORDER BY cursor LIMIT 5000",
                       (after, feed.RULES_VERSION))
        if not page:
            return
        tagged = []
        for cursor, kind, body in page:
            item = json.loads(body)
            cid = (item.get("customer") or {}).get("id") if kind == feed.CUSTOMER_STATE else item.get("customer_id")
            if isinstance(cid, str):
                tagged.append((cursor, cid))
        db.update_many("feeditem", "cursor", ("customer_id",), tagged)
        after = page[-1][0]
