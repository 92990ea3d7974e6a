"""Retries with full jitter: waits stay within the doubling ceiling and shops fall out of step."""

from __future__ import annotations

import random
import statistics
import time

from hypothesis import given
from hypothesis import strategies as st

from devices.link import SerialLink
from devices.url import parse_url
from sync.backoff import Backoff, ceiling, full_jitter

bases = st.floats(min_value=0.001, max_value=100, allow_nan=False)
caps = st.floats(min_value=0.001, max_value=10_000, allow_nan=False)


@given(st.integers(min_value=0, max_value=10_000), bases, caps, st.floats(min_value=0, max_value=0.999999))
def test_a_wait_is_never_above_the_doubling_ceiling_nor_the_cap(failures, base, cap, draw):
    wait = full_jitter(failures, base, cap, draw)
    assert 0 <= wait <= ceiling(failures, base, cap) <= max(cap, 0)
    if failures >= 1:
        assert ceiling(failures, base, cap) == min(cap, base * 2 ** min(failures - 1, 62))


@given(bases, caps, st.integers(min_value=1, max_value=200))
def test_the_ceiling_grows_until_the_cap_and_never_shrinks(base, cap, failures):
    assert ceiling(failures, base, cap) <= ceiling(failures + 1, base, cap)


@given(bases, caps, st.floats(min_value=0, max_value=50), st.integers(min_value=0, max_value=2**32),
       st.integers(min_value=1, max_value=40))
def test_every_wait_lies_between_the_floor_and_the_cap(base, cap, floor, seed, failures):
    backoff = Backoff(base, cap, floor=floor, rng=random.Random(seed))
    waits = [backoff.failed() for _ in range(failures)]
    assert all(backoff.floor <= w <= backoff.cap for w in waits)
    backoff.succeeded()
    assert backoff.failures == 0 and backoff.ceiling == max(backoff.floor, min(backoff.cap, base))


def test_shops_that_failed_together_do_not_retry_together():
    # 500 shops lose central at the same moment and fail five times. Plain doubling sends all
    # of them back at 16 s; full jitter spreads them over the whole 0-16 s window.
    shops = [Backoff(1.0, 60.0, rng=random.Random(shop)) for shop in range(500)]
    fifth = [[shop.failed() for _ in range(5)][-1] for shop in shops]
    assert max(fifth) <= 16.0
    assert len({round(w, 2) for w in fifth}) > 400
    assert 6.0 < statistics.mean(fifth) < 10.0  # the same mean load as waiting 8 s each
    per_second = [sum(1 for w in fifth if s <= w < s + 1) for s in range(16)]
    assert max(per_second) < 60  # no second gets more than about 1/16 of the shops (31 ± noise)


def test_a_serial_link_to_a_missing_port_backs_off_with_the_shared_helper():
    link = SerialLink(parse_url("serial:///dev/fidelis-no-such-port", {"serial"}), name="scanner",
                      retry_initial=0.01, retry_max=0.02)
    link.start()
    try:
        deadline = time.monotonic() + 10
        while link.backoff.failures < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert link.backoff.failures >= 3
        assert 0 <= link.backoff.last <= 0.02
        assert not link.connected and "open failed" in (link.last_error or "")
    finally:
        link.stop()
