"""The change-log entry of docs/contract.md: its canonical bytes, hash, Ed25519 signature and chain.

An entry is a plain JSON object:
``{"v", "device", "seq", "prev", "at", "hlc", "kind", "id", "body", "sig"}``.
Its hash is SHA-256 of the RFC 8785 bytes of the entry without ``sig``; ``sig`` signs
``LOG_DOMAIN`` + those bytes. Anyone with the device's public key can check a log with
nothing but Ed25519, SHA-256 and a JCS canonicalizer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sync.canonical import MAX_SAFE_INTEGER, CanonicalError, canonical_bytes

# The zero byte ends the domain so no other signed context can share a prefix with it:
# a log signature can never be replayed as, say, a request signature.
LOG_DOMAIN = b"fidelis/log/v1\x00"
GENESIS_PREV = "0" * 64
ENTRY_VERSION = 1

ENTRY_FIELDS = ("v", "device", "seq", "prev", "at", "hlc", "kind", "id", "body", "sig")
_UNSIGNED_FIELDS = frozenset(ENTRY_FIELDS) - {"sig"}
_SIGNED_FIELDS = frozenset(ENTRY_FIELDS)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

Entry = dict[str, Any]


class EntryError(ValueError):
    """An entry or chain that does not verify.

    ``code`` is one of ``malformed_entry``, ``bad_signature``, ``seq_gap``,
    ``broken_chain``, ``wrong_device``, ``bad_encoding`` or ``bad_key``; ``index`` is the
    position in the batch passed to ``verify_chain`` (``None`` elsewhere).
    """

    def __init__(self, code: str, message: str, *, index: int | None = None):
        super().__init__(message)
        self.code = code
        self.index = index

    def __str__(self) -> str:
        where = f" (entry {self.index})" if self.index is not None else ""
        return f"{self.code}{where}: {self.args[0]}"


# --- base64url ------------------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, refusing anything but its one canonical spelling.

    Padding, whitespace, the standard alphabet and non-zero unused trailing bits all raise
    ``EntryError`` (code ``bad_encoding``), so a signature or key has exactly one text form.
    """
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise EntryError("bad_encoding", "not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise EntryError("bad_encoding", "not unpadded base64url") from None
    if b64url_encode(data) != text:
        raise EntryError("bad_encoding", "non-canonical base64url (stray trailing bits)")
    return data


# --- bytes, hash, signature -----------------------------------------------------------------


def entry_bytes(entry: Entry) -> bytes:
    """Return the canonical RFC 8785 bytes of ``entry`` without its ``sig`` (what is hashed).

    Raises ``EntryError`` (``malformed_entry``) if the entry is not a canonicalizable object.
    """
    if not isinstance(entry, dict):
        raise EntryError("malformed_entry", f"entry must be an object, not {type(entry).__name__}")
    try:
        return canonical_bytes({key: value for key, value in entry.items() if key != "sig"})
    except CanonicalError as exc:
        raise EntryError("malformed_entry", str(exc)) from None


def entry_hash(entry: Entry) -> str:
    """Return the entry's hash: lowercase hex SHA-256 of ``entry_bytes(entry)``."""
    return hashlib.sha256(entry_bytes(entry)).hexdigest()


def sign_entry(unsigned: Entry, private_key: Ed25519PrivateKey) -> Entry:
    """Return a new, detached copy of ``unsigned`` with ``sig`` added.

    The copy is the canonical bytes parsed back, so it holds plain JSON (tuples become
    lists) and later changes to the caller's objects cannot silently void the signature.
    Refuses an entry that already has a ``sig``.
    """
    if isinstance(unsigned, dict) and "sig" in unsigned:
        raise EntryError("malformed_entry", "entry is already signed")
    return sign_entry_bytes(entry_bytes(unsigned), private_key)


def sign_entry_bytes(message: bytes, private_key: Ed25519PrivateKey) -> Entry:
    """The entry whose canonical unsigned bytes are ``message``, parsed back and signed."""
    signed = json.loads(message)
    signed["sig"] = b64url_encode(private_key.sign(LOG_DOMAIN + message))
    return signed


def make_entry(**fields: Any) -> Entry:
    """Build, check and sign an entry (the keyword arguments of ``seal_entry``).

    Raises ``EntryError`` (``malformed_entry``) if a field is invalid.
    """
    return seal_entry(**fields).entry


class SealedEntry(NamedTuple):
    """A signed entry with its hash and the exact canonical bytes to store (``sig`` included)."""

    entry: Entry
    hash: str
    line: bytes


def seal_entry(
    *,
    device: str,
    seq: int,
    prev: str,
    at: str,
    hlc: str,
    kind: str,
    id: str,  # noqa: A002 - the contract's field name
    body: dict[str, Any],
    private_key: Ed25519PrivateKey,
) -> SealedEntry:
    """``make_entry`` plus the entry's hash and its stored line.

    A device calls this on every state change, so the hash reuses the bytes that were
    signed instead of canonicalizing the entry again.
    """
    unsigned = {"v": ENTRY_VERSION, "device": device, "seq": seq, "prev": prev, "at": at,
                "hlc": hlc, "kind": kind, "id": id, "body": body}
    _check_shape(unsigned, _UNSIGNED_FIELDS)
    message = entry_bytes(unsigned)
    signed = sign_entry_bytes(message, private_key)
    return SealedEntry(signed, hashlib.sha256(message).hexdigest(), canonical_bytes(signed))


def verify_entry(entry: Entry, public_key: Ed25519PublicKey) -> None:
    """Check one entry's fields and signature; raise ``EntryError`` if either is wrong.

    Codes: ``malformed_entry`` (missing, extra or wrongly typed fields, a body that cannot
    be canonicalized) and ``bad_signature``.
    """
    _check_shape(entry, _SIGNED_FIELDS)
    _check_signature(entry, entry_bytes(entry), public_key)


def verify_chain(
    entries: Iterable[Entry],
    public_key: Ed25519PublicKey,
    *,
    after_seq: int = 0,
    after_hash: str = GENESIS_PREV,
    device: str | None = None,
    lines: list[bytes] | None = None,
) -> str:
    """Verify a run of entries that continues the log at ``(after_seq, after_hash)``.

    Every entry must verify, carry the same device (``device`` if given, else the first
    entry's), have ``seq`` = previous + 1 and ``prev`` = previous entry's hash. Returns the
    hash of the last entry (``after_hash`` for an empty run). Raises ``EntryError`` with
    ``index`` set and code ``malformed_entry``, ``wrong_device``, ``seq_gap`` (also for a
    repeated or reordered seq), ``broken_chain`` (e.g. a fork spliced in) or ``bad_signature``.
    ``lines``, when given, receives each entry's canonical bytes with ``sig`` (what a
    receiver stores), built from the bytes already hashed rather than canonicalized again.
    """
    if isinstance(after_seq, bool) or not isinstance(after_seq, int) or after_seq < 0:
        raise ValueError("after_seq must be an integer >= 0")
    if not isinstance(after_hash, str) or not _HEX64.fullmatch(after_hash):
        raise ValueError("after_hash must be 64 lowercase hex digits")
    if after_seq == 0 and after_hash != GENESIS_PREV:
        raise ValueError("the log starts at seq 0 with the genesis hash")
    expected_seq, head = after_seq + 1, after_hash
    for index, entry in enumerate(entries):
        try:
            _check_shape(entry, _SIGNED_FIELDS)
            if device is None:
                device = entry["device"]
            elif entry["device"] != device:
                raise EntryError(
                    "wrong_device", f"device {entry['device']!r} in a log of {device!r}"
                )
            if entry["seq"] != expected_seq:
                raise EntryError("seq_gap", f"expected seq {expected_seq}, got {entry['seq']}")
            if entry["prev"] != head:
                raise EntryError(
                    "broken_chain", f"seq {expected_seq}: prev does not match the previous hash"
                )
            message = entry_bytes(entry)
            _check_signature(entry, message, public_key)
        except EntryError as exc:
            exc.index = index
            raise
        head = hashlib.sha256(message).hexdigest()
        if lines is not None:
            lines.append(signed_line(message, entry["sig"]))
        expected_seq += 1
    return head


_VERSION_TAIL = b',"v":1}'


def signed_line(message: bytes, sig: str) -> bytes:
    """The canonical bytes of the signed entry, from those of the unsigned one.

    In UTF-16 key order ``sig`` falls between ``seq`` and ``v``, and ``v`` is always 1, so
    the signed form is the unsigned one with ``"sig"`` spliced in before its last member.
    """
    if not message.endswith(_VERSION_TAIL):
        raise EntryError("malformed_entry", "an entry's last member must be \"v\":1")
    return message[: -len(_VERSION_TAIL)] + b',"sig":' + json.dumps(sig).encode("ascii") + _VERSION_TAIL


def _check_shape(entry: Any, fields: frozenset[str]) -> None:
    # Cheap structural checks come before the signature: a malformed entry is reported as
    # such, and no Ed25519 work is spent on it.
    if not isinstance(entry, dict):
        raise EntryError("malformed_entry", f"entry must be an object, not {type(entry).__name__}")
    problems = []
    missing, extra = fields - entry.keys(), entry.keys() - fields
    if missing:
        problems.append(f"missing {sorted(missing)}")
    if extra:
        problems.append(f"unexpected {sorted(map(str, extra))}")
    if not _is_int(entry.get("v")) or entry.get("v") != ENTRY_VERSION:
        problems.append(f"v must be {ENTRY_VERSION}")
    seq = entry.get("seq")
    if not _is_int(seq) or not 1 <= seq <= MAX_SAFE_INTEGER:
        problems.append("seq must be an integer >= 1")
    if not isinstance(entry.get("prev"), str) or not _HEX64.fullmatch(entry["prev"]):
        problems.append("prev must be 64 lowercase hex digits")
    if not _is_uuid(entry.get("id")):
        problems.append("id must be a UUID in canonical lowercase form")
    if not isinstance(entry.get("body"), dict):
        problems.append("body must be an object")
    for name in ("device", "kind"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            problems.append(f"{name} must be a non-empty string")
    for name in ("at", "hlc") + (("sig",) if "sig" in fields else ()):
        if not isinstance(entry.get(name), str):
            problems.append(f"{name} must be a string")
    if problems:
        raise EntryError("malformed_entry", "; ".join(problems))


def _check_signature(entry: Entry, message: bytes, public_key: Ed25519PublicKey) -> None:
    if not isinstance(public_key, Ed25519PublicKey):
        raise TypeError("public_key must be an Ed25519PublicKey")
    try:
        signature = b64url_decode(entry["sig"])
        public_key.verify(signature, LOG_DOMAIN + message)
    except (EntryError, InvalidSignature):
        raise EntryError("bad_signature", f"seq {entry['seq']}: signature fails") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_uuid(value: Any) -> bool:
    # Only the canonical spelling, so one entry id has one text (and one hash).
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


# --- keys -----------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    """Generate a new Ed25519 device key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """Serialize a private key as unencrypted PKCS#8 PEM (protect the file, not the bytes)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(pem: bytes | str) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key; ``ValueError`` for anything else."""
    if isinstance(pem, str):
        pem = pem.encode("ascii")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 key, got {type(key).__name__}")
    return key


def public_key_raw_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Return the raw 32-byte public key as unpadded base64url (``device_public_key``)."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url_encode(raw)


def load_public_key_b64(text: str) -> Ed25519PublicKey:
    """Load a public key from unpadded base64url raw bytes; ``EntryError`` (``bad_key``)."""
    try:
        raw = b64url_decode(text)
    except EntryError:
        raise EntryError("bad_key", "public key is not unpadded base64url") from None
    if len(raw) != 32:
        raise EntryError("bad_key", f"public key must be 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def write_private_key_file(path: str | os.PathLike[str], key: Ed25519PrivateKey) -> None:
    """Write ``key`` as PEM to ``path`` atomically, mode 0600, never replacing a file.

    The bytes go to a temporary file in the same directory, created 0600 (never readable by
    others, even briefly), fsynced, then linked into place. An existing ``path`` raises
    ``FileExistsError``: replacing a device key would orphan its signed log.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "refusing to overwrite a key file", path)
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask may have removed bits; make the mode exact
            view = memoryview(private_key_to_pem(key))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        # link(), unlike rename(), fails if the target exists: no window between the
        # existence check and publishing in which a concurrent writer could be replaced.
        os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the new directory entry itself durable
    finally:
        os.close(dir_fd)
