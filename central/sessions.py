"""Signing head-office users in and out: throttled password checks and server-side sessions.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, the
user, a CSRF token for the session's forms and when it was last used. Signing out deletes
the row, so a copied cookie stops working at once; changing a password ends the user's
other sessions. Sessions live in the database, so any app server can serve any request.

Failed sign-ins are throttled per account and per address (``settings.SIGNIN_*``): past the
limit every attempt is refused with ``429 signin_throttled`` (the password is not even
checked) until the oldest counted failure leaves the window.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from shared.times import format_time, parse_time

from . import audit, auth, db, settings
from .errors import CentralError
from .models import User

_DUMMY_HASH: list[str] = []


@dataclass(frozen=True)
class Session:
    """A live session: who is signed in and the token its forms must carry."""

    user: User
    csrf_token: str
    token_hash: str


def _dummy_hash() -> str:
    # Checking an unknown e-mail against a real hash takes as long as a known one: the
    # answer's timing does not tell which accounts exist.
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(auth.hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


def _failures_since(column: str, value: str, since: str) -> list[str]:
    found = db.rows(f"SELECT at FROM signinattempt WHERE {column} = ? AND at > ? AND ok = ? ORDER BY at",
                    (value, since, False))
    return [at for (at,) in found]


def throttle_wait(email: str, address: str, now: datetime) -> int:
    """Seconds until this account and address may try again; 0 when they may now."""
    window_start = format_time(now - settings.SIGNIN_WINDOW)
    last_ok = db.rows("SELECT MAX(at) FROM signinattempt WHERE email = ? AND ok = ?", (email, True))[0][0]
    waits = []
    for column, value, since, limit in (
        ("email", email, max(window_start, last_ok or ""), settings.SIGNIN_MAX_PER_ACCOUNT),
        ("address", address, window_start, settings.SIGNIN_MAX_PER_ADDRESS),
    ):
        failures = _failures_since(column, value, since)
        if len(failures) >= limit:
            # Free again when enough failures have aged out of the window to go below the limit.
            freed_at = parse_time(failures[len(failures) - limit]) + settings.SIGNIN_WINDOW
            waits.append(max(1, int((freed_at - now).total_seconds()) + 1))
    return max(waits, default=0)


def _remember_attempt(email: str, address: str, ok: bool, now: datetime) -> None:
    with db.database.atomic():
        db.insert_rows("signinattempt", ("email", "address", "ok", "at"), [(email, address, ok, format_time(now))])
        # Attempts older than a day count for nothing; keep the table small.
        db.execute("DELETE FROM signinattempt WHERE email = ? AND at < ?",
                   (email, format_time(now - max(settings.SIGNIN_WINDOW * 4, settings.SESSION_LIFETIME * 2))))


def sign_in(email: str, password: str, address: str, now: datetime) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the cookie's token.

    ``401 signin_failed`` for a wrong e-mail or password (the same answer for both);
    ``429 signin_throttled`` with ``details.retry_after`` seconds past the failure limits.
    """
    email = auth.normal_email(email)[:254]
    address = (address or "unknown")[:64]
    wait = throttle_wait(email, address, now)
    if wait:
        raise CentralError(429, "signin_throttled",
                           f"too many failed sign-ins; try again in {(wait + 59) // 60} minute(s)",
                           {"retry_after": wait})
    user = User.get_or_none(User.email == email) if email else None
    ok = auth.verify_password(password, user.password_hash if user else _dummy_hash()) and user is not None
    _remember_attempt(email, address, ok, now)
    if not ok:
        raise CentralError(401, "signin_failed", "wrong e-mail or password")
    if auth.needs_rehash(user.password_hash):
        # An earlier release's hash: replace it now that the password is known.
        User.update(password_hash=auth.hash_password(password)).where(User.id == user.id).execute()
    return user, open_session(user, address, now)


def open_session(user: User, address: str | None, now: datetime) -> str:
    """A new session for ``user``; returns the secret token the cookie carries."""
    token = secrets.token_urlsafe(32)
    stamp = format_time(now)
    db.insert_rows("websession", ("token_hash", "user_id", "csrf_token", "created_at", "seen_at", "address"),
                   [(auth.hash_secret(token), user.id, secrets.token_urlsafe(32), stamp, stamp, address)])
    return token


def session_of(token: str | None, now: datetime) -> Session | None:
    """The live session holding ``token``; None when there is none, or it is idle or too old."""
    if not token or len(token) > 200:
        return None
    token_hash = auth.hash_secret(token)
    found = db.rows("SELECT user_id, csrf_token, created_at, seen_at FROM websession WHERE token_hash = ?",
                    (token_hash,))
    if not found:
        return None
    user_id, csrf_token, created_at, seen_at = found[0]
    if parse_time(created_at) + settings.SESSION_LIFETIME <= now or parse_time(seen_at) + settings.SESSION_IDLE <= now:
        db.execute("DELETE FROM websession WHERE token_hash = ?", (token_hash,))
        return None
    user = User.get_or_none(User.id == user_id)
    if user is None:
        return None
    if parse_time(seen_at) + settings.SESSION_TOUCH <= now:
        db.execute("UPDATE websession SET seen_at = ? WHERE token_hash = ?", (format_time(now), token_hash))
    return Session(user, csrf_token, token_hash)


def close_session(session: Session) -> None:
    """Sign out: the session's token stops working at once."""
    db.execute("DELETE FROM websession WHERE token_hash = ?", (session.token_hash,))


def change_password(session: Session, current: str, new: str, repeated: str, now: datetime) -> None:
    """Change the signed-in user's password; ends every other session of theirs.

    ``422 wrong_password`` when ``current`` is wrong, ``422 password_mismatch`` when the two
    new ones differ, ``422 weak_password`` when the new one is too short.
    """
    user = session.user
    if not auth.verify_password(current, user.password_hash):
        raise CentralError(422, "wrong_password", "the current password is wrong", {"field": "current"})
    if new != repeated:
        raise CentralError(422, "password_mismatch", "the two new passwords differ", {"field": "repeated"})
    with db.database.atomic():
        auth.set_password(user, new, now, actor=f"user:{user.email}")
        db.execute("DELETE FROM websession WHERE user_id = ? AND token_hash <> ?", (user.id, session.token_hash))


def record_sign_in(user: User, now: datetime) -> None:
    """Audit a sign-in (who came in is part of who changed what)."""
    audit.record(f"user:{user.email}", "user.sign_in", f"user:{user.email}", None, None, now)
