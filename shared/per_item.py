"""When per-item points change: the brand's rule versions laid out in time.

Per-item points (``earn.per_item``) may only change from the first instant of a month, UTC,
so a month's receipts never mix two per-item tables. Whether a new version keeps that rule
depends on more than the version before it: it takes effect between the versions already
published, and replaces the table in force at its ``effective_from`` until the next later
version takes over. This module works out every moment at which the per-item table in force
would change, and which of those moments a new version would add.

A version is in force from its ``effective_from`` until the next later ``effective_from``;
among versions with the same start the highest number wins (``shared.rules.rules_in_effect``,
which the edge uses to pick the rules for a sale). The past is fixed: sales already made
keep the version they were priced under, so a version that starts at or before the moment it
is published changes the table at that moment, not at its ``effective_from``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from .rules import Problem
from .times import format_time

PerItemTable = Mapping[str, int]
"""SKU → points per unit sold."""


@dataclass(frozen=True)
class Publication:
    """A rules version as the schedule sees it: its number, its start and its per-item table."""

    version: int
    effective_from: datetime
    per_item: PerItemTable = field(default_factory=dict)

    def table(self) -> frozenset[tuple[str, int]]:
        """The table compared by what it earns: a SKU at 0 points is the same as an absent one."""
        return frozenset((sku, points) for sku, points in self.per_item.items() if points)


@dataclass(frozen=True)
class PerItemChange:
    """At ``at`` the per-item table of ``before`` stops and the (different) one of ``after`` starts."""

    at: datetime
    before: Publication
    after: Publication

    def key(self) -> tuple[datetime, frozenset, frozenset]:
        """The change by when and what, whichever version numbers carry the tables."""
        return (self.at, self.before.table(), self.after.table())


def is_month_start(moment: datetime) -> bool:
    """Whether ``moment`` is the first instant of a month in UTC."""
    moment = moment.astimezone(timezone.utc)
    return (moment.day, moment.hour, moment.minute, moment.second, moment.microsecond) == (1, 0, 0, 0, 0)


def next_month_start(moment: datetime) -> datetime:
    """The first month start (UTC) strictly after ``moment``."""
    moment = moment.astimezone(timezone.utc)
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def timeline(publications: Iterable[Publication]) -> list[Publication]:
    """The versions that actually come into force, in time order (one per distinct start)."""
    winners: dict[datetime, Publication] = {}
    for publication in publications:
        held = winners.get(publication.effective_from)
        if held is None or publication.version > held.version:
            winners[publication.effective_from] = publication
    return [winners[start] for start in sorted(winners)]


def per_item_changes(publications: Iterable[Publication]) -> list[PerItemChange]:
    """Every moment the per-item table in force changes, oldest first.

    The start of the first version is not a change: before it the brand had no table.
    """
    ordered = timeline(publications)
    return [PerItemChange(after.effective_from, before, after)
            for before, after in zip(ordered, ordered[1:]) if before.table() != after.table()]


def table_in_force(publications: Iterable[Publication], moment: datetime) -> Publication | None:
    """The version whose per-item table is in force at ``moment`` (None before the first)."""
    started = [p for p in publications if p.effective_from <= moment]
    return max(started, key=lambda p: (p.effective_from, p.version)) if started else None


def changes_added(published: Sequence[Publication], candidate: Publication, now: datetime) -> list[PerItemChange]:
    """The mid-month per-item changes that publishing ``candidate`` at ``now`` would add.

    Two kinds: a change at ``now`` itself, when the candidate starts at or before ``now`` and
    replaces the table in force; and changes after ``now``, where the candidate's table
    starts or ends between the versions already published. A change already in the published
    schedule is not the candidate's doing (versions accepted before this check looked past the
    previous version may hold one), so only new ones count.
    """
    found = []
    current, replacing = table_in_force(published, now), table_in_force([*published, candidate], now)
    if current is not None and replacing is candidate and current.table() != candidate.table():
        found.append(PerItemChange(now, current, candidate))
    before = {change.key() for change in per_item_changes(published)}
    found += [change for change in per_item_changes([*published, candidate])
              if change.at > now and change.key() not in before]
    return [change for change in found if not is_month_start(change.at)]


def schedule_problems(published: Sequence[Publication], candidate: Publication, now: datetime) -> list[Problem]:
    """One problem on ``earn.per_item`` for each mid-month change ``candidate`` would cause."""
    problems = []
    for change in changes_added(published, candidate, now):
        when = format_time(change.at)
        if change.at == now:
            what = f"as soon as it is published, from version {change.before.version}'s table to this version's"
        elif change.after is candidate:
            what = f"from version {change.before.version}'s table to this version's"
        elif change.before is candidate:
            what = f"again when version {change.after.version} takes over with its own table"
        else:
            what = f"from version {change.before.version}'s table to version {change.after.version}'s"
        problems.append(Problem(
            "earn.per_item",
            f"per-item points would change on {when}, {what}; they may only change from the 1st of a month "
            f"at 00:00 UTC (such as {format_time(next_month_start(change.at))})",
        ))
    return problems
