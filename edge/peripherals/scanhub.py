"""Scanned codes fanned out to every till that long-polls ``GET /api/v1/scanner/next``."""


import threading
import time
from collections import deque
from typing import Callable



# --- scanner fan-out --------------------------------------------------------------------------

class ScanHub:
    """Scanned codes for every till that polls: each till sees each code once.

    The last ``size`` codes are kept with increasing sequence numbers; each reader (a till
    id) has a cursor, the last sequence number it was given. A code older than ``max_age``
    seconds is never handed out, so a till that starts polling late does not pop up an old
    customer.
    """

    def __init__(self, max_age: float = 15.0, size: int = 64, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self._codes: deque[tuple[int, str, float]] = deque(maxlen=size)
        self._seq = 0
        self._cursors: dict[str, int] = {}
        self._cond = threading.Condition()
        self._closed = False

    def publish(self, code: str) -> int:
        """Add a scanned code; returns its sequence number."""
        with self._cond:
            self._seq += 1
            self._codes.append((self._seq, code, self._clock()))
            self._cond.notify_all()
            return self._seq

    def next(self, reader: str, timeout: float) -> str | None:
        """The oldest code ``reader`` has not seen yet, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                code = self._take(reader)
                if code is not None:
                    return code
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return None
                self._cond.wait(left)

    def close(self) -> None:
        """Release every waiting reader (they get None)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _take(self, reader: str) -> str | None:
        cursor = self._cursors.get(reader, 0)
        fresh_after = self._clock() - self.max_age
        for seq, code, at in self._codes:
            if seq <= cursor or at < fresh_after:
                continue
            self._cursors[reader] = seq
            return code
        return None


