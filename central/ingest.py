"""Push: check a device's batch of change-log entries and apply it in one transaction.

``apply_push`` is what ``POST /sync/v1/push`` runs, and what a benchmark or a test can call
without HTTP. The order of work follows docs/sync-protocol.md:

1. outside any transaction (Ed25519 is the expensive part; no lock is held meanwhile):
   every entry's shape, device, signature and chain links (``sync.entry.verify_chain``);
2. in one transaction: re-read the head (row-locked on PostgreSQL), sort the batch into
   duplicates, a fork or new entries, apply the new ones (``central.effects.Batch``) and
   move the head.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.times import format_time
from sync.entry import EntryError, load_public_key_b64

from . import db, settings
from . import exceptions as queue
from .effects import Batch, DeviceState
from .errors import CentralError
from .verify import BatchCheck

log = logging.getLogger("fidelis.central.sync")
_DEVICE_COLUMNS = "id, store_code, public_key, revoked, frozen, head_seq, head_hash"
_keys: dict[str, Ed25519PublicKey] = {}


@dataclass
class PushResult:
    """Central's answer to a push: the new head and one result per entry sent."""

    head_seq: int
    head_hash: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"head": {"seq": self.head_seq, "hash": self.head_hash}, "results": self.results}

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result["status"] == status)


def public_key(text: str) -> Ed25519PublicKey:
    """A device's stored public key as a key object (cached: a device's key never changes)."""
    key = _keys.get(text)
    if key is None:
        if len(_keys) > 10_000:
            _keys.clear()
        key = _keys[text] = load_public_key_b64(text)
    return key


def load_device(device_id: str, lock: bool = False) -> DeviceState | None:
    """The device's row, or None; ``lock`` row-locks it until the transaction ends (PostgreSQL)."""
    found = db.rows(f"SELECT {_DEVICE_COLUMNS} FROM device WHERE id = ?{db.for_update() if lock else ''}",
                    (device_id,))
    if not found:
        return None
    id_, store, key, revoked, frozen, head_seq, head_hash = found[0]
    return DeviceState(id_, store, key, bool(revoked), bool(frozen), head_seq, head_hash)


def head_of(device: DeviceState) -> dict[str, Any]:
    return {"seq": device.head_seq, "hash": device.head_hash}


def _bad_entry(device: DeviceState, entries: list[Any], exc: EntryError, now: datetime) -> CentralError:
    """Queue a ``bad_entry`` exception (once per device and seq) and build the 422."""
    index = exc.index or 0
    bad = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
    bad_seq = bad.get("seq") if isinstance(bad.get("seq"), int) and not isinstance(bad.get("seq"), bool) else None
    log.warning("refused push: device=%r reason=bad_entry/%s seq=%s", device.id, exc.code, bad_seq)
    if not queue.is_open(queue.BAD_ENTRY, device.id, bad_seq):
        queue.open_exception(queue.BAD_ENTRY, now, device_id=device.id, store_code=device.store_code,
                             seq=bad_seq, reason=exc.code, message=str(exc), index=index)
    return CentralError(422, "bad_entry", f"entry {index} of the batch does not verify: {exc}",
                        {"seq": bad_seq, "index": index, "reason": exc.code})


def _refused(device_id: str, status: int, code: str, message: str, **details: Any) -> CentralError:
    log.warning("refused push: device=%r reason=%s", device_id[:64], code)
    return CentralError(status, code, message, details)


def _check_usable(device: DeviceState) -> None:
    if device.revoked:
        raise _refused(device.id, 403, "device_revoked", f"device {device.id} was revoked")
    if device.frozen:
        raise _refused(device.id, 409, "device_frozen", "this device is frozen after a fork; see the exceptions queue",
                       head=head_of(device))


def _check_batch(entries: Any) -> list[Any]:
    if not isinstance(entries, list):
        raise CentralError(422, "validation_error", "the body must be {\"entries\": [entry, …]}",
                           {"problems": [{"path": "entries", "message": "must be a list of entries"}]})
    if len(entries) > settings.MAX_PUSH_ENTRIES:
        raise CentralError(422, "batch_too_large", f"at most {settings.MAX_PUSH_ENTRIES} entries per push",
                           {"limit": settings.MAX_PUSH_ENTRIES})
    return entries


