"""Customer care at head office: corrections, tiers, lost cards and merges.

Each act runs in one transaction that locks the customers it changes (in id order, as a push
does), makes the change, keeps the act as central signed it (``careact``, ``sync.acts``),
writes the audit log and adds to the feed what edges must learn: the customer's new
``customer.state`` and, for a lost card or a merge, the signed act itself (``card.blocked``,
``customer.merged``), which an edge checks with central's key before obeying it.

- A correction is a ledger movement (``adjust``) made by central, never an edit of a balance:
  a positive one is a lot spendable at once that expires as the rules in force say; a
  negative one may take at most what is available.
- A tier set by hand may be locked; central's tier decision (``central.effects``) then leaves it.
- A lost card is blocked for good; the customer keeps its id, points and history.
- A merge moves everything of the absorbed customer to the one kept: its ledger movements (so
  its lots keep their dates), sales, returns, holds and qualifying spend. Its card then finds
  the one kept, and entries edges still send for the absorbed id apply to the one kept.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import peewee
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.ledger import expires_at
from shared.tiers import decided_tier
from shared.times import format_time
from sync import acts
from sync.bodies import usable_key

from . import audit, customers, db, feed, ledger, reach, schemas, wallet
from . import rules as rulebook
from .errors import CentralError, conflict, invalid, not_found

CENTRAL_DEVICE = "central"
"""What a movement central makes itself names as its device."""

CARD_BLOCKED, CUSTOMER_MERGED = feed.CARD_BLOCKED, feed.CUSTOMER_MERGED


# --- bodies: declared in central.schemas; their names stay here for the callers ---------------

Adjustment, TierChoice, NewCard, Merge = schemas.Adjustment, schemas.TierChoice, schemas.NewCard, schemas.Merge
BODIES = (Adjustment, TierChoice, NewCard, Merge)


# --- shared steps ---------------------------------------------------------------------------

_LOCKED = ("id", "card_number", "tier", "tier_locked", "merged_into", "qualifying_spend")


def _lock(customer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Lock these customers' rows (id order, as pushes do) and read them."""
    ordered = sorted({cid for cid in customer_ids if usable_key(cid)})
    if not ordered:
        return {}
    found = db.rows(f"SELECT {', '.join(_LOCKED)} FROM customer WHERE id IN ({db.marks(len(ordered))}) "
                    f"ORDER BY id{db.for_update()}", ordered)
    return {values[0]: dict(zip(_LOCKED, values)) for values in found}


def _live(locked: dict[str, dict[str, Any]], customer_id: str) -> dict[str, Any]:
    """The locked row of a customer that may be changed: 404 unknown, 409 merged away."""
    row = locked.get(customer_id)
    if row is None:
        raise not_found("customer_not_found", f"no customer with id {customer_id}")
    if row["merged_into"] is not None:
        raise conflict("customer_merged", f"customer {customer_id} was merged into {row['merged_into']}; "
                       "act on that one", merged_into=row["merged_into"])
    return row


def _act(kind: str, customer_id: str, body: dict[str, Any], actor: str, key: Ed25519PrivateKey,
         now: datetime) -> dict[str, Any]:
    """Sign and keep one act; return it with its signature."""
    act = {"id": str(uuid.uuid4()), "kind": kind, "customer_id": customer_id, "at": format_time(now), "body": body}
    act["signature"] = acts.sign_act(key, act)
    db.insert_rows("careact", ("id", "customer_id", "kind", "at", "actor", "body", "signature"),
                   [(act["id"], customer_id, kind, act["at"], actor, feed.dumps(body), act["signature"])])
    return act


def live_customer(customer_id: str) -> dict[str, Any]:
    """Lock and read a customer that may be acted on: 404 unknown, 409 merged away."""
    return _live(_lock([customer_id]), customer_id)


def signed_act(kind: str, customer_id: str, body: dict[str, Any], actor: str, key: Ed25519PrivateKey,
               now: datetime) -> dict[str, Any]:
    """Sign and keep one act of another service (``central.vip``)."""
    return _act(kind, customer_id, body, actor, key, now)


def _tier_spend(customer_id: str, lifetime: int, now: datetime) -> tuple[int, Any]:
    """The qualifying spend that decides the tier now, and the rules in force."""
    return reach.tier_spend(customer_id, lifetime, now), rulebook.in_force(now)


def _settle(customer_id: str, now: datetime) -> None:
    """Recompute the customer's ledger summary and negative flag from its movements."""
    summary = ledger.summarise(ledger.movements_by_customer([customer_id])[customer_id])
    negative = ledger.customer_holdings([customer_id], now)[customer_id].balance(now).available < 0
    db.execute(f"UPDATE customer SET {', '.join(f'{c} = ?' for c in ledger.SUMMARY_COLUMNS)}, balance_negative = ?, "
               "updated_at = ? WHERE id = ?", (*summary.values(), negative, format_time(now), customer_id))


