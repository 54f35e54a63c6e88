"""dispatch-meta under failure: bad events isolated, throttles, breaker, dead letters, replay."""

from __future__ import annotations

import hashlib
import itertools
import time

import grpc
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from convhub.events.v1 import events_pb2
from convhub_sim.meta import MetaSimulator
from hubkit.auth import Scope, issue_token
from hubkit.dispatch.testing import dispatch_request
from hubkit.grpcx import GrpcServer, ServiceInterceptor, auth_metadata, serving
from tests.support import wait_for

from .conftest import SCHEMA, Factory, read_items, statuses

SECRET = "s" * 40


def user(n: int) -> common_pb2.HashedUserData:
    digest = hashlib.sha256(f"person{n}@example.com".encode()).hexdigest()
    return common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))


def requests(prefix: str, count: int) -> list[events_pb2.DispatchRequested]:
    return [
        dispatch_request(
            f"{prefix}{i}", user_data=user(i), action_source=7, value="9.99", currency="EUR"
        )
        for i in range(count)
    ]


async def settled(engine: AsyncEngine, expected: dict[str, int]) -> bool:
    return await statuses(engine) == expected


async def test_one_invalid_event_is_isolated_and_the_others_delivered(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    sim.poison_event_ids = {"evt-bad37"}
    items = requests("bad", 100)
    await (await dispatch(linger=1.0)).publish(items)

    await wait_for(lambda: settled(engine, {"confirmed": 99, "failed": 1}), what="isolation")
    assert {e.event_id for e in sim.processed()} == {f"evt-bad{i}" for i in range(100)} - {
        "evt-bad37"
    }
    assert not sim.duplicates()
    # Bisection: the first request carried all 100; no good event was ever failed.
    assert len(sim.event_requests()[0]["data"]) == 100
    async with engine.connect() as conn:
        dead = (
            await conn.execute(
                text(f"SELECT delivery_id, error_class, platform_code FROM {SCHEMA}.dead_letters")
            )
        ).all()
        split = (
            await conn.execute(
                text(f"SELECT count(*) FROM {SCHEMA}.batches WHERE status = 'split'")
            )
        ).scalar_one()
    assert [(d.delivery_id, d.error_class, d.platform_code) for d in dead] == [
        ("bad37:meta:1234567890", common_pb2.ERROR_CLASS_BAD_INPUT, "100")
    ]
    assert split >= 7  # log2(100) levels of splitting down to the one bad event


async def test_throttle_storm_is_ridden_out_with_backoff(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    sim.throttle(2, code=17, subcode=2446079)
    sim.throttle(1, code=80004)
    sim.throttle(1, code=613, retry_after=0.6)  # the platform's delay wins over ours
    harness = await dispatch(linger=0.3)
    await harness.publish(requests("t", 300))

    await wait_for(lambda: settled(engine, {"confirmed": 300}), what="all delivered")
    assert {e.event_id for e in sim.processed()} == {f"evt-t{i}" for i in range(300)}
    assert not sim.duplicates()
    answers = [r.status for r in sim.platform_requests()]
    assert answers == [400, 400, 400, 400, 200]
    starts = [r.at for r in sim.platform_requests()]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Schedule 0.05, 0.1, 0.2 (±10 % jitter), then Retry-After 0.6.
    assert gaps[0] >= 0.045 and gaps[1] >= 0.09 and gaps[2] >= 0.18 and gaps[3] >= 0.59
    async with engine.connect() as conn:
        attempts = (
            await conn.execute(
                text(f"SELECT max(attempts), max(failures) FROM {SCHEMA}.deliveries")
            )
        ).one()
    assert tuple(attempts) == (1, 0)  # throttled requests are not charged


async def test_breaker_opens_holds_events_and_recovers(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    sim.server_error(5, status=503)
    harness = await dispatch(
        linger=0.05, retry_schedule=(0.05,) * 8, breaker_failures=5, breaker_open_seconds=1.0
    )
    await harness.publish(requests("b", 20))

    def breaker() -> int:
        accounts = harness.dispatcher.accounts()
        return accounts[0].breaker_state if accounts else 0

    await wait_for(lambda: breaker() == 2, what="breaker open")
    opened = time.monotonic()
    await harness.publish(requests("late", 10))  # arrive while open: they wait, not fail
    await wait_for(lambda: settled(engine, {"confirmed": 30}), what="recovered")
    assert breaker() == 1
    answers = [r.status for r in sim.platform_requests()]
    assert answers[:5] == [503] * 5 and set(answers[5:]) == {200}
    # Nothing went out while the breaker was open; the probe came after the open interval.
    probe = sim.platform_requests()[5].at
    fifth = sim.platform_requests()[4].at
    assert probe - fifth >= 0.95
    assert time.monotonic() - opened >= 0.9
    assert {e.event_id for e in sim.processed()} == {f"evt-b{i}" for i in range(20)} | {
        f"evt-late{i}" for i in range(10)
    }


async def test_exhausted_events_are_dead_lettered_and_replay_delivers_them(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    sim.server_error(1, status=500)
    # A retry horizon shorter than the first backoff step: the first failure is the last.
    harness = await dispatch(linger=0.05, breaker_failures=50, retry_horizon=0.01)
    items = requests("d", 30)
    await harness.publish(items)
    await wait_for(lambda: settled(engine, {"dead": 30}), what="dead-lettered")
    assert not sim.received

    async def dead_published() -> bool:
        found = await read_items(js, "convhub.deadletter.meta.>", events_pb2.DeadLetteredBatch)
        return len(found) == 30

    await wait_for(dead_published, what="DeadLettered on NATS")
    letters = await read_items(js, "convhub.deadletter.meta.>", events_pb2.DeadLetteredBatch)
    assert all(
        d.attempts == 1
        and d.error_class == common_pb2.ERROR_CLASS_TRANSIENT
        and d.platform_code == "2"
        and d.reason.startswith("retry horizon of 0.01s passed after 1 failed attempt(s)")
        and d.request.conversion.event_id
        for d in letters
    )

    server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
    harness.servicer.register(server)
    admin = issue_token(SECRET, subject="ops", sites=["*"], scopes=[Scope.ADMIN])
    reader = issue_token(SECRET, subject="ro", sites=["shop"], scopes=[Scope.READ])
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
        listed = await stub.ListDeadLetters(
            dispatch_pb2.ListDeadLettersRequest(page_size=20), metadata=auth_metadata(reader)
        )
        assert len(listed.dead_letters) == 20 and listed.total_count == 30
        assert listed.next_page_token
        rest = await stub.ListDeadLetters(
            dispatch_pb2.ListDeadLettersRequest(page_size=20, page_token=listed.next_page_token),
            metadata=auth_metadata(reader),
        )
        ids = {d.dead_letter_id for d in [*listed.dead_letters, *rest.dead_letters]}
        assert len(ids) == 30 and not rest.next_page_token

        try:
            await stub.ReplayDeadLetters(
                dispatch_pb2.ReplayDeadLettersRequest(filter=dispatch_pb2.DeadLetterFilter()),
                metadata=auth_metadata(reader),
            )
            raise AssertionError("a READ token must not replay")
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED

        dry = await stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(
                filter=dispatch_pb2.DeadLetterFilter(
                    site_id="shop", error_class=common_pb2.ERROR_CLASS_TRANSIENT
                ),
                dry_run=True,
            ),
            metadata=auth_metadata(admin),
        )
        assert (dry.matched, dry.replayed) == (30, 0)
        replay = await stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(
                ids=dispatch_pb2.DeadLetterIds(ids=[*ids, "nope"])
            ),
            metadata=auth_metadata(admin),
        )
        assert (replay.matched, replay.replayed, list(replay.not_found_ids)) == (30, 30, ["nope"])
        again = await stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(ids=dispatch_pb2.DeadLetterIds(ids=list(ids))),
            metadata=auth_metadata(admin),
        )
        assert again.replayed == 0  # idempotent: already pending or delivered

        await wait_for(lambda: settled(engine, {"confirmed": 30}), what="replayed and delivered")
        assert {e.event_id for e in sim.processed()} == {f"evt-d{i}" for i in range(30)}

        delivery = await stub.GetDelivery(
            dispatch_pb2.GetDeliveryRequest(conversion_id="d3"), metadata=auth_metadata(reader)
        )
        (only,) = delivery.deliveries
        assert only.state.status == common_pb2.DELIVERY_STATUS_CONFIRMED
        assert [a.outcome for a in only.history] == [
            common_pb2.DELIVERY_STATUS_DEAD,
            common_pb2.DELIVERY_STATUS_CONFIRMED,
        ]
        assert [a.number for a in only.history] == [1, 2]
        assert only.history[0].http_status == 500 and only.history[-1].http_status == 200

        batch = await stub.GetBatch(
            dispatch_pb2.GetBatchRequest(batch_id=only.state.batch_id),
            metadata=auth_metadata(reader),
        )
        assert batch.batch.status == dispatch_pb2.BATCH_STATUS_SUCCEEDED
        assert "d3:meta:1234567890" in {o.delivery_id for o in batch.batch.outcomes}
        assert "access_token" not in batch.batch.platform_response_excerpt

        remaining = await stub.ListDeadLetters(
            dispatch_pb2.ListDeadLettersRequest(), metadata=auth_metadata(reader)
        )
        assert remaining.total_count == 0
        stats = await stub.GetStats(
            dispatch_pb2.GetStatsRequest(window_seconds=300), metadata=auth_metadata(admin)
        )
        assert stats.confirmed == 30 and stats.dead_lettered == 30 and stats.backlog == 0
        assert stats.dead_letter_depth == 0 and stats.retries == 0
        assert [a.account_id for a in stats.accounts] == ["1234567890"]
