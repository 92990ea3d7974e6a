"""Head office's scheduled work: ``fidelis-central jobs run`` (a systemd timer runs it hourly).

Two jobs. Expiry: balances already let unspent points lapse on their lots' ``expires_at``
(``shared.ledger``); the job writes each lapsed lot down once, in the ``expiry`` table — the
lot, the points nothing spent from it, when it expired — and tells the shops through the feed:
a ``points.expired`` item and the customer's fresh ``customer.state``. Recording changes no
balance, so the liability report reconciles before and after it; a lot is recorded once
whatever the number of runs, so running the job again writes nothing new. The feed's
compaction (``compact_feed``): a customer's superseded states are dropped, so the feed grows
with the brand's customers, not with its sales.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from peewee import BigIntegerField, CharField, CompositeKey

from shared.expiry import expiries
from shared.times import format_time

from . import care, db, feed, ledger
from .models import ID, BaseModel

POINTS_EXPIRED = "points.expired"


class Expiry(BaseModel):
    """A lot that lapsed, recorded by the job: ``points`` left in it when it expired (0: spent)."""

    customer_id = CharField(max_length=ID)
    lot = CharField(max_length=ID + 16)
    points = BigIntegerField()
    expired_at = CharField()
    recorded_at = CharField()

    class Meta:
        primary_key = CompositeKey("customer_id", "lot")


MODELS = [Expiry]

_DUE = ("SELECT DISTINCT m.customer_id FROM movement m JOIN customer c ON c.id = m.customer_id "
        "WHERE c.merged_into IS NULL AND m.points > 0 AND m.expires_at IS NOT NULL AND m.expires_at <= ? "
        "AND NOT EXISTS (SELECT 1 FROM expiry e WHERE e.customer_id = m.customer_id AND e.lot = m.id)")


def expire_points(now: datetime) -> dict[str, Any]:
    """Record every lot lapsed by ``now`` not recorded yet; ``{"lots", "points", "customers"}``.

    One transaction: the records and their feed items are written together or not at all.
    """
    stamp = format_time(now)
    recorded_rows: list[tuple] = []
    items: list[feed.FeedItem] = []
    with db.database.atomic():
        db.lock_feed()  # one run at a time, and its feed items in cursor order
        due = [cid for cid, in db.rows(_DUE, (stamp,))]
        known = _recorded(due)
        for cid, rows in ledger.movements_by_customer(due).items():
            fresh = [e for e in expiries(ledger.as_movements(rows), now) if e.lot not in known.get(cid, set())]
            recorded_rows += [(cid, e.lot, e.points, format_time(e.at), stamp) for e in fresh]
            lapsed = [{"lot": e.lot, "points": e.points, "at": format_time(e.at)} for e in fresh if e.points]
            if lapsed:
                items += [feed.for_customer(cid, POINTS_EXPIRED, {"customer_id": cid, "lots": lapsed}), care.state_item(cid, now)]
        db.insert_rows("expiry", ("customer_id", "lot", "points", "expired_at", "recorded_at"), recorded_rows)
        feed.append(items, now)
    lapsed_customers = {row[0] for row in recorded_rows if row[2]}
    return {"lots": len(recorded_rows), "points": sum(row[2] for row in recorded_rows),
            "customers": len(lapsed_customers)}


def _recorded(customer_ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start:start + 500]
        for cid, lot in db.rows(f"SELECT customer_id, lot FROM expiry WHERE customer_id IN ({db.marks(len(chunk))})",
                                chunk):
            found.setdefault(cid, set()).add(lot)
    return found


def expired_of(customer_id: str) -> list[dict[str, Any]]:
    """The customer's recorded expiries, newest first: ``[{"lot", "points", "at"}]``."""
    return [{"lot": lot, "points": points, "at": at} for lot, points, at in db.rows(
        "SELECT lot, points, expired_at FROM expiry WHERE customer_id = ? AND points > 0 ORDER BY expired_at DESC, lot",
        (customer_id,))]


def run(now: datetime) -> dict[str, Any]:
    """Run every job once: ``{"expiry": …, "feed": {"compacted"}}``."""
    expired = expire_points(now)
    return {"expiry": expired, "feed": {"compacted": compact_feed(now)}}


def compact_feed(now: datetime) -> int:
    """Bring head office's figures up to the feed, then drop the customer states they and every
    shop no longer need (``central.feed.compact``); return how many were dropped."""
    from . import positions  # the figures: only this job and the server's refresher need them

    positions.refresh(now)
    return feed.compact(positions.read_up_to())
