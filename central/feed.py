"""The pull feed: one ordered stream per store, read a page at a time.

Three audiences share one ``feeditem`` table:

- brand-wide items (``store_code`` and ``customer_id`` NULL): rules versions, for every store;
- a store's own items (``store_code`` set): a revocation goes to the device's store;
- a customer's items (``customer_id`` set: ``customer.state``, ``customer.linked`` and head
  office's signed acts ``card.blocked``, ``customer.merged``) go only to the stores that know
  the customer (``central.reach``): one ``feeddelivery`` row ``(store_code, cursor)`` each,
  written in the same transaction. A shop is not sent the brand's other customers; it looks an
  unknown card up (``central.reach.lookup``) and from then on knows that customer.

Items are ``{"cursor", "kind", "body"}``; an edge reads with an exclusive ``since=`` cursor
(docs/sync-protocol.md "Pull"). A page is three index range scans, each stopped after
``limit + 1`` rows, so its cost does not grow with the brand. Appends happen inside the
writer's transaction and take ``db.lock_feed`` first, so cursors become visible in the order
they were handed out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from shared.ledger import Holdings
from shared.times import format_time

from . import db, settings

RULES_VERSION = "rules.version"
CUSTOMER_STATE = "customer.state"
DEVICE_REVOKED = "device.revoked"
CARD_BLOCKED = "card.blocked"
CUSTOMER_MERGED = "customer.merged"

LINKED = "customer.linked"


class ForCustomer(NamedTuple):
    """The audience of a customer's item: every store that knows ``customer_id``."""

    customer_id: str


FeedItem = tuple[str | ForCustomer | None, str, Mapping[str, Any]]
"""``(store code, ForCustomer(id) or None for every store, kind, body)``."""


