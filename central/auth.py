"""Head-office users (scrypt passwords) and bearer tokens for the JSON API (SHA-256 only)."""

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

from . import settings
from .db import database
from .errors import CentralError, conflict, invalid
from .models import ApiToken, User

TOKEN_PREFIX = "fct_"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD = 10


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a random secret (tokens are long and random, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """An scrypt hash with a fresh salt: ``scrypt$N$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    n, r, p = settings.SCRYPT_N, settings.SCRYPT_R, settings.SCRYPT_P
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    encode = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"scrypt${n}${r}${p}${encode(salt)}${encode(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by ``hash_password`` (constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def create_user(email: str, role: str, password: str, now: datetime) -> User:
    """Add a head-office user; 422 for a bad email, role or short password, 409 if the email exists."""
    email = (email or "").strip().lower()
    if not _EMAIL.fullmatch(email) or not usable_key(email, 254):
        raise invalid("invalid_email", f"{email!r} is not an email address")
    if role not in settings.USER_ROLES:
        raise invalid("invalid_role", f"role must be one of {', '.join(settings.USER_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise invalid("weak_password", f"the password must be at least {MIN_PASSWORD} characters")
    try:
        with database.atomic():
            return User.create(id=str(uuid.uuid4()), email=email, role=role,
                               password_hash=hash_password(password), created_at=format_time(now))
    except IntegrityError:
        raise conflict("user_exists", f"a user with email {email} already exists") from None


def create_token(name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new API token; returns the row and the secret, which is shown once and never stored."""
    name = (name or "").strip()
    if not usable_key(name, 200):
        raise invalid("invalid_name", "a token needs a name of 1-200 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.create(id=str(uuid.uuid4()), name=name, token_hash=hash_secret(secret),
                            created_at=format_time(now), revoked=False)
    return token, secret


def authenticate(secret: str) -> ApiToken | None:
    """The live token with this secret, or None."""
    if not secret or len(secret) > 200:
        return None
    return ApiToken.get_or_none((ApiToken.token_hash == hash_secret(secret)) & (ApiToken.revoked == False))  # noqa: E712


def revoke_token(token_id: str) -> ApiToken:
    token = ApiToken.get_or_none(ApiToken.id == token_id)
    if token is None:
        raise CentralError(404, "token_not_found", f"no API token with id {token_id}")
    token.revoked = True
    token.save()
    return token
