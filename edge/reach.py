"""Cards this shop does not know: asked of central, kept from then on.

A shop holds the customers seen there (registered, sold to, looked up), not the whole brand.
When a till presents a card the shop does not know, the edge asks central in one signed call
(``GET /sync/v1/customers?card=``), waiting at most ``LOOKUP_TIMEOUT``, outside any lock. The
answer is stored as a known customer, and central sends that customer's later changes to
this shop's feed. Central unreachable, the caller decides: a look-up says so, a sale records
the card provisionally (``edge.customers.register_provisional``), and it earns but spends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from shared.times import format_time
from sync.client import Offline, Refused
from sync.entry import load_public_key_b64

from . import care, feedapply, syncer
from .box import EdgeBox
from .db import write_transaction
from .errors import ApiError
from .models import MergedCustomer, RetiredCard

log = logging.getLogger("fidelis.edge.reach")
LOOKUP_TIMEOUT = 1.0
"""Seconds a till waits for central's answer about a card before the shop works offline."""


class Unreachable(Exception):
    """Central could not be asked about a card (no central, offline, too slow, stopped)."""


def ask_central(box: EdgeBox, card: str | None = None, customer_id: str | None = None) -> str | None:
    """The id of the customer holding ``card`` (or with ``customer_id``), now stored here; None
    when central knows no such card or id.

    Raises ``Unreachable`` when central cannot answer in time, and ``409 card_blocked`` for a
    card head office blocked (whose signed act this shop then obeys).
    """
    client = syncer.client_for(box, timeout=LOOKUP_TIMEOUT)
    if client is None or syncer.setting("sync_state") in ("device_revoked", "fork", "device_frozen"):
        raise Unreachable("this box has no working link to central")
    try:
        reply = client.lookup_customer(LOOKUP_TIMEOUT, card=card, customer_id=customer_id)
    except Offline as exc:
        raise Unreachable(str(exc)) from None
    except Refused as exc:
        if exc.code == "customer_not_found":
            return None
        if exc.code == "card_blocked":
            _obey_block(exc.details.get("act"))
            raise ApiError(409, "card_blocked", f"card {card} was reported lost and is blocked; use the customer's "
                           "new card", {"card_number": card}) from None
        log.warning("central refused a card look-up (%s); working offline", exc.code)
        raise Unreachable(str(exc)) from None
    state = reply["state"]
    found = state["customer"]["id"]
    merged = reply.get("found_by", {}).get("status") == care.MERGED
    stamp = format_time(datetime.now(timezone.utc))
    with write_transaction():
        feedapply.apply_customer(box, state, only_new=True)
        if merged and card is not None:
            RetiredCard.replace(card_number=card, customer_id=found, status=care.MERGED, at=stamp).execute()
        elif merged and customer_id is not None:
            MergedCustomer.replace(id=customer_id, kept_id=found, at=stamp).execute()
    return found


def _obey_block(act: object) -> None:
    if not isinstance(act, dict):
        return
    with write_transaction():
        care.card_blocked(act, load_public_key_b64(syncer.setting("central_public_key")), datetime.now(timezone.utc))
