"""Change-log entries: signing, verification, the chain, keys and the key file."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import stat
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.entry import (
    GENESIS_PREV,
    LOG_DOMAIN,
    EntryError,
    b64url_decode,
    b64url_encode,
    entry_bytes,
    entry_hash,
    generate_private_key,
    load_private_key,
    load_public_key_b64,
    make_entry,
    private_key_to_pem,
    public_key_raw_b64,
    sign_entry,
    verify_chain,
    verify_entry,
    write_private_key_file,
)

DEVICE = "edge-0001"


@pytest.fixture(scope="module")
def key():
    return generate_private_key()


@pytest.fixture(scope="module")
def public(key):
    return key.public_key()


def _entry(key, seq: int, prev: str, *, device: str = DEVICE, body: dict | None = None) -> dict:
    return make_entry(
        device=device,
        seq=seq,
        prev=prev,
        at="2024-05-01T10:00:00Z",
        hlc=f"{1714557600000 + seq:015d}-00000",
        kind="sale.completed",
        id=str(uuid.uuid4()),
        body=body if body is not None else {"total": 125 * seq, "lines": [{"sku": "A1", "qty": 1}]},
        private_key=key,
    )


def _chain(key, count: int, *, after_seq: int = 0, after_hash: str = GENESIS_PREV) -> list[dict]:
    entries, prev = [], after_hash
    for seq in range(after_seq + 1, after_seq + count + 1):
        entries.append(_entry(key, seq, prev))
        prev = entry_hash(entries[-1])
    return entries


def _code(call) -> str:
    with pytest.raises(EntryError) as info:
        call()
    return info.value.code


# --- one entry ----------------------------------------------------------------------------


def test_round_trip(key, public) -> None:
    entry = _entry(key, 1, GENESIS_PREV)
    assert list(entry) == ["at", "body", "device", "hlc", "id", "kind", "prev", "seq", "v", "sig"]
    assert entry["v"] == 1 and len(b64url_decode(entry["sig"])) == 64
    verify_entry(entry, public)
    # It survives the wire: JSON out and back in still verifies, with the same hash.
    again = json.loads(json.dumps(entry))
    verify_entry(again, public)
    assert entry_hash(again) == entry_hash(entry) == hashlib.sha256(entry_bytes(entry)).hexdigest()


def test_signed_entry_is_detached_from_caller_objects(key, public) -> None:
    body = {"lines": ({"sku": "A1"},)}
    entry = _entry(key, 1, GENESIS_PREV, body=body)
    body["lines"][0]["sku"] = "B2"
    assert entry["body"] == {"lines": [{"sku": "A1"}]}
    verify_entry(entry, public)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", {"total": 1}),
        ("seq", 2),
        ("prev", "f" * 64),
        ("device", "edge-0002"),
        ("kind", "sale.returned"),
        ("at", "2024-05-01T10:00:01Z"),
        ("hlc", "001714557600002-00000"),
        ("id", "00000000-0000-4000-8000-000000000000"),
    ],
)
def test_tampering_any_field_fails(key, public, field: str, value: object) -> None:
    entry = _entry(key, 1, GENESIS_PREV)
    entry[field] = value
    assert _code(lambda: verify_entry(entry, public)) == "bad_signature"


def test_tampering_nested_body_fails(key, public) -> None:
    entry = _entry(key, 1, GENESIS_PREV)
    entry["body"]["lines"][0]["qty"] = 2
    assert _code(lambda: verify_entry(entry, public)) == "bad_signature"


def test_tampered_or_foreign_signature_fails(key, public) -> None:
    entry = _entry(key, 1, GENESIS_PREV)
    raw = bytearray(b64url_decode(entry["sig"]))
    raw[10] ^= 0x01
    flipped = dict(entry, sig=b64url_encode(bytes(raw)))
    assert _code(lambda: verify_entry(flipped, public)) == "bad_signature"
    for bad in ("", "not base64!", entry["sig"] + "=", entry["sig"][:-2]):
        assert _code(lambda: verify_entry(dict(entry, sig=bad), public)) == "bad_signature"
    other = generate_private_key().public_key()
    assert _code(lambda: verify_entry(entry, other)) == "bad_signature"


def test_signature_without_domain_prefix_refused(key, public) -> None:
    entry = _entry(key, 1, GENESIS_PREV)
    # Same key, same bytes, but signed outside the log domain: must not pass as a log entry.
    undomained = dict(entry, sig=b64url_encode(key.sign(entry_bytes(entry))))
    assert _code(lambda: verify_entry(undomained, public)) == "bad_signature"
    request_sig = key.sign(b"fidelis/req/v1\x00" + entry_bytes(entry))
    other_domain = dict(entry, sig=b64url_encode(request_sig))
    assert _code(lambda: verify_entry(other_domain, public)) == "bad_signature"


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e.pop("sig"),
        lambda e: e.pop("body"),
        lambda e: e.update(extra=1),
        lambda e: e.update(v=2),
        lambda e: e.update(v=True),
        lambda e: e.update(seq=0),
        lambda e: e.update(seq=True),
        lambda e: e.update(seq="1"),
        lambda e: e.update(prev="0" * 63),
        lambda e: e.update(prev="A" * 64),
        lambda e: e.update(id="not-a-uuid"),
        lambda e: e.update(id=str(uuid.uuid4()).upper()),
        lambda e: e.update(body=[1]),
        lambda e: e.update(kind=""),
        lambda e: e.update(device=7),
        lambda e: e.update(at=None),
        lambda e: e.update(hlc=1),
        lambda e: e.update(sig=b"x"),
        lambda e: e["body"].update(price=1.5),
    ],
)
def test_malformed_entries(key, public, change) -> None:
    entry = copy.deepcopy(_entry(key, 1, GENESIS_PREV))
    change(entry)
    assert _code(lambda: verify_entry(entry, public)) == "malformed_entry"


def test_make_entry_refuses_bad_fields(key) -> None:
    with pytest.raises(EntryError, match="seq must be"):
        make_entry(device=DEVICE, seq=0, prev=GENESIS_PREV, at="t", hlc="h", kind="k",
                   id=str(uuid.uuid4()), body={}, private_key=key)
    with pytest.raises(EntryError, match=r"\$\.body\.x: floats"):
        make_entry(device=DEVICE, seq=1, prev=GENESIS_PREV, at="t", hlc="h", kind="k",
                   id=str(uuid.uuid4()), body={"x": 0.5}, private_key=key)
    with pytest.raises(EntryError, match="already signed"):
        sign_entry(_entry(key, 1, GENESIS_PREV), key)


# --- the chain ----------------------------------------------------------------------------


def test_chain_verifies_and_returns_head(key, public) -> None:
    entries = _chain(key, 5)
    assert verify_chain(entries, public) == entry_hash(entries[-1])
    assert verify_chain([], public) == GENESIS_PREV
    # Continuing from an acknowledged head, as central does for each pushed batch.
    head = verify_chain(entries[:2], public)
    tail = verify_chain(entries[2:], public, after_seq=2, after_hash=head)
    assert tail == entry_hash(entries[-1])


def test_chain_catches_gap(key, public) -> None:
    entries = _chain(key, 4)
    with pytest.raises(EntryError) as info:
        verify_chain(entries[:2] + entries[3:], public)
    assert (info.value.code, info.value.index) == ("seq_gap", 2)
    assert _code(lambda: verify_chain(entries[1:], public)) == "seq_gap"
    with pytest.raises(EntryError, match="seq_gap.*expected seq 2, got 1"):
        verify_chain(entries, public, after_seq=1, after_hash="a" * 64)


def test_chain_catches_reordering(key, public) -> None:
    entries = _chain(key, 3)
    assert _code(lambda: verify_chain([entries[0], entries[2], entries[1]], public)) == "seq_gap"


def test_chain_catches_forks(key, public) -> None:
    entries = _chain(key, 3)
    fork = _entry(key, 2, entry_hash(entries[0]), body={"total": 999})
    assert entry_hash(fork) != entry_hash(entries[1])
    # Both seq 2 entries in one batch: the second one repeats a seq.
    with pytest.raises(EntryError) as info:
        verify_chain([entries[0], entries[1], fork], public)
    assert (info.value.code, info.value.index) == ("seq_gap", 2)
    # The fork spliced in place of the original: entry 3 no longer links to it.
    with pytest.raises(EntryError) as info:
        verify_chain([entries[0], fork, entries[2]], public)
    assert (info.value.code, info.value.index) == ("broken_chain", 2)
    # Continuing a head the batch does not descend from.
    assert _code(lambda: verify_chain(entries[2:], public, after_seq=2,
                                      after_hash=entry_hash(fork))) == "broken_chain"


def test_chain_catches_wrong_device(key, public) -> None:
    entries = _chain(key, 2)
    stranger = _entry(key, 3, entry_hash(entries[1]), device="edge-0002")
    assert _code(lambda: verify_chain(entries + [stranger], public)) == "wrong_device"
    assert _code(lambda: verify_chain(entries, public, device="edge-0002")) == "wrong_device"
    assert verify_chain(entries, public, device=DEVICE) == entry_hash(entries[1])


def test_chain_catches_bad_signature(key, public) -> None:
    entries = _chain(key, 3)
    entries[1] = dict(entries[1], sig=_entry(key, 2, GENESIS_PREV)["sig"])
    with pytest.raises(EntryError) as info:
        verify_chain(entries, public)
    assert (info.value.code, info.value.index) == ("bad_signature", 1)


def test_chain_refuses_inconsistent_start(public) -> None:
    with pytest.raises(ValueError):
        verify_chain([], public, after_hash="1" * 64)
    with pytest.raises(ValueError):
        verify_chain([], public, after_seq=-1)


# --- verifiable without this package -------------------------------------------------------


def test_independent_verification(key) -> None:
    entries = _chain(key, 3)
    exported = json.dumps(entries)
    device_public_key = public_key_raw_b64(key)
    del entries  # from here on: only the exported text and the published key

    def jcs(value) -> bytes:
        # Enough of RFC 8785 for float-free entries: UTF-16 key order, no whitespace.
        def order(item):
            if isinstance(item, dict):
                keys = sorted(item, key=lambda k: k.encode("utf-16-be"))
                return {k: order(item[k]) for k in keys}
            if isinstance(item, list):
                return [order(x) for x in item]
            return item

        return json.dumps(order(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    public = Ed25519PublicKey.from_public_bytes(unb64(device_public_key))
    prev = "0" * 64
    for seq, entry in enumerate(json.loads(exported), start=1):
        unsigned = {k: v for k, v in entry.items() if k != "sig"}
        assert (entry["seq"], entry["prev"]) == (seq, prev)
        public.verify(unb64(entry["sig"]), b"fidelis/log/v1\x00" + jcs(unsigned))  # raises if bad
        prev = hashlib.sha256(jcs(unsigned)).hexdigest()
    assert LOG_DOMAIN == b"fidelis/log/v1\x00"


# --- base64url and keys ---------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff\xfe", b"abc", bytes(range(64))])
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["A", "AB==", "A+B/", "AB C", "AB\n", "AR", "é", 12])
def test_b64url_decode_refuses(text) -> None:
    assert _code(lambda: b64url_decode(text)) == "bad_encoding"


def test_key_round_trips(key) -> None:
    pem = private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(pem)
    raw = public_key_raw_b64(key)
    assert public_key_raw_b64(loaded) == raw == public_key_raw_b64(key.public_key())
    assert len(public_key_raw_b64(key)) == 43
    restored = load_public_key_b64(public_key_raw_b64(key))
    restored.verify(key.sign(b"m"), b"m")
    assert load_private_key(pem.decode()).private_bytes_raw() == key.private_bytes_raw()


def test_bad_keys_refused() -> None:
    with pytest.raises(ValueError):
        load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert _code(lambda: load_public_key_b64(b64url_encode(b"\x01" * 31))) == "bad_key"
    assert _code(lambda: load_public_key_b64("not base64!")) == "bad_key"


def test_write_private_key_file(tmp_path, key) -> None:
    path = tmp_path / "device.pem"
    write_private_key_file(path, key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert public_key_raw_b64(load_private_key(path.read_bytes())) == public_key_raw_b64(key)
    with pytest.raises(FileExistsError):
        write_private_key_file(path, generate_private_key())
    assert public_key_raw_b64(load_private_key(path.read_bytes())) == public_key_raw_b64(key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["device.pem"]  # no temp files left


def test_write_private_key_file_ignores_permissive_umask(tmp_path, key) -> None:
    old = os.umask(0)
    try:
        write_private_key_file(tmp_path / "k.pem", key)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600


def test_signed_line_equals_canonicalizing_the_signed_entry():
    from sync.canonical import canonical_bytes
    from sync.entry import entry_bytes, generate_private_key, make_entry, signed_line, verify_chain

    key = generate_private_key()
    entry = make_entry(device="d1", seq=1, prev="0" * 64, at="2026-11-23T10:00:00.000Z",
                       hlc="001795432640738-00000", kind="sale.completed", id="8f14e45f-ceea-467f-a0e6-0a0b9f4f3a11",
                       body={"ß": "é", "\U0001f600": [1, {"sig": "x", "v": 2}]}, private_key=key)
    assert signed_line(entry_bytes(entry), entry["sig"]) == canonical_bytes(entry)
    lines: list[bytes] = []
    verify_chain([entry], key.public_key(), lines=lines)
    assert lines == [canonical_bytes(entry)]
