"""People-counter visits summed per shop, day and hour, written as ``traffic.visits`` entries."""


import logging
import threading
import time
from datetime import date, datetime, tzinfo
from typing import Callable

from shared.times import format_time
from sync.kinds import TrafficVisits

from ..box import EdgeBox
from .settings import _utc_now
from ..db import database, write_transaction

log = logging.getLogger("fidelis.edge.peripherals")

# --- people counter -------------------------------------------------------------------------

class TrafficRecorder:
    """Sums visits per (local day, hour) and writes them as ``traffic.visits`` entries.

    A flush writes one entry per hour that had visits since the last flush, with the visits
    of that period (an increment: central adds them up). Flushes happen at most once every
    ``flush_seconds``, at once when a visit falls in a new hour, and on :meth:`stop`.
    Visits not flushed yet are lost if the process is killed.
    """

    KIND = TrafficVisits.KIND

    def __init__(self, box: EdgeBox, tz: tzinfo, flush_seconds: float = 60.0,
                 clock: Callable[[], datetime] = _utc_now):
        self.box = box
        self.tz = tz
        self.flush_seconds = flush_seconds
        self.clock = clock
        self.total = 0
        self.last_error: str | None = None
        self._pending: dict[tuple[date, int], int] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last_flush = time.monotonic()
        self._thread: threading.Thread | None = None

    def add(self, count: int, at: datetime) -> None:
        """Count ``count`` visits at ``at`` (called from the counter's reader thread)."""
        from devices.counter import bucket_visits

        for key, visits in bucket_visits([(at, count)], self.tz).items():
            with self._lock:
                new_hour = any(other != key for other in self._pending)
                self._pending[key] = self._pending.get(key, 0) + visits
                self.total += visits
            if new_hour:
                self._wake.set()

    def pending(self) -> dict[tuple[date, int], int]:
        with self._lock:
            return dict(self._pending)

    def flush(self) -> int:
        """Write what was counted since the last flush; returns the number of entries."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            self._last_flush = time.monotonic()
            if not pending:
                return 0
            stamp = format_time(self.clock())
            try:
                with write_transaction():
                    for (day, hour), visits in sorted(pending.items()):
                        self.box.changelog.write(TrafficVisits(
                            store=self.box.store_code, day=day.isoformat(), hour=hour, visits=visits,
                            counted_at=stamp))
            except Exception as exc:
                with self._lock:  # keep the counts for the next flush
                    for key, visits in pending.items():
                        self._pending[key] = self._pending.get(key, 0) + visits
                self.last_error = f"could not record visits: {exc}"
                raise
            self.last_error = None
            return len(pending)

    def start(self) -> "TrafficRecorder":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fidelis-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the flusher and write what is left."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("traffic: final flush failed")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                due = self._last_flush + self.flush_seconds
                hour_changed = self._wake.wait(max(0.0, due - time.monotonic()))
                self._wake.clear()
                if self._stop.is_set():
                    break
                if hour_changed or time.monotonic() >= due:
                    try:
                        self.flush()
                    except Exception:
                        log.exception("traffic: flush failed; the visits are kept for the next one")
                        self._stop.wait(1.0)
        finally:
            database.close()


