"""Backoff, circuit breaker and token bucket on a fake clock."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from hubkit.resilience import (
    Backoff,
    BreakerOpen,
    BreakerState,
    CircuitBreaker,
    TokenBucket,
    parse_retry_after,
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        # Virtual time: jump the clock, then yield so other tasks get to run.
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# --- Backoff ---------------------------------------------------------------------------------


def test_backoff_follows_schedule_without_jitter() -> None:
    backoff = Backoff(jitter=0)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]


def test_backoff_jitter_stays_within_bounds() -> None:
    backoff = Backoff(jitter=0.2, rng=random.Random(42))
    for attempt, base in enumerate((1, 2, 4, 8, 16), start=1):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(base * 0.8 <= d <= base * 1.2 for d in delays)
        assert len(set(delays)) > 1  # it really jitters


def test_backoff_is_reproducible_with_a_seeded_rng() -> None:
    a = Backoff(rng=random.Random(7))
    b = Backoff(rng=random.Random(7))
    assert [a.delay(n) for n in range(1, 6)] == [b.delay(n) for n in range(1, 6)]


def test_backoff_beyond_schedule_doubles_up_to_the_cap() -> None:
    backoff = Backoff(jitter=0, max_delay=300)
    assert [backoff.delay(n) for n in range(5, 10)] == [16, 32, 64, 128, 256]
    assert backoff.delay(10) == 300
    assert backoff.delay(5000) == 300


def test_backoff_caps_at_max_delay() -> None:
    backoff = Backoff(schedule=(10, 100, 1000), jitter=0, max_delay=300)
    assert backoff.delay(3) == 300


def test_backoff_honours_server_delay() -> None:
    backoff = Backoff(jitter=0.2, rng=random.Random(1))
    assert backoff.delay(1, server_delay=30) == 30
    # Longer than max_delay still wins: retrying earlier only earns another throttle.
    assert Backoff(max_delay=10).delay(1, server_delay=120) == 120
    # A shorter server delay does not shorten our own backoff.
    assert Backoff(jitter=0).delay(5, server_delay=1) == 16


@pytest.mark.parametrize(
    "kwargs", [{"schedule": ()}, {"schedule": (1, -1)}, {"jitter": 1.5}, {"max_delay": -1}]
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_backoff_attempt_is_one_based() -> None:
    with pytest.raises(ValueError):
        Backoff().delay(0)


# --- parse_retry_after -----------------------------------------------------------------------

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("3s", 3.0),
        ("1.5s", 1.5),
        ("Sat, 01 Mar 2025 12:00:30 GMT", 30.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # already past
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1e9", "inf", "nan", "3m", "5 s"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_parse_retry_after_defaults_to_wall_clock() -> None:
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


# --- CircuitBreaker --------------------------------------------------------------------------


def open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()


def test_breaker_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=5, clock=clock)
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_in() == 60.0


def test_breaker_success_resets_the_failure_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=5, clock=clock)
    for _ in range(4):
        breaker.record_failure()
    breaker.record_success()
    assert breaker.failures == 0
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_half_opens_after_reset_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(reset_timeout=60, clock=clock)
    open_breaker(breaker)
    clock.advance(59.5)
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_in() == pytest.approx(0.5)
    clock.advance(0.5)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.retry_in() == 0.0


def test_breaker_half_open_allows_exactly_one_probe(clock: FakeClock) -> None:
    breaker = CircuitBreaker(reset_timeout=60, clock=clock)
    open_breaker(breaker)
    clock.advance(60)
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.allow()
    assert breaker.retry_in() == 60.0  # probe in flight
    with pytest.raises(BreakerOpen) as info:
        breaker.check()
    assert info.value.retry_in == 60.0


def test_breaker_half_open_max_calls(clock: FakeClock) -> None:
    breaker = CircuitBreaker(half_open_max_calls=3, clock=clock)
    open_breaker(breaker)
    clock.advance(60)
    assert [breaker.allow() for _ in range(4)] == [True, True, True, False]


def test_breaker_probe_success_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(clock=clock)
    open_breaker(breaker)
    clock.advance(60)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(10))
    # Counting starts from zero again.
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED


def test_breaker_probe_failure_reopens_for_a_full_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(reset_timeout=60, clock=clock)
    open_breaker(breaker)
    clock.advance(61)
    assert breaker.allow()
    clock.advance(5)  # the probe took a while
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_in() == 60.0
    clock.advance(59)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_breaker_ignores_stragglers_while_open(clock: FakeClock) -> None:
    breaker = CircuitBreaker(reset_timeout=60, clock=clock)
    open_breaker(breaker)
    clock.advance(30)
    breaker.record_failure()  # must not extend the timeout
    breaker.record_success()  # must not close it either
    assert breaker.state is BreakerState.OPEN
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN


def test_breaker_reports_transitions(clock: FakeClock) -> None:
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(
        failure_threshold=2, clock=clock, on_change=lambda old, new: changes.append((old, new))
    )
    open_breaker(breaker)
    clock.advance(60)
    assert breaker.allow()
    breaker.record_failure()
    clock.advance(60)
    assert breaker.allow()
    breaker.record_success()
    closed, open_, half = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
    assert changes == [
        (closed, open_),
        (open_, half),
        (half, open_),
        (open_, half),
        (half, closed),
    ]


def test_breaker_survives_a_failing_callback(clock: FakeClock) -> None:
    def boom(old: BreakerState, new: BreakerState) -> None:
        raise RuntimeError("metrics down")

    breaker = CircuitBreaker(failure_threshold=1, clock=clock, on_change=boom)
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


# --- TokenBucket -----------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_at_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2, capacity=4, clock=clock)
    assert all(bucket.try_acquire() for _ in range(4))
    assert not bucket.try_acquire()
    assert bucket.wait_time() == pytest.approx(0.5)
    assert bucket.wait_time(3) == pytest.approx(1.5)
    clock.advance(0.5)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(100)
    assert bucket.tokens == 4  # never above capacity


def test_bucket_takes_several_tokens(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=10, capacity=10, clock=clock)
    assert bucket.try_acquire(7)
    assert not bucket.try_acquire(4)
    assert bucket.tokens == pytest.approx(3)
    assert bucket.try_acquire(0)


def test_bucket_rejects_more_than_capacity(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, capacity=5, clock=clock)
    with pytest.raises(ValueError):
        bucket.try_acquire(6)
    with pytest.raises(ValueError):
        bucket.wait_time(6)
    with pytest.raises(ValueError):
        bucket.try_acquire(-1)


async def test_bucket_acquire_rejects_more_than_capacity(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, capacity=5, clock=clock, sleep=clock.sleep)
    with pytest.raises(ValueError):
        await bucket.acquire(6)


@pytest.mark.parametrize("kwargs", [{"rate": 0, "capacity": 1}, {"rate": 1, "capacity": 0}])
def test_bucket_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenBucket(**kwargs)


async def test_bucket_acquire_sleeps_until_tokens_are_available(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2, capacity=2, clock=clock, sleep=clock.sleep)
    start = clock.now
    await bucket.acquire(2)
    assert clock.now == start  # no wait while tokens are there
    await bucket.acquire(1)
    assert clock.now - start == pytest.approx(0.5)
    assert clock.sleeps == [pytest.approx(0.5)]


async def test_bucket_concurrent_acquire_is_fifo(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, capacity=2, clock=clock, sleep=clock.sleep)
    start = clock.now
    served: list[tuple[str, float]] = []

    async def worker(name: str, n: int) -> None:
        await bucket.acquire(n)
        served.append((name, clock.now - start))

    # "big" queues before the small ones and must not be starved by them.
    await asyncio.gather(worker("a", 2), worker("big", 2), worker("c", 1), worker("d", 1))
    assert [name for name, _ in served] == ["a", "big", "c", "d"]
    assert [at for _, at in served] == pytest.approx([0, 2, 3, 4])


async def test_bucket_try_acquire_does_not_jump_the_queue(clock: FakeClock) -> None:
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        await gate.wait()
        clock.advance(seconds)

    bucket = TokenBucket(rate=1, capacity=1, clock=clock, sleep=slow_sleep)
    assert bucket.try_acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    clock.advance(1)  # a token is back, but the waiter is queued for it
    assert not bucket.try_acquire()
    gate.set()
    await asyncio.wait_for(waiter, 1)
    assert bucket.tokens == pytest.approx(0)


async def test_bucket_cancelled_waiter_takes_nothing(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1, capacity=1, clock=clock, sleep=asyncio.sleep)
    assert bucket.try_acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    clock.advance(1)
    assert bucket.try_acquire()  # the lock was released and the token is still there