def for_customer(customer_id: str, kind: str, body: Mapping[str, Any]) -> FeedItem:
    """An item for the stores that know this customer."""
    return (ForCustomer(customer_id), kind, body)


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text for storage (one shared encoder: ``json.dumps`` builds one per call)."""
    return _encoder.encode(value)


def rows(items: Iterable[FeedItem], now: datetime) -> list[tuple]:
    """Feed items as rows for ``append_rows`` (built early; only the append needs the lock)."""
    stamp = format_time(now)
    return [(None, audience.customer_id, kind, dumps(body), stamp) if isinstance(audience, ForCustomer)
            else (audience, None, kind, dumps(body), stamp) for audience, kind, body in items]


def append_rows(rows_: list[tuple]) -> None:
    """Add rows made by ``rows``; call last in the transaction that made the change they report.

    A customer's items are delivered to the stores that know the customer at this moment;
    ``central.reach`` makes a store known before it reads or changes what the item reports.
    """
    if not rows_:
        return
    db.lock_feed()
    addressed = any(row[1] is not None for row in rows_)
    # Under the feed lock no other writer appends, so every cursor above this one is ours.
    before = int(db.rows("SELECT COALESCE(MAX(cursor), 0) FROM feeditem")[0][0]) if addressed else 0
    db.insert_rows("feeditem", ("store_code", "customer_id", "kind", "body", "created_at"), rows_)
    if addressed:
        db.execute("INSERT INTO feeddelivery (store_code, cursor) SELECT k.store_code, f.cursor FROM feeditem f "
                   "JOIN storecustomer k ON k.customer_id = f.customer_id WHERE f.cursor > ? "
                   "AND f.customer_id IS NOT NULL", (before,))


def append(items: Iterable[FeedItem], now: datetime) -> None:
    """Add items to the feed; call inside the transaction that made the change they report."""
    append_rows(rows(items, now))


_PAGE = (
    "SELECT f.cursor, f.kind, f.body FROM ("
    " SELECT cursor FROM (SELECT cursor FROM feeditem WHERE store_code IS NULL AND customer_id IS NULL"
    "  AND cursor > ? ORDER BY cursor LIMIT ?) brand"
    " UNION ALL SELECT cursor FROM (SELECT cursor FROM feeditem WHERE store_code = ? AND customer_id IS NULL"
    "  AND cursor > ? ORDER BY cursor LIMIT ?) own"
    " UNION ALL SELECT cursor FROM (SELECT cursor FROM feeddelivery WHERE store_code = ?"
    "  AND cursor > ? ORDER BY cursor LIMIT ?) known"
    ") picked JOIN feeditem f ON f.cursor = picked.cursor ORDER BY f.cursor LIMIT ?"
)


_FIRST_ROWS = 100
"""Rows a page reads first; later reads are sized by the bodies seen so far."""


def _page(store_code: str, since: int, limit: int) -> tuple[list[tuple], bool]:
    """Up to ``limit`` items after ``since``, and whether more follow. A page also stops once
    its bodies reach ``settings.PULL_PAGE_BYTES`` (never before its first item), so a page of
    large customer states stays as quick to send and to apply as one of small ones.

    The rows are read in runs: first ``_FIRST_ROWS``, then as many as the budget left holds at
    the bodies' average size so far, so a page of 2 KB states reads about the 130 rows it sends
    rather than ``limit``; each run reads one row more than it needs to tell whether more follow.
    """
    found: list[tuple] = []
    size, after, take = 0, since, min(limit, _FIRST_ROWS)
    while True:
        run = db.rows(_PAGE, (after, take + 1, store_code, after, take + 1, store_code, after, take + 1, take + 1))
        for row in run:
            if len(found) == limit or (found and size + len(row[2]) > settings.PULL_PAGE_BYTES):
                return found, True
            found.append(row)
            size += len(row[2])
        if len(run) <= take:
            return found, False
        after = found[-1][0]
        left = max(0, settings.PULL_PAGE_BYTES - size)
        take = min(limit - len(found), left * len(found) // size + 1)


def read(store_code: str, since: int, limit: int) -> dict[str, Any]:
    """Items after ``since`` for one store, oldest first: ``{"items", "cursor", "more"}``.

    Each of the three audiences is an index range scan (``feeditem_audience``,
    ``feeddelivery``'s key) stopped after ``limit + 1`` rows: one page costs O(limit)
    whatever the number of customers, stores or items before ``since``.
    """
    found, more = _page(store_code, since, limit)
    items = [{"cursor": cursor, "kind": kind, "body": json.loads(body)} for cursor, kind, body in found]
    return {"items": items, "cursor": items[-1]["cursor"] if items else since, "more": more}


def read_text(store_code: str, since: int, limit: int) -> str:
    """``read`` as JSON text, each item's stored body spliced in as it is: a page of 500
    customer states is not parsed and encoded again on its way out."""
    found, more = _page(store_code, since, limit)
    items = ",".join(f'{{"cursor":{cursor},"kind":{dumps(kind)},"body":{body}}}' for cursor, kind, body in found)
    last = found[-1][0] if found else since
    return f'{{"items":[{items}],"cursor":{last},"more":{"true" if more else "false"}}}'


def compact(upto: int, batch: int = 2000) -> int:
    """Drop the ``customer.state`` items at or below cursor ``upto`` that a later state of the
    same customer supersedes, and their deliveries; return how many.

    A state is the customer's whole state, and a later one goes to every store the earlier one
    went to (a store never stops knowing a customer), so a reader at any cursor still ends with
    each customer's newest state, and a new box reads each of its customers once: the feed grows
    with the brand's customers, not with its sales. ``upto`` is what every reader of the states
    in between has read (``central.positions`` rebuilds tier moves from them). Each run starts
    where the last one stopped (the ``compacted`` mark) and looks only at the customers whose
    states came since, ``batch`` cursors a transaction.
    """
    dropped = 0
    while True:
        with db.database.atomic():
            db.lock("figures")  # the figures' lock: two runs take turns instead of racing on the mark
            low = _compacted()
            if low >= upto:
                return dropped
            high = min(upto, low + batch)
            changed = [cid for (cid,) in db.rows(
                "SELECT DISTINCT customer_id FROM feeditem WHERE cursor > ? AND cursor <= ? AND kind = ? "
                "AND store_code IS NULL AND customer_id IS NOT NULL", (low, high, CUSTOMER_STATE))]
            for start in range(0, len(changed), 500):
                dropped += _drop_superseded(changed[start:start + 500], high)
            _set_compacted(high)


def _drop_superseded(customer_ids: list[str], upto: int) -> int:
    """Drop every state of these customers at or below ``upto`` but the newest, with its deliveries."""
    states = db.rows(f"SELECT customer_id, cursor FROM feeditem WHERE store_code IS NULL AND customer_id IN "
                     f"({db.marks(len(customer_ids))}) AND kind = ? AND cursor <= ?",
                     (*customer_ids, CUSTOMER_STATE, upto))
    newest: dict[str, int] = {}
    for cid, cursor in states:
        newest[cid] = max(newest.get(cid, 0), cursor)
    superseded = [(cid, cursor) for cid, cursor in states if cursor < newest[cid]]
    if not superseded:
        return 0
    stores: dict[str, list[str]] = {}
    for store, cid in db.rows(f"SELECT store_code, customer_id FROM storecustomer WHERE customer_id IN "
                              f"({db.marks(len(customer_ids))})", customer_ids):
        stores.setdefault(cid, []).append(store)
    db.update_rows("DELETE FROM feeddelivery WHERE store_code = ? AND cursor = ?",
                   [(store, cursor) for cid, cursor in superseded for store in stores.get(cid, ())])
    cursors = [cursor for _, cursor in superseded]
    db.execute(f"DELETE FROM feeditem WHERE cursor IN ({db.marks(len(cursors))})", cursors)
    return len(cursors)


def _compacted() -> int:
    found = db.rows("SELECT cursor FROM figure_mark WHERE name = 'compacted'")
    return int(found[0][0]) if found else 0


def _set_compacted(cursor: int) -> None:
    if db.execute("UPDATE figure_mark SET cursor = ? WHERE name = 'compacted'", (cursor,)).rowcount == 0:
        db.execute("INSERT INTO figure_mark (name, cursor, members_total, refreshed_at) VALUES ('compacted', ?, 0, ?)",
                   (cursor, ""))


CUSTOMER_FIELDS = ("id", "card_number", "first_name", "last_name", "email", "phone", "birth_date", "tier")


def customer_state(customer: Sequence[Any], held: Holdings, now: datetime, negative: bool, qualifying_spend: int,
                   applied: Mapping[str, int], tier_locked: bool = False,
                   wallet: Mapping[str, Any] | None = None, registered_at: str | None = None) -> dict[str, Any]:
    """The ``customer.state`` body; ``customer`` holds the values of ``CUSTOMER_FIELDS`` in order.

    ``lots`` and ``debt`` are the customer's holdings at ``now``: an edge folds them at its own
    clock, so pending points mature and points expire there even while central is silent.
    ``points`` is the same at ``now``, for display. ``qualifying_spend`` is what decided
    ``customer.tier`` (lifetime total; see ``shared.tiers``), unless head office locked the
    tier (``tier_locked``): then it is head office's and no one else's to change. ``wallet``
    (``{"balance", "pockets"}``, ``central.wallet.state``) is the brand-wide wallet.
    ``registered_at`` is when the customer joined, which the rules' enrolment window judges.
    """
    points = held.balance(now)
    return {
        "customer": dict(zip(CUSTOMER_FIELDS, customer)),
        "points": {"available": points.available, "pending": points.pending},
        "lots": [{"ref": lot.ref, "points": lot.points, "available_at": format_time(lot.available_at),
                  "expires_at": format_time(lot.expires_at) if lot.expires_at else None} for lot in held.lots],
        "debt": held.debt,
        "qualifying_spend": qualifying_spend,
        "balance_negative": negative,
        "applied": dict(applied),
        "tier_locked": tier_locked,
        **({"wallet": dict(wallet)} if wallet is not None else {}),
        **({"registered_at": registered_at} if registered_at else {}),
    }
