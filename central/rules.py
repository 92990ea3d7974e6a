"""Rules publishing: validate, number, sign and announce a brand rules version.

Central's versions start at 1 (an edge's own rules are version 0). Each version is signed
with central's key over ``b"fidelis/rules/v1\\x00" + JCS({version, effective_from, document})``
(``sync.protocol.sign_rules``) and goes to every store's feed as a ``rules.version`` item.
Per-item points may only change from the first instant of a month (UTC), so a month's
receipts never mix two per-item tables: a new version is checked against the whole schedule
of published versions (``shared.per_item``), not only the one numbered before it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.per_item import Publication, schedule_problems
from shared.rules import Problem, RuleSet, parse_rules, rules_in_effect
from shared.times import format_time, parse_time
from sync.canonical import CanonicalError, canonical_bytes
from sync.protocol import sign_rules
from sync.refusal import parse_body

from . import audit, db, feed
from .errors import CentralError


def read_document(raw: bytes | str) -> Any:
    """Parse a rules document strictly (``sync.refusal.parse_body``); 400 ``malformed_json`` otherwise.

    Floats are kept so that validation can name the field that holds one.
    """
    if not raw:
        raise CentralError(400, "malformed_json", "the rules document is empty; it must be a JSON object")
    return parse_body(raw, "the rules document")


def _per_item(document: Any) -> Any:
    earn = document.get("earn") if isinstance(document, dict) else None
    return earn.get("per_item", {}) if isinstance(earn, dict) else {}


def _candidate(document: Any, ruleset: RuleSet | None, version: int, now: datetime) -> Publication | None:
    """The new version as the per-item schedule sees it; None when its start or table cannot be read."""
    if ruleset is not None:
        return Publication(version, ruleset.effective_from or now, ruleset.per_item)
    # The document has other problems; still list a per-item one if start and table are readable.
    per_item = _per_item(document)
    if not isinstance(per_item, dict) or any(isinstance(v, bool) or not isinstance(v, int) for v in per_item.values()):
        return None
    try:
        start = parse_time(document["effective_from"]) if document.get("effective_from") is not None else now
    except ValueError:
        return None
    return Publication(version, start, per_item)


def published_schedule() -> list[Publication]:
    """Every published version's number, start and per-item table."""
    found = db.rows("SELECT version, effective_from, document FROM rulesversion")
    return [Publication(version, parse_time(start), _per_item(json.loads(document)))
            for version, start, document in found]


def check_document(document: Any, published: list[Publication], now: datetime) -> tuple[RuleSet | None, list[Problem]]:
    """Every problem with publishing ``document`` as the next version after ``published``."""
    ruleset, problems = parse_rules(document)
    try:
        canonical_bytes(document)
    except CanonicalError as exc:
        if not problems:
            problems.append(Problem("$", f"cannot be signed: {exc}"))
    version = max((p.version for p in published), default=0) + 1
    candidate = _candidate(document, ruleset, version, now) if isinstance(document, dict) else None
    if candidate is not None:
        problems.extend(schedule_problems(published, candidate, now))
    return (ruleset if not problems else None), problems


def problems_message(problems: list[Problem]) -> str:
    return "invalid rules document: " + "; ".join(f"{p.path}: {p.message}" for p in problems)


def publish(document: Any, key: Ed25519PrivateKey, now: datetime, actor: str = "cli") -> dict[str, Any]:
    """Publish ``document`` as the next version; 422 ``invalid_rules`` listing every problem."""
    with db.database.atomic():
        db.lock_feed()  # also numbers versions one publisher at a time
        published = published_schedule()
        ruleset, problems = check_document(document, published, now)
        if problems:
            raise CentralError(422, "invalid_rules", problems_message(problems),
                               {"problems": [p.as_dict() for p in problems]})
        version = max((p.version for p in published), default=0) + 1
        effective_from = format_time(ruleset.effective_from or now)
        signature = sign_rules(key, version, effective_from, document)
        db.insert_rows("rulesversion", ("version", "effective_from", "document", "signature", "published_at"),
                       [(version, effective_from, feed.dumps(document), signature, format_time(now))])
        item = {"version": version, "effective_from": effective_from, "document": document, "signature": signature}
        feed.append([(None, feed.RULES_VERSION, item)], now)
        audit.record(actor, "rules.publish", f"rules:{version}", None,
                     {"version": version, "effective_from": effective_from}, now)
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


def in_force(now: datetime) -> RuleSet | None:
    """The published version in force at ``now`` (None before central publishes any)."""
    found = db.rows("SELECT version, document FROM rulesversion")
    versions = [ruleset_of(document, version) for version, document in found]
    return rules_in_effect([r for r in versions if r is not None], now)
