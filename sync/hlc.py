"""A hybrid logical clock (Kulkarni et al., 2014) with a fixed-width, sortable text form.

An HLC timestamp stays close to wall time but never goes backwards and always moves past
every timestamp it has seen, so entries from many tills order consistently with causality
even when their clocks disagree. Text form: ``f"{physical_ms:015d}-{logical:05d}"``; plain
string comparison gives the clock order.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

__all__ = ["ClockDriftError", "HybridClock", "format_hlc", "parse_hlc"]

MAX_PHYSICAL = 10**15 - 1
MAX_LOGICAL = 10**5 - 1

# [0-9], not \d: \d also matches non-ASCII digits, which would break the fixed width.
_HLC = re.compile(r"([0-9]{15})-([0-9]{5})")


class ClockDriftError(ValueError):
    """A remote timestamp too far ahead of local wall time to be trusted."""


def parse_hlc(text: str) -> tuple[int, int]:
    """Split an HLC string into ``(physical_ms, logical)``; ``ValueError`` if malformed."""
    match = _HLC.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an HLC timestamp (015d-05d): {text!r}")
    return int(match.group(1)), int(match.group(2))


def format_hlc(physical_ms: int, logical: int) -> str:
    """Format ``(physical_ms, logical)`` as the fixed-width HLC string."""
    if not (0 <= physical_ms <= MAX_PHYSICAL and 0 <= logical <= MAX_LOGICAL):
        raise ValueError(f"HLC out of range: ({physical_ms}, {logical})")
    return f"{physical_ms:015d}-{logical:05d}"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """A thread-safe hybrid logical clock.

    ``last`` restores the state persisted before a restart, so the clock resumes past it
    even if the wall clock has since been set back. ``wall`` returns milliseconds since the
    epoch (a parameter so tests can drive it). ``max_drift_ms``, if set, refuses remote
    timestamps further than that ahead of local wall time, so one till with a wrong clock
    cannot drag every clock it talks to into the future.
    """

    def __init__(
        self,
        last: str | None = None,
        wall: Callable[[], int] = _wall_ms,
        *,
        max_drift_ms: int | None = None,
    ):
        self._wall = wall
        self._max_drift_ms = max_drift_ms
        self._lock = threading.Lock()
        self._physical, self._logical = parse_hlc(last) if last is not None else (0, 0)
        self._issued = last is not None

    @property
    def last(self) -> str | None:
        """The latest timestamp issued or observed (``None`` before the first)."""
        with self._lock:
            return format_hlc(self._physical, self._logical) if self._issued else None

    def now(self) -> str:
        """Return a timestamp for a local or send event, greater than every earlier one."""
        with self._lock:
            wall = self._read_wall()
            if wall > self._physical:
                self._physical, self._logical = wall, 0
            else:
                # The wall clock stalled or went backwards: keep its last reading, count on.
                self._advance(self._physical, self._logical + 1)
            self._issued = True
            return format_hlc(self._physical, self._logical)

    def observe(self, remote: str) -> str:
        """Merge a received timestamp; return one greater than both it and all local ones.

        Raises ``ValueError`` for a malformed ``remote`` and ``ClockDriftError`` when it is
        further ahead than ``max_drift_ms``; the clock is unchanged in both cases.
        """
        remote_physical, remote_logical = parse_hlc(remote)
        with self._lock:
            wall = self._read_wall()
            if self._max_drift_ms is not None and remote_physical - wall > self._max_drift_ms:
                raise ClockDriftError(
                    f"remote HLC {remote} is {remote_physical - wall} ms ahead of local wall "
                    f"time (limit {self._max_drift_ms} ms)"
                )
            physical = max(wall, self._physical, remote_physical)
            if physical == self._physical == remote_physical:
                logical = max(self._logical, remote_logical) + 1
            elif physical == self._physical:
                logical = self._logical + 1
            elif physical == remote_physical:
                logical = remote_logical + 1
            else:
                logical = 0
            self._advance(physical, logical)
            self._issued = True
            return format_hlc(self._physical, self._logical)

    def _read_wall(self) -> int:
        wall = self._wall()
        if isinstance(wall, bool) or not isinstance(wall, int) or not 0 <= wall <= MAX_PHYSICAL:
            raise ValueError(f"wall clock must return integer ms in [0, 10**15), got {wall!r}")
        return wall

    def _advance(self, physical: int, logical: int) -> None:
        # The text form has five logical digits; rather than widen it (and break sorting),
        # spill over into the next millisecond, which still sorts after everything before.
        if logical > MAX_LOGICAL:
            physical, logical = physical + 1, 0
        if physical > MAX_PHYSICAL:
            raise OverflowError("HLC physical time exceeds 15 digits")
        self._physical, self._logical = physical, logical
