"""The audit log: who changed what, when, and the thing before and after.

Every change head office makes (from the web UI, the JSON API or the command line) calls
``record`` inside the transaction that makes the change, so a change and its audit line
commit or roll back together. Actors are written ``user:ana@example.com``,
``token:reporting`` or ``cli``; targets ``customer:<id>``, ``store:S001``, ``rules:3``, ….
Rows are never updated or deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from shared.times import format_time

from . import db

COLUMNS = ("at", "actor", "action", "target", "before", "after")
_SELECT = 'SELECT id, at, actor, action, target, "before", "after" FROM auditlog'
FILTERS = ("actor", "action", "target")
"""Columns the audit page filters on (each has an index that leads with it)."""


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def record(actor: str, action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
           now: datetime) -> None:
    """Append one line: ``actor`` did ``action`` to ``target``; ``before``/``after`` its state (or None).

    Call it inside the transaction of the change itself.
    """
    db.insert_rows("auditlog", ('at', 'actor', 'action', 'target', '"before"', '"after"'),
                   [(format_time(now), actor[:300], action[:64], target[:300], _dumps(before), _dumps(after))])


@dataclass(frozen=True)
class AuditLine:
    """One line of the audit log as the page and the CSV show it."""

    id: int
    at: str
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def changes(self) -> list[tuple[str, Any, Any]]:
        """``(field, before, after)`` for every field whose value differs."""
        before, after = self.before or {}, self.after or {}
        return [(key, before.get(key), after.get(key)) for key in sorted(set(before) | set(after))
                if before.get(key) != after.get(key)]


def _line(row: tuple) -> AuditLine:
    id_, at, actor, action, target, before, after = row
    return AuditLine(id_, at, actor, action, target, json.loads(before) if before else None,
                     json.loads(after) if after else None)


def _where(filters: dict[str, str]) -> tuple[str, list[str]]:
    clauses, params = [], []
    for name in FILTERS:
        value = filters.get(name)
        if value:
            clauses.append(f"{name} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def search(filters: dict[str, str], limit: int, offset: int = 0) -> list[AuditLine]:
    """Lines matching every given filter (exact ``actor``, ``action``, ``target``), newest first."""
    where, params = _where(filters)
    found = db.rows(f"{_SELECT}{where} ORDER BY id DESC LIMIT ? OFFSET ?", (*params, limit, offset))
    return [_line(row) for row in found]


def count(filters: dict[str, str]) -> int:
    """How many lines match ``filters``."""
    where, params = _where(filters)
    return db.rows(f"SELECT COUNT(*) FROM auditlog{where}", params)[0][0]


def every(filters: dict[str, str], page: int = 1000) -> Iterator[AuditLine]:
    """Every matching line, newest first, read a page at a time (for the CSV export)."""
    where, params = _where(filters)
    joiner = " AND " if where else " WHERE "
    last = None
    while True:
        keyset = f"{joiner}id < ?" if last is not None else ""
        found = db.rows(f"{_SELECT}{where}{keyset} ORDER BY id DESC LIMIT ?",
                        (*params, *([last] if last is not None else []), page))
        if not found:
            return
        yield from (_line(row) for row in found)
        last = found[-1][0]
