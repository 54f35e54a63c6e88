"""The dispatch machinery with a fake platform, against real NATS JetStream and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2
from hubkit.bus import JetStreamPublisher, Outgoing
from hubkit.db import make_engine
from hubkit.dispatch import (
    AccessToken,
    DispatchPolicy,
    ErrorClass,
    Lane,
    Platform,
    PlatformError,
    SendBatch,
    SendResult,
    TokenProvider,
)
from hubkit.dispatch.testing import DispatchHarness, FakePlatform, create_ledger, dispatch_request
from tests.support import wait_for

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

    def partial(ids: list[str]) -> SendResult:
        bad = PlatformError(ErrorClass.BAD_INPUT, "ROW", "row refused")
        return SendResult(200, event_errors={ids[0]: bad})

    def crash(ids: list[str]) -> SendResult:
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


async def test_an_expired_token_is_refreshed_and_resent_without_failure_or_breaker_count(
    make, engine: AsyncEngine
) -> None:
    issued: list[str] = []

    async def fetch(ref: str) -> AccessToken:
        issued.append(f"{ref}-token-{len(issued) + 1}")
        return AccessToken(issued[-1], expires_in=3600)

    platform = FakePlatform(POLICY, tokens=TokenProvider(fetch))
    expired = SendResult(
        401,
        error=PlatformError(ErrorClass.AUTH, "ACCESS_TOKEN_EXPIRED", "expired"),
        token_expired=True,
    )
    platform.answers.append(expired)
    harness = await make(platform)
    await harness.publish(requests(5))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 5), what="delivered")
    # The first request carried token 1 and was refused; the same events went again with 2.
    assert platform.tokens_sent == ["meta-test-token-1", "meta-test-token-2"]
    assert platform.requests[0] == platform.requests[1]
    assert await count(engine, "failures = 0 AND attempts = 1") == 5  # nothing charged
    (account,) = harness.dispatcher.accounts()
    assert (account.breaker_state, account.consecutive_failures) == (1, 0)
    # Cached from then on: the next batch needs no new token.
    await harness.publish(requests(3, prefix="n"))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 8), what="next batch")
    assert platform.tokens_sent[-1] == "meta-test-token-2" and len(issued) == 2


async def test_a_rejection_naming_one_event_fails_it_and_resends_the_rest_uncharged(
    make, engine: AsyncEngine
) -> None:
    platform = FakePlatform(POLICY)

    def reject_third(ids: list[str]) -> SendResult:
        bad = PlatformError(ErrorClass.BAD_INPUT, "40002", "Batch.2: invalid email")
        return SendResult(
            400,
            error=PlatformError(ErrorClass.BAD_INPUT, "40002", "request rejected"),
            event_errors={ids[2]: bad},
            untried=frozenset(ids[:2] + ids[3:]),
        )

    platform.answers.append(reject_third)
    harness = await make(platform)
    await harness.publish(requests(6))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 5), what="five delivered")
    first, second = platform.requests
    assert len(first) == 6 and second == first[:2] + first[3:]  # the rest, once, untried
    assert await count(engine, "status = 'failed' AND platform_code = '40002'") == 1
    # The innocent five were charged nothing for the rejected request.
    assert await count(engine, "status = 'confirmed' AND attempts = 1 AND failures = 0") == 5
    assert harness


async def test_lanes_batch_by_their_own_size(make, engine: AsyncEngine) -> None:
    platform = FakePlatform(POLICY)
    platform.lane_size[Lane("1234567890", "meta-test")] = 7
    await make(platform)
    await (await make(FakePlatform(POLICY), start=False)).publish(requests(20))
    await wait_for(lambda: _eq(count(engine, "status = 'confirmed'"), 20), what="delivered")
    assert sorted(len(r) for r in platform.requests) == [6, 7, 7]
