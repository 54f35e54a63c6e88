"""The dispatch machinery with a fake platform, against real NATS JetStream and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2
from hubkit.bus import JetStreamPublisher, Outgoing
from hubkit.db import make_engine
from hubkit.dispatch import (
    DispatchPolicy,
    ErrorClass,
    Platform,
    PlatformError,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.testing import DispatchHarness, FakePlatform, create_ledger, dispatch_request

SCHEMA = "dispatch_fake"
POLICY = DispatchPolicy(
    batch_size=50,
    linger=0.05,
    retry_schedule=(0.05, 0.05, 0.05),
    retry_jitter=0.0,
    resync_seconds=0.3,
    lease_seconds=5,
    drain_seconds=0.3,
    requests_per_second=500,
    burst=100,
)


async def wait_for(predicate: Callable[[], Any], within: float = 10.0, what: str = "it") -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(0.02)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def make(engine: AsyncEngine, js: JetStreamContext):
    tables = await create_ledger(engine, SCHEMA)
    running: list[DispatchHarness] = []

    async def build(platform: FakePlatform, start: bool = True) -> DispatchHarness:
        harness = DispatchHarness(platform, engine, js, tables)
        if start:
            await harness.start()
            running.append(harness)
        return harness

    yield build
    for harness in running:
        await harness.stop()


async def count(engine: AsyncEngine, where: str = "true") -> int:
    async with engine.connect() as conn:
        query = text(f"SELECT count(*) FROM {SCHEMA}.deliveries WHERE {where}")
        return int((await conn.execute(query)).scalar_one())


def requests(n: int, prefix: str = "c") -> list[events_pb2.DispatchRequested]:
    return [dispatch_request(f"{prefix}{i}") for i in range(n)]


async def test_poison_messages_and_unkeyed_items_do_not_cost_the_rest(
    make,
    engine: AsyncEngine,
    js: JetStreamContext,
) -> None:
    platform = FakePlatform(POLICY)
    harness = await make(platform)
    publisher = JetStreamPublisher(js)
    await publisher.publish(Outgoing("convhub.dispatch.meta.shop", b"\xff\x00garbage", "bad-1"))
    unkeyed = events_pb2.DispatchRequested()  # neither delivery nor conversion id
    other = dispatch_request("g0", platform=Platform.GOOGLE)
    batch = events_pb2.DispatchRequestedBatch(site_id="shop", items=[unkeyed, other, *requests(5)])
    await publisher.publish(Outgoing("convhub.dispatch.meta.shop", batch, "mixed-1"))
    await wait_for(lambda: len(platform.sent_ids()) == 5, what="the five good items sent")
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 5), what="settled")
    # The item for another platform is recorded failed (visible to ingest), not dropped silently.
    assert await count(engine) == 6 and await count(engine, "status = 'failed'") == 1
    info = await js.consumer_info(harness.spec.stream, harness.spec.durable)
    assert info.num_pending == 0 and info.num_ack_pending == 0  # the garbage was terminated


async def test_refused_at_intake_fails_at_once_and_is_announced(
    make,
    engine: AsyncEngine,
    js: JetStreamContext,
) -> None:
    platform = FakePlatform(POLICY)
    platform.rejections["c1:meta:1234567890"] = PlatformError(
        ErrorClass.TOO_OLD, "TOO_OLD", "older than 7 days"
    )
    harness = await make(platform)
    await harness.publish(requests(3))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 2), what="two confirmed")
    assert "c1:meta:1234567890" not in platform.sent_ids()
    sub = await js.pull_subscribe("convhub.deadletter.meta.>", durable=None)
    (msg,) = await sub.fetch(1, timeout=5)
    (letter,) = events_pb2.DeadLetteredBatch.FromString(msg.data).items
    assert (letter.delivery_id, letter.error_class, letter.attempts) == (
        "c1:meta:1234567890",
        ErrorClass.TOO_OLD,
        0,
    )


async def _eq(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_partial_failures_and_adapter_crashes(make, engine: AsyncEngine) -> None:
    platform = FakePlatform(POLICY)

    def partial(batch: SendBatch) -> SendResult:
        bad = PlatformError(ErrorClass.BAD_INPUT, "ROW", "row refused")
        return SendResult(200, event_errors={batch.events[0].delivery_id: bad})

    def crash(batch: SendBatch) -> SendResult:
        raise RuntimeError("adapter bug")

    platform.answers.extend([crash, partial])
    harness = await make(platform)
    await harness.publish(requests(10))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 9), what="nine confirmed")
    assert await count(engine, "status = 'failed'") == 1
    async with engine.connect() as conn:
        batches = (
            await conn.execute(
                text(f"SELECT status, error_class FROM {SCHEMA}.batches ORDER BY created_at")
            )
        ).all()
    assert [tuple(b) for b in batches] == [
        ("retry_scheduled", ErrorClass.UNKNOWN),  # the crash: unknown outcome, retried
        ("partially_failed", 0),
    ]
    assert len(platform.requests) == 2 and harness


async def test_missing_configuration_fails_without_a_request(make, engine: AsyncEngine) -> None:
    class Unconfigured(FakePlatform):
        async def prepare(self, batch: SendBatch, now: Any) -> Any:
            from hubkit.dispatch import Prepared

            return Prepared(error=PlatformError(ErrorClass.CONFIG, "CREDENTIALS", "no file"))

    platform = Unconfigured(POLICY)
    harness = await make(platform)
    await harness.publish(requests(4))
    await wait_for(lambda: _eq(count(engine, "status = 'failed'"), 4), what="failed")
    assert platform.requests == []
    assert harness.dispatcher.accounts()[0].breaker_state == 1  # no evidence against Meta


async def test_graceful_drain_returns_unfinished_requests_to_pending(
    make,
    engine: AsyncEngine,
) -> None:
    slow = FakePlatform(POLICY)
    slow.delay = 5.0  # longer than the drain allows
    first = await make(slow, start=False)
    await first.start()
    await first.publish(requests(20))
    await wait_for(lambda: len(slow.requests) == 1, what="a request in flight")
    await first.stop()
    assert await count(engine, "status = 'pending'") == 20
    assert await count(engine, "lease_owner IS NOT NULL") == 0

    fast = FakePlatform(POLICY)
    await make(fast)  # the next process picks them up at start, without waiting for leases
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 20), what="redelivered")
    assert sorted(fast.sent_ids()) == sorted(r.delivery_id for r in requests(20))
    async with engine.connect() as conn:
        attempts = (
            (await conn.execute(text(f"SELECT DISTINCT attempts FROM {SCHEMA}.deliveries")))
            .scalars()
            .all()
        )
    assert attempts == [2]  # the cut-short request counts: it may have reached the platform
