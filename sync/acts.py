"""Head office's acts on a customer, signed by central: corrections, tiers, lost cards, merges.

Central is the only one to make these changes, and it signs each one with its own key, as it
signs rule versions, so anyone holding central's public key can check an act without trusting
the channel that brought it. An act is ``{"id", "kind", "customer_id", "at", "body",
"signature"}``; the signature is Ed25519 over ``b"fidelis/act/v1\\x00" + JCS`` of the act
without ``signature``. Edges check the acts they obey (a blocked card, a merge) before
applying them.
"""

from __future__ import annotations

from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .canonical import CanonicalError, canonical_bytes
from .entry import EntryError, b64url_decode, b64url_encode

ACT_DOMAIN = b"fidelis/act/v1\x00"

ADJUSTMENT = "adjustment"
"""A manual correction of points: ``{"points", "reason", "available_at", "expires_at"}``."""
TIER = "tier"
"""A tier set by hand: ``{"tier", "locked", "previous", "previous_locked"}``."""
CARD = "card"
"""A lost card replaced: ``{"card_number", "blocked"}`` (the new card and the old one)."""
MERGE = "merge"
"""A duplicate absorbed into ``customer_id``: ``{"absorbed", "absorbed_card"}``."""
VIP = "vip"
"""A VIP card issued: ``{"code", "discount_percent", "until"}`` (shared.vip)."""
KINDS = (ADJUSTMENT, TIER, CARD, MERGE, VIP)

SIGNED_FIELDS = ("id", "kind", "customer_id", "at", "body")


def act_payload(act: Mapping[str, Any]) -> bytes:
    """The canonical bytes central signs for one act (its fields but ``signature``)."""
    return canonical_bytes({name: act[name] for name in SIGNED_FIELDS})


def sign_act(key: Ed25519PrivateKey, act: Mapping[str, Any]) -> str:
    """Central's signature of ``act``, base64url without padding."""
    return b64url_encode(key.sign(ACT_DOMAIN + act_payload(act)))


def verify_act(public_key: Ed25519PublicKey, act: Mapping[str, Any]) -> None:
    """Check an act's signature; ``ValueError`` when it is not central's or cannot be read."""
    try:
        public_key.verify(b64url_decode(act["signature"]), ACT_DOMAIN + act_payload(act))
    except (KeyError, TypeError, InvalidSignature, EntryError, CanonicalError) as exc:
        raise ValueError(f"act {act.get('id') if isinstance(act, Mapping) else '?'} is not signed by central: "
                         f"{exc or type(exc).__name__}") from None