def _state(customer_id: str, now: datetime) -> feed.FeedItem:
    """The customer's ``customer.state`` feed item as it stands now, for the stores that know it."""
    return feed.for_customer(customer_id, feed.CUSTOMER_STATE, reach.state(customer_id, now))


def state_item(customer_id: str, now: datetime) -> feed.FeedItem:
    """The customer's ``customer.state`` feed item as it stands now (for other services)."""
    return _state(customer_id, now)


def _points(customer_id: str, now: datetime) -> dict[str, int]:
    return ledger.customer_points(customer_id, now)


# --- the acts -------------------------------------------------------------------------------


def adjust(customer_id: str, request: Adjustment, actor: str, key: Ed25519PrivateKey,
           now: datetime) -> dict[str, Any]:
    """Correct a customer's points with a signed ledger movement; 201 body of the API."""
    with db.database.atomic():
        _live(_lock([customer_id]), customer_id)
        before = _points(customer_id, now)
        spendable = before["available"] - before["held"]
        if request.points < 0 and -request.points > spendable:
            raise invalid("insufficient_points", f"cannot take {-request.points} points: {max(spendable, 0)} "
                          "available", available=spendable)
        stamp = format_time(now)
        rules = rulebook.in_force(now)
        expiry = expires_at(rules, now) if rules is not None and request.points > 0 else None
        body = {"points": request.points, "reason": request.reason,
                "available_at": stamp if request.points > 0 else None,
                "expires_at": format_time(expiry) if expiry else None}
        act = _act(acts.ADJUSTMENT, customer_id, body, actor, key, now)
        db.insert_rows("movement", ledger.MOVEMENT_COLUMNS, [(
            act["id"], customer_id, "adjust", request.points, stamp, body["available_at"], body["expires_at"], None,
            None, CENTRAL_DEVICE, act["id"])])
        _settle(customer_id, now)
        after = _points(customer_id, now)
        audit.record(actor, "customer.adjust", f"customer:{customer_id}", {"points": before},
                     {"points": after, "adjustment": {"id": act["id"], "points": request.points,
                                                      "reason": request.reason}}, now)
        feed.append([_state(customer_id, now)], now)
        customer = customers.get(customer_id, now)
    return {"id": act["id"], "points": request.points, "reason": request.reason, "at": act["at"],
            "available_at": body["available_at"], "expires_at": body["expires_at"], "signature": act["signature"],
            "customer": customer}


def set_tier(customer_id: str, request: TierChoice, actor: str, key: Ed25519PrivateKey,
             now: datetime) -> dict[str, Any]:
    """Set a customer's tier by hand, locked against central's decision or not; the customer."""
    with db.database.atomic():
        row = _live(_lock([customer_id]), customer_id)
        rules = rulebook.in_force(now)
        names = [tier.name for tier in rules.tiers] if rules is not None else []
        if request.tier not in names:
            known = ", ".join(names) or "none: no rules are published"
            raise invalid("unknown_tier", f"tier {request.tier!r} is not in the rules in force ({known})",
                          tiers=names, problems=[{"path": "tier", "message": f"must be one of: {known}"}])
        before = {"tier": row["tier"], "tier_locked": bool(row["tier_locked"])}
        after = {"tier": request.tier, "tier_locked": request.locked}
        _act(acts.TIER, customer_id, {"tier": request.tier, "locked": request.locked, "previous": row["tier"],
                                      "previous_locked": bool(row["tier_locked"])}, actor, key, now)
        db.execute("UPDATE customer SET tier = ?, tier_locked = ?, updated_at = ? WHERE id = ?",
                   (request.tier, request.locked, format_time(now), customer_id))
        audit.record(actor, "customer.tier", f"customer:{customer_id}", before, after, now)
        feed.append([_state(customer_id, now)], now)
    return customers.get(customer_id, now)


def replace_card(customer_id: str, request: NewCard, actor: str, key: Ed25519PrivateKey,
                 now: datetime) -> dict[str, Any]:
    """Give a customer a new card and block the old one for good; the customer.

    Asking again for the card the customer already holds changes nothing.
    """
    card = request.card_number
    try:
        with db.database.atomic():
            row = _live(_lock([customer_id]), customer_id)
            old = row["card_number"]
            if card == old:
                return customers.get(customer_id, now)
            retired = db.rows("SELECT status FROM retiredcard WHERE card_number = ?", (card,))
            if retired and retired[0][0] == "blocked":
                raise conflict("card_blocked", f"card {card} was reported lost and is blocked", card_number=card)
            if retired or db.rows("SELECT 1 FROM customer WHERE card_number = ?", (card,)):
                raise conflict("card_in_use", f"card {card} already belongs to a customer", card_number=card)
            act = _act(acts.CARD, customer_id, {"card_number": card, "blocked": old}, actor, key, now)
            stamp = format_time(now)
            db.execute("UPDATE customer SET card_number = ?, updated_at = ? WHERE id = ?", (card, stamp, customer_id))
            if old is not None:
                db.insert_rows("retiredcard", ("card_number", "customer_id", "status", "at", "act_id"),
                               [(old, customer_id, "blocked", stamp, act["id"])])
            audit.record(actor, "customer.card", f"customer:{customer_id}", {"card_number": old},
                         {"card_number": card, "blocked": old}, now)
            items = [_state(customer_id, now)]
            if old is not None:
                items.append(feed.for_customer(customer_id, CARD_BLOCKED, act))
            feed.append(items, now)
    except peewee.IntegrityError:  # a push gave the card to a new customer meanwhile
        raise conflict("card_in_use", f"card {card} already belongs to a customer", card_number=card) from None
    return customers.get(customer_id, now)


