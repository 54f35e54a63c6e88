"""Periodic on plain asyncio: rounds, wake-ups, backoff after failures, bounded stop."""

from __future__ import annotations

import asyncio
import logging
import time

import nats.errors
import psycopg
import pytest

from hubkit.resilience import Backoff
from hubkit.worker import Periodic
from tests.support import wait_for


class Rounds:
    """A work function that records when it ran and returns (or raises) what it is told."""

    def __init__(self, *outcomes: float | Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.times: list[float] = []

    async def __call__(self) -> float | None:
        self.times.append(time.monotonic())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:], strict=False)]


async def test_start_runs_a_round_at_once_then_every_interval() -> None:
    work = Rounds()
    loop = Periodic("test", work, interval=0.05)
    started = time.monotonic()
    await loop.start()
    await wait_for(lambda: len(work.times) >= 3)
    await loop.stop()
    assert work.times[0] - started < 0.05
    assert all(gap >= 0.04 for gap in work.gaps())


async def test_wait_first_delays_the_first_round_by_one_interval() -> None:
    work = Rounds()
    loop = Periodic("test", work, interval=0.1, wait_first=True)
    started = time.monotonic()
    await loop.start()
    await wait_for(lambda: work.times)
    await loop.stop()
    assert work.times[0] - started >= 0.09


async def test_wake_runs_the_next_round_before_the_interval() -> None:
    work = Rounds()
    loop = Periodic("test", work, interval=60)
    await loop.start()
    await wait_for(lambda: len(work.times) == 1)
    loop.wake()
    await wait_for(lambda: len(work.times) == 2, within=1.0)
    await loop.stop()


async def test_a_wake_during_a_round_brings_the_next_one_at_once() -> None:
    release = asyncio.Event()
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()

    loop = Periodic("test", work, interval=60)
    await loop.start()
    await wait_for(lambda: calls == 1)
    loop.wake()  # while the first round is still running
    release.set()
    await wait_for(lambda: calls == 2, within=1.0)
    await loop.stop()


async def test_work_returns_how_long_until_its_next_round() -> None:
    work = Rounds(0.0, 0.0, 0.2, None)  # two more at once, then after 0.2 s, then the interval
    loop = Periodic("test", work, interval=0.4)
    await loop.start()
    await wait_for(lambda: len(work.times) == 5)
    await loop.stop()
    gaps = work.gaps()
    assert gaps[0] < 0.05 and gaps[1] < 0.05 and gaps[2] >= 0.19
    assert gaps[3] >= 0.39  # None: the interval


async def test_stop_during_the_wait_returns_at_once_and_runs_no_more_rounds() -> None:
    work = Rounds()
    loop = Periodic("test", work, interval=60)
    await loop.start()
    await wait_for(lambda: work.times)
    began = time.monotonic()
    await loop.stop()
    assert time.monotonic() - began < 0.5
    assert len(work.times) == 1 and loop.stopping


async def test_stop_lets_the_round_in_hand_finish() -> None:
    finished = asyncio.Event()
    entered = asyncio.Event()

    async def work() -> None:
        entered.set()
        await asyncio.sleep(0.1)
        finished.set()

    loop = Periodic("test", work, interval=60, stop_timeout=5)
    await loop.start()
    await entered.wait()
    await loop.stop()
    assert finished.is_set()


async def test_a_long_round_sees_stopping_and_ends_early() -> None:
    batches = 0
    ended = asyncio.Event()

    async def work() -> None:
        nonlocal batches
        while not loop.stopping:
            batches += 1
            await asyncio.sleep(0.01)
        ended.set()  # the round returned by itself: nothing of it runs after stop()

    loop = Periodic("test", work, interval=60)
    await loop.start()
    await wait_for(lambda: batches >= 2)
    await loop.stop()
    assert ended.is_set()


async def test_stop_is_bounded_and_cancels_a_round_that_hangs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = asyncio.Event()
    cancelled = False

    async def work() -> None:
        nonlocal cancelled
        entered.set()
        try:
            await asyncio.Event().wait()  # never ends by itself
        except asyncio.CancelledError:
            cancelled = True
            raise

    loop = Periodic("hangs", work, interval=60, stop_timeout=0.1)
    await loop.start()
    await entered.wait()
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="hubkit.worker"):
        await loop.stop()
    assert 0.09 <= time.monotonic() - began < 1.0
    assert cancelled
    assert "hangs did not stop within 0.1s" in caplog.text


