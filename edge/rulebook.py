"""The rule versions this edge holds, and which one is in force at a given time."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from shared.rules import RuleSet, parse_rules, rules_in_effect

from .db import database
from .models import RulesVersion

# A stored version never changes (version 0 is refused a second document, central versions
# are immutable), so parsed rule sets are cached by (database, version) for the process.
_cache: dict[tuple[str, int], RuleSet] = {}
_lock = threading.Lock()


class NoRules(RuntimeError):
    """No rules version is in force yet (a provisioned box before central published any)."""


def version(number: int) -> RuleSet:
    """A specific stored version (a return is priced under its sale's version)."""
    key = (database.database, number)
    with _lock:
        ruleset = _cache.get(key)
    if ruleset is None:
        row = RulesVersion.get(RulesVersion.version == number)
        ruleset, problems = parse_rules(json.loads(row.document), version=row.version)
        if ruleset is None:  # stored documents were validated on the way in
            raise RuntimeError(f"stored rules version {row.version} is invalid: {problems}")
        with _lock:
            _cache[key] = ruleset
    return ruleset


def in_force(now: datetime) -> RuleSet:
    """The rule set that applies to a sale made at ``now``."""
    numbers = [row[0] for row in database.execute_sql("SELECT version FROM rulesversion")]
    ruleset = rules_in_effect([version(n) for n in numbers], now)
    if ruleset is None:
        raise NoRules("no rules in force yet: central has not published rules this box can use")
    return ruleset

