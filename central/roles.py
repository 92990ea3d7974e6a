"""Who may do what in the head-office UI: five roles, named permissions, one table.

Every page and every action names the permission it needs (``central.ui.web.requires``);
the server checks it on each request, whatever the page showed. ``auditor`` reads all but
changes nothing; ``finance`` never sees a customer's e-mail or phone.
"""

from __future__ import annotations

ADMIN, MARKETING, SUPPORT, FINANCE, AUDITOR = "admin", "marketing", "support", "finance", "auditor"
EVERYONE = frozenset({ADMIN, MARKETING, SUPPORT, FINANCE, AUDITOR})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Signed in at all: the start page, one's own password.
    "account": EVERYONE,
    "dashboard.view": EVERYONE,
    # Customers: their personal data (names, e-mail, phone) is never shown to finance.
    "customers.view": frozenset({ADMIN, MARKETING, SUPPORT, AUDITOR}),
    "customers.change": frozenset({ADMIN, SUPPORT}),
    "personal_data.view": frozenset({ADMIN, MARKETING, SUPPORT, AUDITOR}),
    # Rules, tiers and rewards.
    "rules.view": EVERYONE,
    "rules.publish": frozenset({ADMIN, MARKETING}),
    # Shops and their edge boxes.
    "shops.view": frozenset({ADMIN, SUPPORT, FINANCE, AUDITOR, MARKETING}),
    "shops.change": frozenset({ADMIN, SUPPORT}),
    # The exceptions queue.
    "exceptions.view": frozenset({ADMIN, SUPPORT, FINANCE, AUDITOR}),
    "exceptions.resolve": frozenset({ADMIN, SUPPORT}),
    # Money: the liability report.
    "finance.view": frozenset({ADMIN, FINANCE, AUDITOR}),
    # Who changed what.
    "audit.view": frozenset({ADMIN, AUDITOR}),
    "users.manage": frozenset({ADMIN}),
}
"""Permission → the roles that hold it. A permission not listed here is held by no one."""


def allowed(role: str | None, permission: str) -> bool:
    """Whether a user with ``role`` holds ``permission`` (unknown roles and permissions: no)."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def permissions_of(role: str | None) -> frozenset[str]:
    """Every permission ``role`` holds (what the navigation shows)."""
    return frozenset(name for name, roles in PERMISSIONS.items() if role in roles)
