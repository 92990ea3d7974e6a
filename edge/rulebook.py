"""The rule versions this edge holds, and which one is in force at a given time."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from shared.rules import RuleSet, parse_rules, rules_in_effect

from .models import RulesVersion

_cache: dict[tuple[int, str], RuleSet] = {}
_lock = threading.Lock()


def _parsed(row: RulesVersion) -> RuleSet:
    key = (row.version, row.document)
    with _lock:
        ruleset = _cache.get(key)
    if ruleset is None:
        ruleset, problems = parse_rules(json.loads(row.document), version=row.version)
        if ruleset is None:  # stored documents were validated on the way in
            raise RuntimeError(f"stored rules version {row.version} is invalid: {problems}")
        with _lock:
            _cache[key] = ruleset
    return ruleset


def in_force(now: datetime) -> RuleSet:
    """The rule set that applies to a sale made at ``now``."""
    versions = [_parsed(row) for row in RulesVersion.select()]
    ruleset = rules_in_effect(versions, now)
    if ruleset is None:
        raise RuntimeError("no rules in force: run 'fidelis-edge init' or pull rules from central")
    return ruleset


def version(number: int) -> RuleSet:
    """A specific stored version (a return is priced under its sale's version)."""
    return _parsed(RulesVersion.get(RulesVersion.version == number))
