"""Head-office users (``werkzeug.security`` password hashes) and bearer tokens for the JSON API.

Passwords are hashed with werkzeug's salted scrypt (``settings.PASSWORD_METHOD``). Hashes
made by earlier releases (``scrypt$N$r$p$salt$hash``) still verify, and ``sign_in`` replaces
them with a current hash the next time their owner signs in. API tokens are long random
secrets, kept as a SHA-256 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime

from peewee import IntegrityError

from shared.times import format_time
from sync.bodies import usable_key

from . import audit, db, settings
from .db import database
from .errors import CentralError, conflict, invalid
from .models import ApiToken, User

TOKEN_PREFIX = "fct_"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = settings.MIN_PASSWORD
_LEGACY_PREFIX = "scrypt$"
MAX_PASSWORD = 1024
"""Longer inputs are refused before hashing: scrypt's cost grows with them."""


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a random secret (tokens are long and random, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """A salted hash of ``password`` by ``werkzeug.security`` (``scrypt:N:r:p$salt$hash``)."""
    from werkzeug.security import generate_password_hash  # loaded when needed: it loads all of werkzeug

    return generate_password_hash(password, method=settings.PASSWORD_METHOD)


def _verify_legacy(password: str, stored: str) -> bool:
    """Check a hash of earlier releases: ``scrypt$N$r$p$salt$hash`` with base64 parts."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, a current hash or one of an earlier release."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD or not stored:
        return False
    if stored.startswith(_LEGACY_PREFIX):
        return _verify_legacy(password, stored)
    from werkzeug.security import check_password_hash

    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made another way than today's (an earlier release's hash)."""
    return stored.startswith(_LEGACY_PREFIX) or not stored.startswith(settings.PASSWORD_METHOD + ":")


def check_new_password(password: str) -> None:
    """422 ``weak_password`` unless ``password`` is long enough to keep."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise invalid("weak_password", f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise invalid("weak_password", f"the password must be at most {MAX_PASSWORD} characters")


def normal_email(email: str) -> str:
    """The e-mail as users are keyed: trimmed and lower-case."""
    return (email or "").strip().lower() if isinstance(email, str) else ""


def create_user(email: str, role: str, password: str, now: datetime, actor: str = "cli") -> User:
    """Add a head-office user; 422 for a bad email, role or short password, 409 if the email exists."""
    email = normal_email(email)
    if not _EMAIL.fullmatch(email) or not usable_key(email, 254):
        raise invalid("invalid_email", f"{email!r} is not an email address")
    if role not in settings.USER_ROLES:
        raise invalid("invalid_role", f"role must be one of {', '.join(settings.USER_ROLES)}")
    check_new_password(password)
    try:
        with database.atomic():
            user = User.create(id=str(uuid.uuid4()), email=email, role=role,
                               password_hash=hash_password(password), created_at=format_time(now))
            audit.record(actor, "user.create", f"user:{email}", None, {"email": email, "role": role}, now)
            return user
    except IntegrityError:
        raise conflict("user_exists", f"a user with email {email} already exists") from None


def set_password(user: User, password: str, now: datetime, actor: str) -> None:
    """Replace ``user``'s password (checked with ``check_new_password``) and audit it."""
    check_new_password(password)
    with database.atomic():
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        audit.record(actor, "user.password_change", f"user:{user.email}", None, None, now)


def create_token(name: str, now: datetime, actor: str = "cli") -> tuple[ApiToken, str]:
    """A new API token; returns the row and the secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not usable_key(name, 200):
        raise invalid("invalid_name", "a token needs a name of 1-200 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with database.atomic():
        token = ApiToken.create(id=str(uuid.uuid4()), name=name, token_hash=hash_secret(secret),
                                created_at=format_time(now), revoked=False)
        audit.record(actor, "token.create", f"token:{token.id}", None, {"name": name}, now)
    return token, secret


_LIVE_TOKEN = f"SELECT id, name, created_at FROM {ApiToken._meta.table_name} WHERE token_hash = ? AND revoked = ?"


def authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, or None (one plain statement: every API call asks)."""
    if not secret or len(secret) > 200:
        return None
    token_hash = hash_secret(secret)
    found = db.rows(_LIVE_TOKEN, (token_hash, False))
    if not found:
        return None
    token_id, name, created_at = found[0]
    return ApiToken(id=token_id, name=name, token_hash=token_hash, created_at=created_at, revoked=False)


def revoke_token(token_id: str) -> ApiToken:
    """Refuse the token from now on; 404 ``token_not_found`` for an unknown id."""
    token = ApiToken.get_or_none(ApiToken.id == token_id)
    if token is None:
        raise CentralError(404, "token_not_found", f"no API token with id {token_id}")
    token.revoked = True
    token.save()
    return token
