"""The exceptions queue: business problems found while applying the brand's entries.

Kinds: ``overdraft`` (a balance went below zero after offline spending), ``fork`` (a device
signed two different entries at one seq), ``bad_entry`` (a pushed entry did not verify),
``recalculation_mismatch`` (central's points differ from the edge's), ``card_conflict``,
``unknown_customer``, ``unknown_sale``, ``duplicate_sale``, ``duplicate_return``,
``unknown_rules_version``, ``malformed_body``, ``wallet_overdraft`` (a wallet went below zero
after offline spending, ``central.wallet``). An entry with a problem is still acknowledged:
``unknown_rules_version``, ``malformed_body``; ``gift_card_double_use``, ``gift_card_invalid``,
``voucher_double_use`` and ``voucher_invalid`` (``central.giftcards``, ``central.vouchers``).
An entry with a problem is still acknowledged:
the queue never blocks sync.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from shared.times import format_time

from . import audit, db
from .errors import CentralError

OVERDRAFT, FORK, BAD_ENTRY = "overdraft", "fork", "bad_entry"
RECALCULATION_MISMATCH, CARD_CONFLICT = "recalculation_mismatch", "card_conflict"
UNKNOWN_CUSTOMER, UNKNOWN_SALE, DUPLICATE_SALE = "unknown_customer", "unknown_sale", "duplicate_sale"
UNKNOWN_RULES_VERSION, MALFORMED_BODY = "unknown_rules_version", "malformed_body"
DUPLICATE_RETURN = "duplicate_return"
REJECTIONS = {
    DUPLICATE_SALE: "central already holds a sale with this sale_id",
    UNKNOWN_CUSTOMER: "central knows no customer with this customer_id",
    UNKNOWN_SALE: "central knows no sale with this sale_id",
    DUPLICATE_RETURN: "central already holds a return with this return_id",
}
"""The kinds that reject an entry, with the message its push result carries (``malformed_body``
names the bad field instead)."""

COLUMNS = ("kind", "status", "device_id", "store_code", "customer_id", "seq", "entry_id", "details", "created_at")
_VIEW = ("id, kind, status, device_id, store_code, customer_id, seq, entry_id, details, created_at, resolved_at, "
         "resolution")


def row(kind: str, now: datetime, *, device_id: str | None = None, store_code: str | None = None,
        customer_id: str | None = None, seq: int | None = None, entry_id: str | None = None,
        **details: Any) -> tuple:
    """One queue row, ready for ``record``."""
    return (kind, "open", device_id, store_code, customer_id, seq, entry_id,
            json.dumps(details, separators=(",", ":"), sort_keys=True), format_time(now))


def attach(row_: tuple, **details: Any) -> tuple:
    """A ``row`` with more details (such as the stored line of the entry it is about)."""
    index = COLUMNS.index("details")
    merged = {**json.loads(row_[index]), **details}
    return row_[:index] + (json.dumps(merged, separators=(",", ":"), sort_keys=True),) + row_[index + 1:]


def record(rows: Iterable[tuple]) -> None:
    """Open the given exceptions (inside the caller's transaction)."""
    db.insert_rows("conflict", COLUMNS, rows)


def open_exception(kind: str, now: datetime, **fields: Any) -> None:
    """Open one exception in its own transaction (used when everything else is rolled back)."""
    with db.database.atomic():
        record([row(kind, now, **fields)])


def is_open(kind: str, device_id: str, seq: int | None) -> bool:
    return bool(db.rows("SELECT 1 FROM conflict WHERE kind = ? AND status = 'open' AND device_id = ? AND seq = ?",
                        (kind, device_id, seq)))


def earlier_rejections(device_id: str, seqs: list[int]) -> dict[int, dict[str, str]]:
    """Why central rejected these entries of the device when they first came: ``{seq: {reason, message}}``.

    A push answered ``rejected`` whose reply was lost comes back as duplicates; telling the
    edge again keeps the rejection from going unnoticed.
    """
    found: dict[int, dict[str, str]] = {}
    if not seqs:
        return found
    for seq, kind, details in db.rows(f"SELECT seq, kind, details FROM conflict WHERE device_id = ? AND seq IN "
                                      f"({db.marks(len(seqs))}) ORDER BY id", (device_id, *seqs)):
        if kind == MALFORMED_BODY or kind in REJECTIONS:
            found.setdefault(seq, {"reason": kind,
                                   "message": json.loads(details).get("problem") or REJECTIONS.get(kind, kind)})
    return found


def _view(values: tuple) -> dict[str, Any]:
    (id_, kind, status, device_id, store, customer_id, seq, entry_id, details, created_at,
     resolved_at, resolution) = values
    return {"id": id_, "kind": kind, "status": status, "device_id": device_id, "store": store,
            "customer_id": customer_id, "seq": seq, "entry_id": entry_id, "details": json.loads(details),
            "created_at": created_at, "resolved_at": resolved_at, "resolution": resolution}


def get_exception(exception_id: int) -> dict[str, Any]:
    """One exception as the API shows it; 404 ``exception_not_found``."""
    found = db.rows(f"SELECT {_VIEW} FROM conflict WHERE id = ?", (exception_id,))
    if not found:
        raise CentralError(404, "exception_not_found", f"no exception with id {exception_id}")
    return _view(found[0])


def search(where: str, params: list[Any], limit: int, offset: int) -> list[dict[str, Any]]:
    """A page of exceptions, newest first; ``where`` is a ``WHERE …`` clause over ``conflict`` (or empty)."""
    found = db.rows(f"SELECT {_VIEW} FROM conflict{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset))
    return [_view(row) for row in found]


def list_exceptions(status: str = "open", kind: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Exceptions oldest first; ``status`` is ``open``, ``resolved`` or ``all``."""
    where, params = [], []
    if status != "all":
        where.append("status = ?")
        params.append(status)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    found = db.rows(f"SELECT {_VIEW} FROM conflict{clause} ORDER BY id LIMIT ?", (*params, limit))
    return [_view(values) for values in found]


def resolve(exception_id: int, resolution: str, now: datetime, actor: str = "cli") -> dict[str, Any]:
    """Close an open exception with a note of what was done about it."""
    with db.database.atomic():
        found = db.rows(f"SELECT {_VIEW} FROM conflict WHERE id = ?", (exception_id,))
        if not found:
            raise CentralError(404, "exception_not_found", f"no exception with id {exception_id}")
        if found[0][2] != "open":
            raise CentralError(409, "exception_resolved", f"exception {exception_id} is already resolved")
        if not (resolution or "").strip():
            raise CentralError(422, "validation_error", "say what was done about it: the resolution is required",
                               {"problems": [{"path": "resolution", "message": "required"}]})
        db.execute("UPDATE conflict SET status = 'resolved', resolved_at = ?, resolution = ? WHERE id = ?",
                   (format_time(now), resolution or "", exception_id))
        audit.record(actor, "exception.resolve", f"exception:{exception_id}", {"status": "open"},
                     {"status": "resolved", "resolution": resolution or ""}, now)
        return _view(db.rows(f"SELECT {_VIEW} FROM conflict WHERE id = ?", (exception_id,))[0])
