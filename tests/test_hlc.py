"""Hybrid logical clock: monotonic, causal, sortable, thread-safe."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.hlc import ClockDriftError, HybridClock, format_hlc, parse_hlc


class FakeWall:
    """A wall clock the test sets by hand (milliseconds)."""

    def __init__(self, ms: int):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_now_follows_wall_time() -> None:
    wall = FakeWall(1_714_557_600_000)
    clock = HybridClock(wall=wall)
    assert clock.last is None
    assert clock.now() == "001714557600000-00000"
    assert clock.now() == "001714557600000-00001"
    wall.ms += 5
    assert clock.now() == "001714557600005-00000"
    assert clock.last == "001714557600005-00000"


def test_monotonic_when_wall_goes_backwards() -> None:
    wall = FakeWall(2_000_000)
    clock = HybridClock(wall=wall)
    seen = [clock.now()]
    for ms in (1_999_000, 1_000, 2_000_000, 1_999_999, 2_000_001, 5):
        wall.ms = ms
        seen.append(clock.now())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert parse_hlc(seen[-2]) == (2_000_001, 0)
    assert parse_hlc(seen[-1]) == (2_000_001, 1)


def test_restored_clock_resumes_after_last() -> None:
    # After a restart with the wall clock set back, the persisted value still bounds it.
    clock = HybridClock("000000000009000-00007", wall=FakeWall(5_000))
    assert clock.now() == "000000000009000-00008"


def test_observe_remote_ahead_moves_past_it() -> None:
    wall = FakeWall(1_000)
    clock = HybridClock(wall=wall)
    clock.now()
    remote = "000000000050000-00003"
    merged = clock.observe(remote)
    assert merged > remote and parse_hlc(merged) == (50_000, 4)
    assert clock.now() > merged  # the wall is still behind: logical counts on
    wall.ms = 60_000
    assert clock.now() == "000000000060000-00000"


def test_observe_remote_behind_keeps_local_order() -> None:
    wall = FakeWall(10_000)
    clock = HybridClock(wall=wall)
    local = clock.now()
    merged = clock.observe("000000000000100-00042")
    assert merged > local and parse_hlc(merged) == (10_000, 1)


def test_observe_same_physical_takes_larger_logical() -> None:
    clock = HybridClock("000000000007000-00002", wall=FakeWall(1))
    assert clock.observe("000000000007000-00009") == "000000000007000-00010"


def test_logical_overflow_spills_into_next_millisecond() -> None:
    clock = HybridClock("000000000007000-99999", wall=FakeWall(1))
    assert clock.now() == "000000000007001-00000"
    assert clock.observe("000000000008000-99999") == "000000000008001-00000"


def test_drift_limit_refuses_remote_far_ahead() -> None:
    clock = HybridClock(wall=FakeWall(1_000), max_drift_ms=500)
    before = clock.now()
    with pytest.raises(ClockDriftError):
        clock.observe("000000000002000-00000")
    assert clock.last == before
    assert clock.observe("000000000001400-00000") == "000000000001400-00001"


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("now"), st.integers(0, 10**6)),
            st.tuples(st.just("observe"), st.integers(0, 10**6), st.integers(0, 99_998)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_every_timestamp_exceeds_all_before(steps: list[tuple]) -> None:
    wall = FakeWall(0)
    clock = HybridClock(wall=wall)
    issued: list[str] = []
    for step in steps:
        wall.ms = step[1]
        if step[0] == "now":
            stamp = clock.now()
        else:
            remote = format_hlc(step[1] + 7, step[2])
            stamp = clock.observe(remote)
            assert stamp > remote
        assert all(stamp > earlier for earlier in issued)
        issued.append(stamp)


@given(st.tuples(st.integers(0, 10**15 - 1), st.integers(0, 99_999)),
       st.tuples(st.integers(0, 10**15 - 1), st.integers(0, 99_999)))
def test_string_order_is_clock_order(a: tuple[int, int], b: tuple[int, int]) -> None:
    text_a, text_b = format_hlc(*a), format_hlc(*b)
    assert len(text_a) == len(text_b) == 21
    assert (text_a < text_b) == (a < b)
    assert parse_hlc(text_a) == a


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1714557600000-0",
        "001714557600000-0000",
        "001714557600000_00000",
        "001714557600000-00000 ",
        "0017145576000000-00000",
        "-01714557600000-00000",
        "00171455760000a-00000",
        "٠٠١٧١٤٥٥٧٦٠٠٠٠٠-00000",  # Arabic-Indic digits
        None,
        1714557600000,
    ],
)
def test_parse_errors(text) -> None:
    with pytest.raises(ValueError):
        parse_hlc(text)


def test_bad_inputs_refused() -> None:
    with pytest.raises(ValueError):
        HybridClock("yesterday")
    with pytest.raises(ValueError):
        HybridClock(wall=FakeWall(1)).observe("soon")
    with pytest.raises(ValueError):
        HybridClock(wall=lambda: 1.5).now()
    with pytest.raises(ValueError):
        format_hlc(10**15, 0)


@pytest.mark.parametrize("wall", [FakeWall(1_000), None], ids=["frozen-wall", "real-wall"])
def test_concurrent_now_is_unique_and_ordered_per_thread(wall) -> None:
    clock = HybridClock(wall=wall) if wall else HybridClock()
    per_thread: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(per_thread))

    def work(out: list[str]) -> None:
        start.wait()
        for _ in range(2_000):
            out.append(clock.now() if len(out) % 5 else clock.observe("000000000001000-00000"))

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [stamp for out in per_thread for stamp in out]
    assert len(set(stamps)) == len(stamps) == 16_000
    assert all(out == sorted(out) for out in per_thread)
