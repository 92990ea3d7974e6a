"""The enrolment window: who takes part in the programme, and from when.

The rules may name a window, ``"enrolment": {"from": "2027-01-01", "until": "2027-06-30"}``
(UTC dates, both days included, either bound optional). A customer registered on or before
``until`` is enrolled from ``from`` (or from registering, whichever is later); one registered
after ``until`` still gets a card, and the tier's discount, but earns no points under these
rules. A sale earns only when its customer is enrolled at the moment of the sale; the edge and
central decide it from the same two times, the customer's registration and the sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class Window:
    """The days customers may join: ``opens`` and ``closes`` included, None for no bound."""

    opens: date | None = None
    closes: date | None = None

    def enrolled_at(self, registered_at: datetime) -> datetime | None:
        """When a customer registered at ``registered_at`` is enrolled (None: not under this window)."""
        registered_at = registered_at.astimezone(timezone.utc)
        if self.closes is not None and registered_at.date() > self.closes:
            return None
        if self.opens is not None:
            return max(registered_at, datetime.combine(self.opens, time(), tzinfo=timezone.utc))
        return registered_at

    def earns(self, registered_at: datetime, at: datetime) -> bool:
        """Whether a sale at ``at`` earns points for a customer registered at ``registered_at``."""
        start = self.enrolled_at(registered_at)
        return start is not None and at.astimezone(timezone.utc).date() >= start.date()


def earns(window: Window | None, registered_at: datetime | None, at: datetime) -> bool:
    """``Window.earns``; no window (or an unknown registration) earns as always."""
    if window is None or registered_at is None:
        return True
    return window.earns(registered_at, at)


def parse_window(raw: Any) -> tuple[Window | None, Problems]:
    """Read the rules' ``enrolment`` section: ``(window, [])`` or ``(None, [(path, message), …])``."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [("enrolment", 'must be an object such as {"from": "2027-01-01", "until": "2027-06-30"}')]
    problems: Problems = [(f"enrolment.{extra}", "unknown field") for extra in sorted(set(raw) - {"from", "until"})]
    bounds: dict[str, date | None] = {}
    for name in ("from", "until"):
        value = raw.get(name)
        bounds[name] = None
        if value is None:
            continue
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            bounds[name] = date.fromisoformat(value)
        except ValueError:
            problems.append((f"enrolment.{name}", "must be a date as YYYY-MM-DD"))
    if bounds["from"] and bounds["until"] and bounds["until"] < bounds["from"]:
        problems.append(("enrolment.until", "must not be before enrolment.from"))
    if problems:
        return None, problems
    return Window(bounds["from"], bounds["until"]), []