_MOVED = ("movement", "sale", "salereturn", "hold", "walletmovement", "wallethold")
"""Tables whose rows follow a customer into the one it is merged into."""


def merge(request: Merge, actor: str, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """Merge ``absorb`` into ``keep``; the kept customer, holding the points of both."""
    keep, absorb = request.keep, request.absorb
    if keep == absorb:
        raise invalid("validation_error", "absorb: must be another customer than keep",
                      problems=[{"path": "absorb", "message": "must be another customer than keep"}])
    with db.database.atomic():
        locked = _lock([keep, absorb])
        kept, absorbed = _live(locked, keep), _live(locked, absorb)
        before = {keep: _points(keep, now), absorb: _points(absorb, now)}
        card = absorbed["card_number"]
        act = _act(acts.MERGE, keep, {"absorbed": absorb, "absorbed_card": card}, actor, key, now)
        stamp = format_time(now)
        for table in _MOVED:
            db.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (keep, absorb))
        # Per device, the last entry central applied for either: the kept holdings include both.
        db.execute("INSERT INTO customerdeviceseq (customer_id, device_id, seq) SELECT ?, device_id, seq "
                   "FROM customerdeviceseq WHERE customer_id = ? ON CONFLICT (customer_id, device_id) "
                   "DO UPDATE SET seq = excluded.seq WHERE excluded.seq > customerdeviceseq.seq", (keep, absorb))
        db.execute("DELETE FROM customerdeviceseq WHERE customer_id = ?", (absorb,))
        db.execute("UPDATE retiredcard SET customer_id = ? WHERE customer_id = ?", (keep, absorb))
        db.execute("UPDATE customer SET merged_into = ? WHERE merged_into = ?", (keep, absorb))
        db.execute("UPDATE customer SET merged_into = ?, card_number = NULL, qualifying_spend = 0, ledger_total = 0, "
                   "ledger_last_at = NULL, ledger_last_available = NULL, ledger_expiring = 0, "
                   "balance_negative = ?, updated_at = ? WHERE id = ?", (keep, False, stamp, absorb))
        if card is not None:
            db.insert_rows("retiredcard", ("card_number", "customer_id", "status", "at", "act_id"),
                           [(card, keep, "merged", stamp, act["id"])])
        lifetime = kept["qualifying_spend"] + absorbed["qualifying_spend"]
        tier = kept["tier"]
        spend, rules = _tier_spend(keep, lifetime, now)
        if rules is not None and not kept["tier_locked"]:
            tier = decided_tier(rules, spend) or tier
        db.execute("UPDATE customer SET qualifying_spend = ?, tier = ? WHERE id = ?", (lifetime, tier, keep))
        _settle(keep, now)
        after = _points(keep, now)
        audit.record(actor, "customer.merge", f"customer:{keep}",
                     {"kept": {"id": keep, "points": before[keep], "tier": kept["tier"]},
                      "absorbed": {"id": absorb, "card_number": card, "points": before[absorb]}},
                     {"kept": {"id": keep, "points": after, "tier": tier}}, now)
        # The absorbed customer's state (empty now) comes after the notice: edges, which obey the
        # notice first, skip it; every other reader of the feed learns its points moved. All three
        # go to every store that knew either customer (``reach.share``).
        _, _, gone = _state(absorb, now)
        reach.share(absorb, keep)
        feed.append([_state(keep, now), feed.for_customer(keep, CUSTOMER_MERGED, act),
                     feed.for_customer(keep, feed.CUSTOMER_STATE, {**gone, "merged_into": keep})], now)
    return customers.get(keep, now)


def acts_of(customer_id: str) -> list[dict[str, Any]]:
    """The customer's acts, newest first, as signed (with ``actor``)."""
    found = db.rows("SELECT id, kind, customer_id, at, body, signature, actor FROM careact WHERE customer_id = ? "
                    "ORDER BY at DESC, id", (customer_id,))
    return [{"id": i, "kind": k, "customer_id": c, "at": a, "body": json.loads(b), "signature": s, "actor": who}
            for i, k, c, a, b, s, who in found]
