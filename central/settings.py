"""Central's settings in one place: defaults, limits and where each can be changed."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_DATABASE_URL = "sqlite:///./var/central.db"
"""``--database`` or ``FIDELIS_DATABASE_URL``; ``postgresql://user@host:port/db`` for real brands."""
DATABASE_ENV = "FIDELIS_DATABASE_URL"

DEFAULT_KEY_FILE = "./var/central_key.pem"
"""``--key-file`` or ``FIDELIS_CENTRAL_KEY``: central's Ed25519 key, made once by ``init``."""
KEY_ENV = "FIDELIS_CENTRAL_KEY"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
DEFAULT_THREADS = 8

POOL_MAX_CONNECTIONS = 20
"""PostgreSQL connections one central process may hold (one per busy request thread)."""
POOL_STALE_SECONDS = 300
"""A pooled PostgreSQL connection older than this is closed instead of reused."""
POOL_WAIT_SECONDS = 10
"""How long a request waits for a free pooled connection before failing (503)."""
SQLITE_BUSY_MS = 10_000

ENROLMENT_HOURS = 24
"""Default lifetime of a one-time enrolment token (``enroll create --expires-in``)."""
PAIRING_LIFETIME = timedelta(minutes=15)
"""How long a pairing code (``fidelis-edge pair``) waits for head office's approval."""
PAIRING_POLL_SECONDS = 2
"""How often a box waiting for approval is told to ask again."""
PAIRING_ATTEMPTS = 10
PAIRING_ATTEMPT_WINDOW = timedelta(minutes=15)
"""Pairing codes requested, or codes and secrets got wrong, per client address and window."""
HOLD_TTL = timedelta(minutes=10)
"""An authorization hold lapses after this unless a sale entry settles it first."""

MAX_PUSH_ENTRIES = 500
"""Most entries one push may carry (docs/sync-protocol.md)."""
PULL_DEFAULT_LIMIT = 500
PULL_MAX_LIMIT = 1000
PULL_PAGE_BYTES = 256 * 1024
"""A pull page also stops once its items' bodies reach this size (``more`` is then true)."""
EXCEPTIONS_DEFAULT_LIMIT = 500
EXCEPTIONS_MAX_LIMIT = 5000
"""``GET /api/v1/exceptions?limit=``: 1 to this many exceptions in one answer."""
MAX_BODY_BYTES = 8 << 20
"""Largest request body: 500 entries of a few kilobytes each."""

NONCE_SWEEP_SECONDS = 60
"""How often a process deletes expired request nonces."""

FIGURES_REFRESH_SECONDS = 30
"""How often a serving process brings the dashboard's figures up to the feed (``central.positions``)."""
FIGURES_INLINE_LIMIT = 200
"""A page refreshes the figures itself only when at most this many feed items wait; else it
shows the figures as of the last refresh, and says so."""
FIGURES_REFRESH_BATCH = 2000
"""Feed items one refresh transaction reads at most."""

STORE_CODE_MAX = 16

# --- head office: users, sign-in, the web UI -----------------------------------------------

USER_ROLES = ("admin", "marketing", "support", "finance", "auditor")
"""What a head-office user may do is decided by the role alone (``central.roles``)."""
LEGACY_ROLES = {"manager": "auditor", "viewer": "auditor"}
"""Roles of earlier releases; migration 3 maps them to the least privilege (an admin re-grants)."""
PASSWORD_METHOD = "scrypt"
"""``werkzeug.security.generate_password_hash`` method; older hashes are replaced at next sign-in."""
MIN_PASSWORD = 10
SESSION_COOKIE = "fidelis_session"
SIGNIN_COOKIE = "fidelis_signin"
"""Holds the sign-in form's CSRF token before there is a session (double-submit)."""
SESSION_IDLE = timedelta(hours=2)
"""A session unused this long ends; so does any session after ``SESSION_LIFETIME``."""
SESSION_LIFETIME = timedelta(hours=12)
SESSION_TOUCH = timedelta(minutes=5)
"""How stale ``seen_at`` may get before a request writes it again (one write per few minutes)."""
SIGNIN_WINDOW = timedelta(minutes=15)
"""Failed sign-ins count for this long."""
SIGNIN_MAX_PER_ACCOUNT = 5
"""Failures in the window (since the last success) after which an account refuses every attempt."""
SIGNIN_MAX_PER_ADDRESS = 20
"""Failures in the window from one address after which it is refused, whatever the account."""
PAGE_SIZE = 50
"""Rows per page of every list in the web UI."""
