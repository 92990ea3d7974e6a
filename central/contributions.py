"""What one customer contributes to the brand's figures (``central.positions`` adds them up).

Every figure the dashboard counts over members is kept as a sum over customers of small
per-customer parts, so a change to one customer moves the sums by that customer's difference:

- ``flow``: points of each movement per (day, store, kind);
- ``lot``: what each lot ends with (``shared.ledger.outcome``) per (store, earned day,
  available day, expiry day), as ``[left, repaid]``; the debt no lot covers sits in store ``""``;
- ``member``: +1 / −1 events per (measure, store, day) whose running sum up to a day counts the
  members in that state on that day. ``active``: an earn or a spend in the 90 days up to the
  day (per store where it happened, and ``*`` for the brand); ``lapsed``: registered 120 days
  or more before the day and no purchase in the 120 days up to it (per home store);
  ``enrolled``: registered by that day (per home store);
- ``buyer``: per (store, day, previous purchase day) the customers whose purchase on that day
  followed one on the previous day (``""``: the first); the members who bought between days
  ``a`` and ``b`` are those with a purchase day in ``[a, b]`` whose previous one is before ``a``;
- ``tier``: one member per (home store, tier).

Days are ``day_of`` days. A window of N days "up to day T" is the days ``T−N+1 … T``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from functools import lru_cache
from typing import Iterable

from shared.ledger import Movement, outcome

ACTIVE_DAYS, LAPSED_DAYS = 90, 120
BRAND = "*"
"""The store of brand-wide member counts (a member active in two shops counts once)."""
NO_STORE = ""
COMPONENTS = ("flow", "lot", "member", "buyer", "tier")

Part = dict[str, dict[tuple, object]]


def day_of(stamp: str | None) -> str:
    """The day a stored time (``format_time`` form) counts in: midnight belongs to the day before."""
    if not stamp:
        return ""
    if stamp[11:23] != "00:00:00.000":
        return stamp[:10]
    return date.fromordinal(date.fromisoformat(stamp[:10]).toordinal() - 1).isoformat()


@lru_cache(maxsize=None)
def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


@lru_cache(maxsize=None)
def _iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def contribution(home: str, tier: str | None, created_at: str, movements: list[tuple],
                 purchases: Iterable[tuple[str, str]], stores: dict[str, str]) -> Part:
    """One customer's part of every figure.

    ``movements`` are rows as ``ledger.movements_by_customer`` returns them; ``purchases`` are
    ``(at, device_id)`` of the customer's sales; ``stores`` maps device ids to store codes.
    """
    part: Part = {name: {} for name in COMPONENTS}
    _points(part, movements, stores)
    active: dict[str, set[int]] = defaultdict(set)
    for _, kind, _, at, _, _, _, _, device_id in movements:
        if kind in ("earn", "redeem"):
            day = _ordinal(day_of(at))
            active[stores.get(device_id, NO_STORE)].add(day)
            active[BRAND].add(day)
    members = part["member"]
    for store, days in active.items():
        for start, end in _spells(days, ACTIVE_DAYS):
            _event(members, ("active", store, start), 1)
            _event(members, ("active", store, end), -1)
    bought: dict[str, set[int]] = defaultdict(set)
    for at, device_id in purchases:
        day = _ordinal(day_of(at))
        bought[stores.get(device_id, NO_STORE)].add(day)
        bought[BRAND].add(day)
    for store, days in bought.items():
        previous = ""
        for day in sorted(days):
            key = (store, _iso(day), previous)
            part["buyer"][key] = part["buyer"].get(key, 0) + 1
            previous = _iso(day)
    created = _ordinal(day_of(created_at))
    _event(members, ("enrolled", home, created), 1)
    for start, end in _lapses(created + LAPSED_DAYS, _spells(bought.get(BRAND, set()), LAPSED_DAYS)):
        _event(members, ("lapsed", home, start), 1)
        if end is not None:
            _event(members, ("lapsed", home, end), -1)
    part["member"] = {(measure, store, _iso(day)): delta for (measure, store, day), delta in members.items() if delta}
    part["tier"][(home, tier or "")] = 1
    return part


def _event(events: dict[tuple, object], key: tuple, delta: int) -> None:
    events[key] = events.get(key, 0) + delta


def _spells(days: Iterable[int], window: int) -> list[tuple[int, int]]:
    """The days covered by ``[day, day + window)`` of any of ``days``, as merged ``(start, end)``."""
    spells: list[tuple[int, int]] = []
    for day in sorted(days):
        if spells and day <= spells[-1][1]:
            spells[-1] = (spells[-1][0], day + window)
        else:
            spells.append((day, day + window))
    return spells


def _lapses(since: int, covered: list[tuple[int, int]]) -> list[tuple[int, int | None]]:
    """The days from ``since`` on that no spell covers, as ``(start, end)`` (``end`` None: for good)."""
    found: list[tuple[int, int | None]] = []
    start = since
    for begin, end in covered:
        if end <= start:
            continue
        if begin > start:
            found.append((start, begin))
        start = max(start, end)
    found.append((start, None))
    return found


def _points(part: Part, rows: list[tuple], stores: dict[str, str]) -> None:
    flows, lots = part["flow"], part["lot"]
    made: dict[str, tuple[str, str]] = {}  # lot ref -> (store, earned day)
    for _, kind, points, at, _, _, _, ref, device_id in rows:
        store = stores.get(device_id, NO_STORE)
        day = day_of(at)
        flows[(day, store, kind)] = flows.get((day, store, kind), 0) + points
        if points > 0:
            made[ref] = (store, day)
    for key in [key for key, points in flows.items() if not points]:
        del flows[key]
    # Each lot's dates as stored: availability, and expiry never before availability.
    dates = {ref: (available or at, max(expires, available or at) if expires else None)
             for _, _, points, at, available, expires, _, ref, _ in rows if points > 0}
    if any(values[2] < 0 for values in rows):
        result = outcome(_movements(rows))
        outcomes = [(lot.ref, lot.left, lot.repaid) for lot in result.lots]
        debt = result.debt
    else:  # nothing was ever spent: every lot keeps all its points
        outcomes = [(ref, points, 0) for _, _, points, _, _, _, _, ref, _ in rows if points > 0]
        debt = 0
    for ref, left, repaid in outcomes:
        if left or repaid:
            available, expires = dates[ref]
            store, earned = made[ref]
            key = (store, earned, day_of(available), day_of(expires))
            old = lots.get(key, (0, 0))
            lots[key] = (old[0] + left, old[1] + repaid)
    if debt:
        key = (NO_STORE, "", "", "")
        lots[key] = (lots.get(key, (0, 0))[0] - debt, 0)


def _movements(rows: Iterable[tuple]) -> list[Movement]:
    parse = datetime.fromisoformat
    return [Movement(kind, points, parse(at), ref, parse(available) if available else None,
                     parse(expires) if expires else None, lot)
            for _, kind, points, at, available, expires, lot, ref, _ in rows]


def dumps(part: Part) -> str:
    """The part as compact JSON, to take it back out of the sums later."""
    return json.dumps({name: [[*key, *(value if isinstance(value, tuple) else (value,))]
                              for key, value in items.items()] for name, items in part.items()},
                      separators=(",", ":"))


_KEY_LENGTH = {"flow": 3, "lot": 4, "member": 3, "buyer": 3, "tier": 2}


def loads(text: str | None) -> Part:
    """A part written by ``dumps`` (empty for None)."""
    part: Part = {name: {} for name in COMPONENTS}
    if not text:
        return part
    for name, items in json.loads(text).items():
        size = _KEY_LENGTH[name]
        for item in items:
            values = item[size:]
            part[name][tuple(item[:size])] = tuple(values) if len(values) > 1 else values[0]
    return part
