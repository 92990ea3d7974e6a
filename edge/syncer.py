"""Talking to central: push the change log, pull the store's feed, authorize redemptions.

``sync_once`` is one full exchange (used by ``fidelis-edge sync`` and by the loop in
``serve``). Pulled items are applied with the feed cursor in one transaction, so a crash
between them can neither skip nor half-apply an item.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import requests

from shared.times import format_time
from sync.backoff import Backoff
from sync.client import Offline, Refused, SyncClient, SyncError, new_session
from sync.entry import load_public_key_b64

from . import changelog, feedapply, rejections
from .box import EdgeBox
from .db import write_transaction
from .models import LogEntry
from .settings import set_setting, setting

log = logging.getLogger("fidelis.edge.sync")
PUSH_BATCH = 500
PULL_PAGE = 100
"""Items asked of central per pull page. A page is applied in one write transaction, and the
tills' sales wait for it: 500 new customers' states took 1.1 s to apply here (2.2 ms each),
100 take about 0.2 s, while one more request costs central a few milliseconds."""
AUTHORIZE_TIMEOUT = 1.0


class SyncStopped(Exception):
    """Sync cannot go on until a person acts (revoked device, fork, stale restore)."""


@dataclass
class SyncReport:
    pushed: int
    acked_seq: int
    pulled: int
    rejected: list[rejections.Rejection] = field(default_factory=list)  # newly rejected by central


_sessions: dict[str, requests.Session] = {}
_sessions_lock = threading.Lock()
_ca_file: list[str | None] = [None]


def use_ca_file(path: str | None) -> None:
    """Verify central's certificate against this CA file (``central_ca_file``) from now on."""
    _ca_file[0] = path


def session_for(url: str) -> requests.Session:
    """The one pooled session this process keeps for ``url`` (sync loop, authorizations, CLI)."""
    with _sessions_lock:
        found = _sessions.get(url)
        if found is None:
            found = _sessions[url] = new_session()
        return found


def client_for(box: EdgeBox, timeout: float = 10.0) -> SyncClient | None:
    """A client for the central this box is provisioned to, or None when standalone.

    Every client of the process shares one pooled session, so the sync loop and the
    tills' authorizations reuse kept-alive (TLS) connections instead of opening new ones.
    """
    url = setting("central_url")
    if not url:
        return None
    return SyncClient(url, box.device_id, box.private_key, timeout=timeout, session=session_for(url),
                      ca_file=_ca_file[0])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def sync_once(box: EdgeBox, client: SyncClient) -> SyncReport:
    """Push every unacknowledged entry, then pull the feed to its end.

    Raises ``Offline`` when central cannot be reached and ``SyncStopped`` when it must not
    go on (revoked, fork, central ahead of this box).
    """
    try:
        pushed, acked, rejected = _push(box, client)
        pulled = _pull(box, client)
    except Refused as exc:
        if exc.code in ("device_revoked", "fork_detected", "device_frozen"):
            with write_transaction():
                set_setting("sync_state", exc.code)
            raise SyncStopped(f"central refuses this device: {exc}") from None
        raise
    except Offline:
        with write_transaction():
            set_setting("online", "0")
        raise
    with write_transaction():
        set_setting("online", "1")
        set_setting("sync_state", "ok")
        set_setting("last_sync_at", format_time(_now()))
    return SyncReport(pushed, acked, pulled, rejected)


def push(box: EdgeBox, client: SyncClient) -> tuple[int, int, list[rejections.Rejection]]:
    """Push every unacknowledged entry (what ``sync_once`` does first): ``(pushed, acked seq,
    newly rejected)``."""
    return _push(box, client)


