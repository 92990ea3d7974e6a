"""A lightweight edge: its own Ed25519 device key, real signed and chained entries, the real client.

No database and no Flask: it keeps its log in memory, so a test or a benchmark can run hundreds
of shops in one process. It speaks only the public sync protocol (docs/sync-protocol.md)
through ``sync.client.SyncClient``, so central cannot tell it from a box.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from shared.times import format_time
from sync.client import SyncClient
from sync.entry import GENESIS_PREV, generate_private_key, public_key_raw_b64, seal_entry
from sync.hlc import format_hlc

BATCH = 500
"""Entries in one push, the protocol's maximum."""


class LightEdge:
    """One enrolled device with an in-memory change log."""

    def __init__(self, central_url: str, token: str, store: str,
                 session: requests.Session | None = None, timeout: float = 30.0) -> None:
        self.key = generate_private_key()
        self.device_id = str(uuid.uuid4())
        self.store = store
        self.client = SyncClient(central_url, self.device_id, self.key, session=session, timeout=timeout)
        self.client.enroll(token, public_key_raw_b64(self.key), store)
        self.entries: list[dict[str, Any]] = []
        self.prev = GENESIS_PREV
        self.acked = 0
        self.started = datetime.now(timezone.utc) - timedelta(minutes=5)

    def add(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Append one signed entry to the log (not sent yet)."""
        seq = len(self.entries) + 1
        at = self.started + timedelta(milliseconds=seq)
        sealed = seal_entry(device=self.device_id, seq=seq, prev=self.prev, at=format_time(at),
                            hlc=format_hlc(int(at.timestamp() * 1000), 0), kind=kind, id=str(uuid.uuid4()),
                            body=body, private_key=self.key)
        self.prev = sealed.hash
        self.entries.append(sealed.entry)
        return sealed.entry

    def register(self, card_number: str) -> str:
        """A ``customer.registered`` entry; the new customer's id."""
        customer_id = str(uuid.uuid4())
        self.add("customer.registered", {"customer_id": customer_id, "card_number": card_number,
                                         "first_name": "Light", "last_name": card_number, "email": None,
                                         "phone": None, "birth_date": None, "tier": "Basic"})
        return customer_id

    def sale(self, customer_id: str | None, amount: int, earned: int = 0, paid: int = 0,
             sale_id: str | None = None) -> str:
        """A ``sale.completed`` entry: ``amount`` in cash plus ``paid`` points; the sale id."""
        sale_id = sale_id or str(uuid.uuid4())
        payments = [{"method": "cash", "amount": amount}]
        if paid:
            payments.append({"method": "points", "points": paid, "amount": paid})
        self.add("sale.completed", {"sale_id": sale_id, "customer_id": customer_id, "till_id": None,
                                    "lines": [{"sku": "A1", "qty": 1, "unit_price": amount + paid, "discount": 0}],
                                    "payments": payments, "total": amount + paid, "eligible_amount": amount,
                                    "rules_version": 1, "tier": "Basic", "tier_after": "Basic",
                                    "points_earned": earned if customer_id else 0,
                                    "points_paid": paid, "reward_points": 0})
        return sale_id

    def push_all(self) -> list[dict[str, Any]]:
        """Send every entry central has not acknowledged, 500 at a time; central's results.

        A ``seq_gap`` (central's head is not where this edge thought) re-reads the head and
        resends from there, as the box does.
        """
        from sync.client import Refused

        results: list[dict[str, Any]] = []
        while self.acked < len(self.entries):
            batch = self.entries[self.acked:self.acked + BATCH]
            try:
                reply = self.client.push(batch)
            except Refused as refused:
                if refused.code != "seq_gap":
                    raise
                self.acked = refused.details["head"]["seq"]
                continue
            results.extend(reply["results"])
            self.acked = reply["head"]["seq"]
        return results
