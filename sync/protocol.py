"""Signed sync requests and signed rule versions (docs/sync-protocol.md).

Both ends import this module: the edge to sign what it sends and to check the rules central
publishes, central to check requests and to sign rules.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.times import format_time, parse_time

from .canonical import canonical_bytes
from .entry import EntryError, b64url_decode, b64url_encode

REQUEST_DOMAIN = b"fidelis/req/v1\x00"
RULES_DOMAIN = b"fidelis/rules/v1\x00"
MAX_SKEW = timedelta(seconds=300)
NONCE_TTL = timedelta(minutes=10)

DEVICE_HEADER = "X-Fidelis-Device"
TIMESTAMP_HEADER = "X-Fidelis-Timestamp"
NONCE_HEADER = "X-Fidelis-Nonce"
SIGNATURE_HEADER = "X-Fidelis-Signature"


class RequestRefused(Exception):
    """A signed request that must be refused; ``code`` and ``status`` go to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def request_message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes a device signs for one request: method, path with query, time, nonce, body digest."""
    digest = hashlib.sha256(body).hexdigest()
    return REQUEST_DOMAIN + "\n".join([method.upper(), path, timestamp, nonce, digest]).encode("utf-8")


def sign_request(
    key: Ed25519PrivateKey, device_id: str, method: str, path: str, body: bytes, now: datetime
) -> dict[str, str]:
    """Headers that authenticate one request from this device."""
    timestamp = format_time(now)
    nonce = b64url_encode(secrets.token_bytes(16))
    signature = key.sign(request_message(method, path, timestamp, nonce, body))
    return {
        DEVICE_HEADER: device_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: b64url_encode(signature),
    }


@dataclass(frozen=True)
class SignedRequest:
    """What central learned from checking the headers: who, when, and the nonce to remember."""

    device_id: str
    timestamp: datetime
    nonce: str


def check_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    public_key_of,
    now: datetime,
) -> SignedRequest:
    """Check a signed request's headers; ``public_key_of(device_id)`` returns the key or None.

    Raises ``RequestRefused``: ``unknown_device``, ``bad_signature`` or ``stale_request``.
    Replay (a nonce seen before) and revocation are the caller's checks: they need state.
    """
    device_id = headers.get(DEVICE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    nonce = headers.get(NONCE_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (device_id and timestamp and nonce and signature):
        raise RequestRefused(401, "unsigned_request", "sync requests must carry the X-Fidelis-* signature headers")
    public_key = public_key_of(device_id)
    if public_key is None:
        raise RequestRefused(401, "unknown_device", f"device {device_id} is not enrolled")
    try:
        public_key.verify(b64url_decode(signature), request_message(method, path, timestamp, nonce, body))
    except (InvalidSignature, EntryError):
        raise RequestRefused(401, "bad_signature", "the request signature does not verify") from None
    try:
        when = parse_time(timestamp)
    except ValueError:
        raise RequestRefused(401, "stale_request", "the request timestamp is not an RFC 3339 time") from None
    if abs(when - now) > MAX_SKEW:
        raise RequestRefused(401, "stale_request", "the request timestamp is more than 5 minutes off; check the clock")
    if len(nonce) > 64:
        raise RequestRefused(401, "bad_signature", "nonce too long")
    return SignedRequest(device_id, when, nonce)


def rules_payload(version: int, effective_from: str | None, document: Any) -> bytes:
    """The canonical bytes central signs for one rules version."""
    return canonical_bytes({"version": version, "effective_from": effective_from, "document": document})


def sign_rules(key: Ed25519PrivateKey, version: int, effective_from: str | None, document: Any) -> str:
    return b64url_encode(key.sign(RULES_DOMAIN + rules_payload(version, effective_from, document)))


def verify_rules(public_key: Ed25519PublicKey, item: Mapping[str, Any]) -> None:
    """Check a pulled ``rules.version`` item; raises ``ValueError`` when it does not verify."""
    try:
        payload = rules_payload(item["version"], item.get("effective_from"), item["document"])
        public_key.verify(b64url_decode(item["signature"]), RULES_DOMAIN + payload)
    except (KeyError, TypeError, InvalidSignature, EntryError) as exc:
        raise ValueError(f"rules version {item.get('version')} is not signed by central: {exc}") from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