def _push(box: EdgeBox, client: SyncClient) -> tuple[int, int, list[rejections.Rejection]]:
    head = client.head(local_seq=changelog.head()[0])
    seq, digest = head["seq"], head["hash"]
    local = LogEntry.get_or_none(LogEntry.seq == seq) if seq else None
    if seq and local is None:
        raise SyncStopped(
            f"central holds entries up to seq {seq} but this box has fewer: was it restored from an old backup?"
        )
    if local is not None and local.hash != digest:
        # Show central the conflicting entry so it freezes the device and opens an exception
        # for head office; never overwrite either history.
        try:
            client.push([json.loads(local.line)])
        except (Refused, Offline):
            pass
        with write_transaction():
            set_setting("sync_state", "fork")
        raise SyncStopped(f"fork: central's entry {seq} differs from this box's; sync stopped, call support")
    pushed = gaps = 0
    # Central may have applied entries whose answer this box never heard (a reply lost on the
    # way): send them again, and central's duplicates say which of them it rejected.
    rejected = _replay(client, min(int(setting("acked_seq", "0")), seq), seq)
    while True:
        rows = list(LogEntry.select(LogEntry.seq, LogEntry.kind, LogEntry.line).where(LogEntry.seq > seq)
                    .order_by(LogEntry.seq).limit(PUSH_BATCH))
        if not rows:
            break
        try:
            reply = client.push_lines([row.line for row in rows])
        except Refused as exc:
            gaps += 1
            if exc.code != "seq_gap" or gaps > 5:
                raise
            moved = client.head()["seq"]  # someone else moved the head (a retried push): resume from it
            rejected += _replay(client, seq, moved)
            seq = moved
            continue
        seq = reply["head"]["seq"]
        pushed += sum(1 for r in reply["results"] if r["status"] != "duplicate")
        with write_transaction():
            rejected += rejections.record(reply["results"], {row.seq: row.kind for row in rows}, _now())
            set_setting("acked_seq", str(seq))
    with write_transaction():
        set_setting("acked_seq", str(seq))
    return pushed, seq, rejected


def _replay(client: SyncClient, after: int, upto: int) -> list[rejections.Rejection]:
    """Push entries ``after < seq <= upto`` again, which central holds already; record its rejections."""
    found: list[rejections.Rejection] = []
    while after < upto:
        rows = list(LogEntry.select(LogEntry.seq, LogEntry.kind, LogEntry.line)
                    .where((LogEntry.seq > after) & (LogEntry.seq <= upto)).order_by(LogEntry.seq).limit(PUSH_BATCH))
        if not rows:
            break
        reply = client.push_lines([row.line for row in rows])
        after = rows[-1].seq
        with write_transaction():
            found += rejections.record(reply["results"], {row.seq: row.kind for row in rows}, _now())
            set_setting("acked_seq", str(after))
    return found


def _pull(box: EdgeBox, client: SyncClient) -> int:
    central_key = load_public_key_b64(setting("central_public_key"))
    cursor = int(setting("pull_cursor", "0"))
    pulled = 0
    while True:
        reply = client.pull(cursor, PULL_PAGE)
        with write_transaction():
            for item in reply["items"]:
                feedapply.apply_item(box, item, central_key)
            cursor = reply["cursor"]
            set_setting("pull_cursor", str(cursor))
        pulled += len(reply["items"])
        if not reply.get("more"):
            return pulled


def first_sync(box: EdgeBox) -> str | None:
    """The first exchange after enrolment; None when it went through, else why not (the box is
    enrolled either way, and the sync loop or ``fidelis-edge sync`` will retry)."""
    try:
        sync_once(box, client_for(box))
    except (SyncError, SyncStopped) as exc:
        return str(exc)
    return None


def ask_central(box: EdgeBox, ask: Callable[[SyncClient], dict[str, Any]], final: str) -> dict[str, Any] | None:
    """Ask central for a hold (``ask(client)``): its reply, or None when offline or standalone.

    Central's refusal ``final`` is final only once central has every entry of this box: when
    the box still had entries to push (a customer's points or wallet load made here moments
    ago), they are pushed and central is asked once more. Raises ``Refused`` with ``final``;
    any other refusal falls back to the offline allowance (None).
    """
    client = client_for(box, timeout=AUTHORIZE_TIMEOUT)
    if client is None or setting("sync_state") in ("device_revoked", "fork"):
        return None
    for last in (False, True):
        try:
            return ask(client)
        except Offline:
            return None
        except Refused as exc:
            if exc.code != final:
                log.warning("authorization refused (%s); falling back to the offline allowance", exc.code)
                return None
            if last or not _caught_up(box, client):
                raise
    return None  # pragma: no cover - the loop returns or raises


