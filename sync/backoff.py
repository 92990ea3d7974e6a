"""Retry delays with full jitter: how long to wait before trying again after a failure.

Every shop's sync loop, serial link and print queue fails at the same moment when the WAN,
central or a shared printer goes away. Plain doubling (1, 2, 4, 8 s …) brings them all
back in step: two thousand shops retrying in the same second after an outage. Full jitter
draws each wait uniformly between zero and the doubling ceiling, which spreads the
retries over the whole window at the same mean load ("Exponential Backoff And Jitter",
AWS Architecture Blog, 2015).

The schedule itself is pure (:func:`ceiling`, :func:`full_jitter`); :class:`Backoff` keeps
the count of failures and draws from its own random generator, so two boxes never share one.
"""

from __future__ import annotations

import random
from typing import Protocol

__all__ = ["Backoff", "ceiling", "full_jitter"]

_MAX_EXPONENT = 62  # 2**62 × any positive base is beyond every cap; avoids huge ints


class _Uniform(Protocol):
    def random(self) -> float: ...


def ceiling(failures: int, base: float, cap: float) -> float:
    """The longest wait after ``failures`` consecutive failures: ``min(cap, base × 2^(failures−1))``.

    ``failures`` counts from 1 (the first failure waits at most ``base``); 0 means no wait.
    """
    if failures <= 0:
        return 0.0
    return min(cap, base * 2 ** min(failures - 1, _MAX_EXPONENT))


def full_jitter(failures: int, base: float, cap: float, draw: float) -> float:
    """The wait for ``draw`` in [0, 1): uniform over [0, :func:`ceiling`)."""
    return ceiling(failures, base, cap) * draw


class Backoff:
    """Consecutive failures of one thing and the jittered wait before its next try.

    ``base`` is the ceiling of the first wait, ``cap`` the ceiling of every wait, ``floor``
    a wait no retry goes below (a loop that also has a normal pace, such as the sync
    interval, keeps at least that). Not thread-safe: one per retrying thread.
    """

    def __init__(self, base: float, cap: float, *, floor: float = 0.0, rng: _Uniform | None = None) -> None:
        if base <= 0 or cap <= 0:
            raise ValueError("backoff base and cap must be positive")
        self.base = base
        self.cap = max(cap, base)
        self.floor = min(max(floor, 0.0), self.cap)
        self.failures = 0
        self.last = 0.0
        self._rng = rng or random.Random()  # seeded from os.urandom: no two boxes in step

    def failed(self) -> float:
        """Count one more failure; return how many seconds to wait before the next try."""
        self.failures += 1
        self.last = max(self.floor, full_jitter(self.failures, self.base, self.cap, self._rng.random()))
        return self.last

    def succeeded(self) -> None:
        """Start again from the first, shortest ceiling."""
        self.failures = 0
        self.last = 0.0

    @property
    def ceiling(self) -> float:
        """The longest the next wait can be."""
        return max(self.floor, ceiling(self.failures + 1, self.base, self.cap))