def apply_push(device_id: str, entries: Any, now: datetime) -> PushResult:
    """Verify and apply a batch of one device's entries, oldest first; the HTTP push runs this.

    Returns the new head and a result per entry (``applied``, ``duplicate`` or ``rejected``).
    Raises ``CentralError``: 404 ``unknown_device``, 403 ``device_revoked``, 409
    ``device_frozen`` / ``fork_detected`` / ``seq_gap`` (``details.head``), 422 ``bad_entry``.
    """
    started = time.perf_counter()
    entries = _check_batch(entries)
    device = load_device(device_id)
    if device is None:
        raise _refused(device_id, 404, "unknown_device", f"device {device_id} is not enrolled")
    _check_usable(device)
    if not entries:
        return PushResult(device.head_seq, device.head_hash)
    try:
        check = BatchCheck(device.public_key, device.id, entries)
        try:
            # A serialization failure or deadlock reruns the whole transaction (docs/operations.md).
            result, refusal = db.retrying(lambda: _apply_checked(device_id, check, now))
        except CentralError:
            raise
        except Exception:
            check.wait()  # a bad entry explains a failure better than whatever it caused
            raise
    except EntryError as exc:
        raise _bad_entry(device, entries, exc, now) from None
    except peewee.DatabaseError as exc:
        # A unique key raced by another app server, a lost connection: transient, the edge retries.
        log.warning("push from device=%s not applied: %s", device_id, type(exc).__name__)
        raise CentralError(503, "retry_later", "central could not apply the batch just now; retry") from None
    if refusal is not None:
        raise refusal
    log.info("push device=%s applied=%d duplicate=%d rejected=%d head=%d in %.1f ms", device_id,
             result.count("applied"), result.count("duplicate"), result.count("rejected"), result.head_seq,
             (time.perf_counter() - started) * 1000)
    return result


def _apply_checked(device_id: str, check: BatchCheck, now: datetime) -> tuple[PushResult, CentralError | None]:
    """Inside the push transaction: duplicates, fork, gap, then the new entries and the new head.

    Signatures may still be under check in worker processes; every way out that writes
    (a fork's freeze, the new entries) first waits for the check, which raises on a bad entry.
    """
    entries, hashes = check.entries, check.hashes
    device = load_device(device_id, lock=True)
    if device is None:
        raise _refused(device_id, 404, "unknown_device", f"device {device_id} is not enrolled")
    _check_usable(device)  # revoked or frozen by a concurrent request since the first look
    first = entries[0]["seq"]
    last_dup = min(device.head_seq, first + len(entries) - 1)
    results: list[dict[str, Any]] = []
    if first <= device.head_seq:
        found = db.rows("SELECT seq, hash, status FROM logentry WHERE device_id = ? AND seq >= ? AND seq <= ?",
                        (device_id, first, last_dup))
        stored = {seq: entry_hash for seq, entry_hash, _ in found}
        rejected = queue.earlier_rejections(device_id, [seq for seq, _, status in found if status == "rejected"])
        for index in range(last_dup - first + 1):
            seq = first + index
            if stored.get(seq) != hashes[index]:
                lines = check.wait()
                return PushResult(device.head_seq, device.head_hash), _fork(device, entries[index], hashes[index],
                                                                            lines[index], stored.get(seq), now)
            results.append({"seq": seq, "id": entries[index]["id"], "status": "duplicate"})
            if seq in rejected:
                results[-1].update(first_status="rejected", **rejected[seq])
    start = len(results)
    if start == len(entries):
        check.wait()
        return PushResult(device.head_seq, device.head_hash, results), None
    if entries[start]["seq"] != device.head_seq + 1 or entries[start]["prev"] != device.head_hash:
        check.wait()
        raise _refused(device_id, 409, "seq_gap", f"central's head for this device is seq {device.head_seq}; "
                       "re-read the head and send the entries after it", head=head_of(device))
    batch = Batch(device, now)
    new = entries[start:]
    batch.load(new)
    results.extend(batch.apply(entry, entry_hash) for entry, entry_hash in zip(new, hashes[start:]))
    batch.flush()
    batch.finish(check.wait()[start:])
    head_seq, head_hash = new[-1]["seq"], hashes[-1]
    db.execute("UPDATE device SET head_seq = ?, head_hash = ?, last_sync_at = ? WHERE id = ?",
               (head_seq, head_hash, format_time(now), device_id))
    return PushResult(head_seq, head_hash, results), None


def _fork(device: DeviceState, entry: dict, entry_hash: str, line: str, stored_hash: str | None,
          now: datetime) -> CentralError:
    """Freeze the device and queue the evidence; committed, then answered 409."""
    seq = entry["seq"]
    stamp = format_time(now)
    db.execute("UPDATE device SET frozen = ?, frozen_at = ? WHERE id = ?", (True, stamp, device.id))
    queue.record([queue.row(queue.FORK, now, device_id=device.id, store_code=device.store_code, seq=seq,
                            entry_id=entry["id"], stored_hash=stored_hash, received_hash=entry_hash,
                            received_line=line)])
    log.warning("refused push: device=%r reason=fork_detected seq=%d; device frozen", device.id, seq)
    return CentralError(409, "fork_detected", f"the device signed a different entry at seq {seq} than central holds; "
                        "the device is frozen", {"seq": seq, "head": head_of(device)})