async def test_stop_timeout_zero_cancels_at_once_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered = asyncio.Event()

    async def work() -> None:
        entered.set()
        await asyncio.Event().wait()

    loop = Periodic("watch", work, interval=1, stop_timeout=0)
    await loop.start()
    await entered.wait()
    with caplog.at_level(logging.WARNING, logger="hubkit.worker"):
        await loop.stop()
    assert caplog.records == []


async def test_a_failing_round_is_logged_and_retried_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = Rounds(RuntimeError("db away"), RuntimeError("db away"), None, RuntimeError("again"))
    backoff = Backoff(schedule=(0.05, 0.15), jitter=0)
    loop = Periodic("flaky", work, interval=0.01, backoff=backoff)
    with caplog.at_level(logging.WARNING, logger="hubkit.worker"):
        await loop.start()
        await wait_for(lambda: len(work.times) >= 5)
        await loop.stop()
    gaps = work.gaps()
    assert gaps[0] >= 0.045  # after failure 1
    assert gaps[1] >= 0.145  # after failure 2: the backoff grows
    assert gaps[3] >= 0.045 and gaps[3] < 0.14  # a success resets it: failure 1 again
    records = [r for r in caplog.records if r.name == "hubkit.worker"]
    assert [r.getMessage() for r in records] == [
        "flaky failed (RuntimeError('db away')); retrying in 0.05s",
        "flaky failed (RuntimeError('db away')); retrying in 0.15s",
        "flaky failed (RuntimeError('again')); retrying in 0.05s",
    ]
    # The traceback once per run of failures, not on every retry.
    assert [bool(r.exc_info) for r in records] == [True, False, True]


async def test_a_dependency_away_is_one_line_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = psycopg.OperationalError("connection failed: Connection refused\n\tIs it running?")
    work = Rounds(refused, nats.errors.NoServersError())
    loop = Periodic("relay", work, interval=0.01, backoff=Backoff(schedule=(0.01,), jitter=0))
    with caplog.at_level(logging.WARNING, logger="hubkit.worker"):
        await loop.start()
        await wait_for(lambda: len(work.times) >= 3)
        await loop.stop()
    records = [r for r in caplog.records if r.name == "hubkit.worker"]
    assert [r.getMessage() for r in records] == [
        "relay: PostgreSQL unavailable (connection failed: Connection refused); retrying in 0.01s",
        "relay: NATS unavailable (nats: no servers available for connection); retrying in 0.02s",
    ]
    assert not any(r.exc_info for r in records)


async def test_the_default_backoff_never_waits_longer_than_the_interval() -> None:
    work = Rounds(*[RuntimeError("down")] * 3)
    loop = Periodic("capped", work, interval=0.05)
    await loop.start()
    await wait_for(lambda: len(work.times) >= 4, within=1.0)  # not 1, 2, 4 s
    await loop.stop()


async def test_wake_does_not_cut_a_backoff_short_but_stop_does() -> None:
    work = Rounds(RuntimeError("down"), RuntimeError("down"))
    loop = Periodic("test", work, interval=0.01, backoff=Backoff(schedule=(0.3, 60), jitter=0))
    await loop.start()
    await wait_for(lambda: work.times)
    loop.wake()  # at once: the backoff after the first failure has just begun
    await wait_for(lambda: len(work.times) == 2, what="the round after the backoff")
    assert work.gaps()[0] >= 0.29  # the whole 0.3 s, the wake-up notwithstanding
    loop.wake()
    began = time.monotonic()
    await loop.stop()  # in the 60 s backoff after the second failure
    assert time.monotonic() - began < 0.5
    assert len(work.times) == 2


async def test_stop_before_start_and_twice_is_harmless() -> None:
    loop = Periodic("test", Rounds(), interval=1)
    await loop.stop()
    await loop.start()
    await loop.stop()
    await loop.stop()


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        Periodic("test", Rounds(), interval=-1)
