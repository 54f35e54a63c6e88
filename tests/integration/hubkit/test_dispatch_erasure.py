"""Erasure in the dispatch machinery and items intake cannot take, on real NATS and Postgres."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus import JetStreamPublisher, Outgoing
from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ERASURES, ensure_stream
from hubkit.db import make_engine
from hubkit.dispatch import (
    DispatchPolicy,
    ErrorClass,
    LedgerUnitOfWork,
    Platform,
    PlatformError,
    SendResult,
)
from hubkit.dispatch.testing import DispatchHarness, FakePlatform, create_ledger, dispatch_request
from tests.support import wait_for

SCHEMA = "dispatch_erasure"
POLICY = DispatchPolicy(
    batch_size=50,
    linger=0.05,
    retry_schedule=(0.05, 0.05, 0.05),
    retry_jitter=0.0,
    resync_seconds=0.3,
    lease_seconds=5,
    drain_seconds=0.3,
)
EMAIL = hashlib.sha256(b"erase-me@example.com").hexdigest()
PHONE = hashlib.sha256(b"4915112345678").hexdigest()


def personal(conversion_id: str) -> events_pb2.DispatchRequested:
    ids = common_pb2.HashedIdentifiers(email=EMAIL, phone=PHONE)
    return dispatch_request(
        conversion_id,
        user_data=common_pb2.HashedUserData(meta=ids),
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0 erase-me",
        visitor_id="visitor-erase-me",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def harness(
    engine: AsyncEngine, js: JetStreamContext
) -> AsyncIterator[tuple[DispatchHarness, FakePlatform]]:
    """Intake, relay and the erasure consumer running; the dispatcher is started by the test."""
    platform = FakePlatform(POLICY)
    h = DispatchHarness(platform, engine, js, await create_ledger(engine, SCHEMA))
    for spec in (DISPATCH, DELIVERY, DEADLETTER, ERASURES):
        await ensure_stream(js, spec)
    await h.relay.start()
    await h.erasures.start()
    await h.consumer.start()
    yield h, platform
    await h.consumer.stop()
    await h.erasures.stop()
    await h.dispatcher.stop()
    await h.relay.stop()


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql.format(s=SCHEMA)))).all())


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    return (await rows(engine, sql))[0][0]


async def erase(js: JetStreamContext, *conversion_ids: str, msg_id: str) -> None:
    batch = events_pb2.UserErasedBatch(
        site_id="shop",
        items=[
            events_pb2.UserErased(
                erasure_id="e1", hashed_emails=[EMAIL], conversion_ids=list(conversion_ids)
            )
        ],
    )
    await JetStreamPublisher(js).publish(Outgoing("convhub.erasures.shop", batch, msg_id))


async def updates(js: JetStreamContext, expected: int) -> list[events_pb2.DeliveryUpdated]:
    """Every DeliveryUpdated published so far, once at least `expected` are there."""
    sub = await js.pull_subscribe("convhub.delivery.meta.>", durable=None)
    found: list[events_pb2.DeliveryUpdated] = []
    while True:
        try:
            batch = await sub.fetch(1, timeout=1)
        except TimeoutError:
            if len(found) >= expected:
                break
            raise
        for msg in batch:
            found += events_pb2.DeliveryUpdatedBatch.FromString(msg.data).items
    await sub.unsubscribe()
    return found


async def _settled(engine: AsyncEngine, where: str, n: int) -> bool:
    return int(await scalar(engine, f"SELECT count(*) FROM {{s}}.deliveries WHERE {where}")) == n


async def _settled_batches(engine: AsyncEngine, where: str, n: int) -> bool:
    return int(await scalar(engine, f"SELECT count(*) FROM {{s}}.batches WHERE {where}")) == n


async def test_erased_conversions_are_never_sent_and_keep_no_personal_data(
    harness: tuple[DispatchHarness, FakePlatform], engine: AsyncEngine, js: JetStreamContext
) -> None:
    h, platform = harness
    platform.rejections["c4:meta:1234567890"] = PlatformError(
        ErrorClass.BAD_INPUT,
        "100",
        f"bad em {EMAIL}",  # a platform message echoing a hash
    )
    await h.publish([personal(f"c{i}") for i in range(5)])
    await wait_for(lambda: _settled(engine, "true", 5), what="five recorded")
    # c1 and c3 pending (the dispatcher is not running yet), c4 failed and dead-lettered at intake.
    await erase(js, "c1", "c3", "c4", msg_id="erase-1")
    await wait_for(lambda: _settled(engine, "platform_code = 'erased'", 3), what="erased")
    await erase(js, "c1", "c3", "c4", msg_id="erase-2")  # a redelivery: nothing more to do
    await h.dispatcher.start()
    await wait_for(lambda: _settled(engine, "status = 'confirmed'", 2), what="the others sent")

    assert sorted(platform.sent_ids()) == ["c0:meta:1234567890", "c2:meta:1234567890"]
    erased = await rows(
        engine,
        "SELECT delivery_id, status, last_error, sequence, request FROM {s}.deliveries "
        "WHERE conversion_id IN ('c1', 'c3', 'c4') ORDER BY delivery_id",
    )
    assert [(r[1], r[2], r[3]) for r in erased] == [
        ("failed", "erased", 1),
        ("failed", "erased", 1),  # failed once, not again on the redelivery
        ("failed", "erased", 1),
    ]
    for row in erased:
        request = events_pb2.DispatchRequested.FromString(bytes(row.request))
        assert request.conversion.order_id and request.delivery_id == row.delivery_id
        blob = bytes(row.request)
        for secret in (EMAIL, PHONE, "203.0.113.7", "erase-me"):
            assert secret.encode() not in blob
    letters = await rows(engine, "SELECT dead_letter_id, reason, last_error FROM {s}.dead_letters")
    assert [(r.reason, r.last_error) for r in letters] == [("erased", "")]
    kept = await rows(engine, "SELECT request FROM {s}.deliveries WHERE conversion_id = 'c0'")
    assert EMAIL.encode() in bytes(kept[0].request)  # only the erased person's data goes

    # Announced once each: FAILED with reason "erased" for c1, c3 (c4 was announced at intake).
    seen = await updates(js, 5)
    failed = sorted(u.delivery_id for u in seen if u.last_error == "erased")
    assert failed == ["c1:meta:1234567890", "c3:meta:1234567890"]
    assert {u.status for u in seen if u.last_error == "erased"} == {
        common_pb2.DELIVERY_STATUS_FAILED
    }

    # A replay (operator or router) cannot bring an erased delivery back.
    async with LedgerUnitOfWork(engine, h.tables) as uow:
        result = await uow.ledger.replay(ids=[letters[0].dead_letter_id], selector=None)
        await uow.commit()
    assert (result.matched, result.replayed) == (1, 0)
    info = await js.consumer_info(h.erasures.spec.stream, h.erasures.spec.durable)
    assert h.erasures.spec.durable == "dispatch-test-erasures"
    assert info.num_pending == 0 and info.num_ack_pending == 0


async def test_an_erasure_while_in_flight_stops_the_retries(
    harness: tuple[DispatchHarness, FakePlatform], engine: AsyncEngine, js: JetStreamContext
) -> None:
    h, platform = harness
    platform.delay = 0.5
    transient = SendResult(503, error=PlatformError(ErrorClass.TRANSIENT, "503", "unavailable"))
    platform.answers.extend([transient, transient])
    await h.dispatcher.start()
    await h.publish([personal("f0")])
    await wait_for(lambda: len(platform.requests) == 1, what="the request in flight")
    await erase(js, "f0", msg_id="erase-f0")
    await wait_for(lambda: _settled(engine, "status = 'failed'", 1), what="failed as erased")
    await wait_for(
        lambda: _settled(engine, "lease_owner IS NULL AND status = 'failed'", 1), what="settled"
    )
    # The retry decision is taken when the answer is recorded: once the 503 of the request in
    # flight is, the delivery is still failed, so no retry can ever send it.
    await wait_for(
        lambda: _settled_batches(engine, "http_status = 503", 1), what="the 503 recorded"
    )
    assert await scalar(engine, "SELECT status FROM {s}.deliveries") == "failed"
    assert len(platform.requests) == 1


async def test_an_erasure_clears_the_frozen_bytes_kept_for_a_resend(
    harness: tuple[DispatchHarness, FakePlatform], engine: AsyncEngine, js: JetStreamContext
) -> None:
    h, platform = harness
    transient = SendResult(503, error=PlatformError(ErrorClass.TRANSIENT, "503", "unavailable"))
    platform.answers.extend([transient] * 50)
    await h.dispatcher.start()
    await h.publish([personal("z0")])
    kept = "payload = 'sent:z0:meta:1234567890'::bytea"
    await wait_for(lambda: _settled(engine, kept, 1), what="kept to resend")
    await erase(js, "z0", msg_id="erase-z0")
    await wait_for(lambda: _settled(engine, "status = 'failed'", 1), what="failed as erased")
    assert (
        await scalar(engine, "SELECT count(*) FROM {s}.deliveries WHERE payload IS NOT NULL") == 0
    )


async def test_items_intake_cannot_take_are_failed_visibly(
    engine: AsyncEngine, js: JetStreamContext
) -> None:
    class Picky(FakePlatform):
        def lane_of(self, request: Any) -> Any:
            if request.conversion_id == "bad-lane":
                raise ValueError("no usable target")
            return super().lane_of(request)

    platform = Picky(POLICY)
    h = DispatchHarness(platform, engine, js, await create_ledger(engine, SCHEMA + "_intake"))
    await h.start()
    try:
        unkeyed = events_pb2.DispatchRequested()  # no conversion id: can only be dropped
        other = dispatch_request("g0", platform=Platform.GOOGLE)
        bad = dispatch_request("bad-lane")
        batch = events_pb2.DispatchRequestedBatch(
            site_id="shop", items=[unkeyed, other, bad, dispatch_request("ok")]
        )
        await JetStreamPublisher(js).publish(
            Outgoing("convhub.dispatch.meta.shop", batch, "intake-1")
        )
        await wait_for(lambda: platform.sent_ids() == ["ok:meta:1234567890"], what="ok sent")
        sub = await js.pull_subscribe("convhub.deadletter.meta.>", durable=None)
        (msg,) = await sub.fetch(1, timeout=5)
        letters = events_pb2.DeadLetteredBatch.FromString(msg.data).items
        assert sorted((x.delivery_id, x.error_class) for x in letters) == [
            ("bad-lane:meta:1234567890", ErrorClass.BAD_INPUT),
            ("g0:google:1234567890", ErrorClass.CONFIG),
        ]
        seen = await updates(js, 2)
        failed = {u.delivery_id for u in seen if u.status == common_pb2.DELIVERY_STATUS_FAILED}
        assert failed == {"bad-lane:meta:1234567890", "g0:google:1234567890"}
        async with LedgerUnitOfWork(engine, h.tables) as uow:  # replaying cannot send them
            result = await uow.ledger.replay(ids=[x.dead_letter_id for x in letters], selector=None)
            await uow.commit()
        assert (result.matched, result.replayed) == (2, 0)
    finally:
        await h.stop()


async def test_prune_forgets_failed_dead_and_dead_letters_past_retention(
    engine: AsyncEngine,
) -> None:
    tables = await create_ledger(engine, SCHEMA + "_prune")
    s = tables.schema
    async with engine.begin() as conn:
        for i, status in enumerate(["confirmed", "failed", "dead", "pending", "failed"]):
            age = "10 days" if i < 4 else "1 hour"
            await conn.execute(
                text(
                    f"INSERT INTO {s}.deliveries (delivery_id, conversion_id, site_id, account_id,"
                    f" status, request, updated_at) VALUES ('d{i}', 'c{i}', 'shop', 'a', "
                    f"'{status}', '', now() - interval '{age}')"
                )
            )
            await conn.execute(
                text(
                    f"INSERT INTO {s}.dead_letters (dead_letter_id, delivery_id, conversion_id,"
                    f" site_id, account_id, status, reason, attempts, dead_lettered_at) VALUES "
                    f"('x{i}', 'd{i}', 'c{i}', 'shop', 'a', 'failed', 'r', 1, "
                    f"now() - interval '{age}')"
                )
            )
    async with LedgerUnitOfWork(engine, tables) as uow:
        assert await uow.ledger.prune(datetime.now(UTC) - timedelta(days=7)) == 3
        await uow.commit()
    async with engine.connect() as conn:
        left = (await conn.execute(text(f"SELECT delivery_id FROM {s}.deliveries"))).scalars()
        assert sorted(left) == ["d3", "d4"]  # pending kept, and what is within the retention
        letters = await conn.execute(text(f"SELECT dead_letter_id FROM {s}.dead_letters"))
        assert list(letters.scalars()) == ["x4"]