def _caught_up(box: EdgeBox, client: SyncClient) -> bool:
    """Push what central has not acknowledged yet, when that was something and fits one push;
    True once central has it all. A longer backlog is the sync loop's to send, never a till's
    to wait for: central's refusal then stands."""
    backlog = changelog.head()[0] - int(setting("acked_seq", "0"))
    if not 0 < backlog <= PUSH_BATCH:
        return False
    try:
        _push(box, client)
    except (SyncError, SyncStopped):
        return False
    return True


def authorize(box: EdgeBox, customer_id: str, points: int, sale_id: str) -> int | None:
    """Ask central to hold ``points``: what this sale may spend, or None when offline.

    Raises ``Refused`` (``insufficient_points``) when central says no (``ask_central``).
    """
    reply = ask_central(box, lambda client: client.authorize(customer_id, points, sale_id, timeout=AUTHORIZE_TIMEOUT),
                        "insufficient_points")
    # Central answers what is left beside the hold; this sale may spend the hold itself too.
    return None if reply is None else int(reply.get("available", 0)) + points


def release(box: EdgeBox, sale_id: str) -> bool:
    """Give central's hold for ``sale_id`` back; False when central could not be told.

    Best effort, never raises (it runs while a failed sale is being answered): an unreleased
    hold lapses after ten minutes on its own.
    """
    try:
        client = client_for(box, timeout=AUTHORIZE_TIMEOUT)
        if client is None:
            return False
        client.release(sale_id, timeout=AUTHORIZE_TIMEOUT)
    except Exception as exc:  # Offline, Refused, or the database that failed the sale
        log.warning("could not release the hold of sale %s (%s); it lapses on its own", sale_id, exc)
        return False
    return True


class SyncLoop(threading.Thread):
    """Background sync inside ``fidelis-edge serve``: every ``interval`` s, backing off when offline.

    Failed exchanges wait a jittered, growing delay (``sync.backoff``) between ``interval`` and
    ``max_backoff``, so the shops of a brand do not all come back in the same second after
    an outage of central.
    """

    def __init__(self, box: EdgeBox, interval: float = 5.0, max_backoff: float = 60.0) -> None:
        super().__init__(name="fidelis-sync", daemon=True)
        self.box = box
        self.interval = interval
        self.max_backoff = max_backoff
        self.backoff = Backoff(interval, max(interval, max_backoff), floor=interval)
        self.stopping = threading.Event()
        self.wake = threading.Event()

    def run(self) -> None:
        delay = 0.0
        while not self.stopping.is_set():
            self.wake.wait(delay)
            self.wake.clear()
            if self.stopping.is_set():
                return
            client = client_for(self.box)
            if client is None:
                delay = self.interval
                continue
            try:
                report = sync_once(self.box, client)
                if report.pushed or report.pulled:
                    log.info("synced: pushed %d, acked up to %d, pulled %d", report.pushed, report.acked_seq,
                             report.pulled)
                self.backoff.succeeded()
                if report.rejected:
                    log.error("%s; %s", rejections.summary(report.rejected), rejections.WHAT_TO_DO)
                delay = self.interval
            except Offline as exc:
                delay = self.backoff.failed()
                log.warning("central offline (%s); retrying in %.1f s", exc, delay)
            except SyncStopped as exc:
                log.error("%s", exc)
                delay = self.max_backoff * 5
            except Refused as exc:
                # A repeated request (the network duplicated it) or a clock off by minutes:
                # nothing was applied twice; sign afresh and try again later.
                delay = self.backoff.failed()
                log.warning("central refused a sync request (%s); retrying in %.1f s", exc, delay)
            except Exception:  # keep selling whatever sync does
                log.exception("sync failed")
                delay = max(self.backoff.failed(), self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
