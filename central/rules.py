"""Rules publishing: validate, number, sign and announce a brand rules version.

Central's versions start at 1 (an edge's own rules are version 0). Each version is signed
with central's key over ``b"fidelis/rules/v1\\x00" + JCS({version, effective_from, document})``
(``sync.protocol.sign_rules``) and goes to every store's feed as a ``rules.version`` item.
Per-item points may only change from the first instant of a month (UTC), so a month's
receipts never mix two per-item tables.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.rules import Problem, RuleSet, parse_rules
from shared.times import format_time
from sync.canonical import CanonicalError, canonical_bytes
from sync.protocol import sign_rules

from . import db, feed
from .errors import CentralError
from .web import read_json


def read_document(raw: bytes | str) -> Any:
    """Parse a rules document strictly (``web.read_json``); 400 ``malformed_json`` otherwise.

    Floats are kept so that validation can name the field that holds one.
    """
    if not raw:
        raise CentralError(400, "malformed_json", "the rules document is empty; it must be a JSON object")
    return read_json(raw, "the rules document")


def _per_item(document: Any) -> Any:
    earn = document.get("earn") if isinstance(document, dict) else None
    return earn.get("per_item", {}) if isinstance(earn, dict) else {}


def is_month_start(moment: datetime) -> bool:
    """Whether ``moment`` is the first instant of a month in UTC."""
    moment = moment.astimezone(timezone.utc)
    return (moment.day, moment.hour, moment.minute, moment.second, moment.microsecond) == (1, 0, 0, 0, 0)


def check_document(document: Any, previous: Any | None, now: datetime) -> tuple[RuleSet | None, list[Problem]]:
    """Every problem with publishing ``document`` after the ``previous`` version's document."""
    ruleset, problems = parse_rules(document)
    try:
        canonical_bytes(document)
    except CanonicalError as exc:
        if not problems:
            problems.append(Problem("$", f"cannot be signed: {exc}"))
    if previous is not None and isinstance(document, dict) and _per_item(document) != _per_item(previous):
        start = ruleset.effective_from if ruleset is not None and ruleset.effective_from else now
        if not is_month_start(start):
            problems.append(Problem(
                "effective_from",
                "per-item points (earn.per_item) may only change from the 1st of a month at 00:00 UTC, "
                "e.g. 2027-01-01T00:00:00Z",
            ))
    return (ruleset if not problems else None), problems


def problems_message(problems: list[Problem]) -> str:
    return "invalid rules document: " + "; ".join(f"{p.path}: {p.message}" for p in problems)


def publish(document: Any, key: Ed25519PrivateKey, now: datetime) -> dict[str, Any]:
    """Publish ``document`` as the next version; 422 ``invalid_rules`` listing every problem."""
    with db.database.atomic():
        db.lock_feed()  # also numbers versions one publisher at a time
        latest = db.rows("SELECT version, document FROM rulesversion ORDER BY version DESC LIMIT 1")
        previous = json.loads(latest[0][1]) if latest else None
        ruleset, problems = check_document(document, previous, now)
        if problems:
            raise CentralError(422, "invalid_rules", problems_message(problems),
                               {"problems": [p.as_dict() for p in problems]})
        version = (latest[0][0] if latest else 0) + 1
        effective_from = format_time(ruleset.effective_from or now)
        signature = sign_rules(key, version, effective_from, document)
        db.insert_rows("rulesversion", ("version", "effective_from", "document", "signature", "published_at"),
                       [(version, effective_from, feed.dumps(document), signature, format_time(now))])
        item = {"version": version, "effective_from": effective_from, "document": document, "signature": signature}
        feed.append([(None, feed.RULES_VERSION, item)], now)
    return item


def list_versions() -> list[dict[str, Any]]:
    """Every published version, oldest first."""
    found = db.rows("SELECT version, effective_from, document, signature, published_at "
                    "FROM rulesversion ORDER BY version")
    return [{"version": v, "effective_from": e, "document": json.loads(d), "signature": s, "published_at": p}
            for v, e, d, s, p in found]


# --- rule sets for recalculation ------------------------------------------------------------

_by_document: dict[str, RuleSet | None] = {}


def published_ruleset(version: int) -> RuleSet | None:
    """Central's published version as a ``RuleSet``, or None if there is no such version."""
    found = db.rows("SELECT document FROM rulesversion WHERE version = ?", (version,))
    return ruleset_of(found[0][0], version) if found else None


def ruleset_of(document_text: str, version: int = 0) -> RuleSet | None:
    """A stored document parsed into a ``RuleSet`` (None if it does not validate); cached by text."""
    key = f"{version}:{document_text}"
    if key not in _by_document:
        if len(_by_document) > 512:
            _by_document.clear()
        try:
            _by_document[key] = parse_rules(json.loads(document_text), version=version)[0]
        except ValueError:
            _by_document[key] = None
    return _by_document[key]
