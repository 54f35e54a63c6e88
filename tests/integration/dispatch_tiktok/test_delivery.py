"""dispatch-tiktok end to end on the engine: batching, grouping, isolation, storms, privacy."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub_sim.tiktok import TikTokSimulator
from tests.support import wait_for

from .conftest import Factory, requests, scalar, settled, statuses


async def test_2500_events_go_in_3_requests_each_delivered_once(
    dispatch: Factory, sim: TikTokSimulator, engine: AsyncEngine
) -> None:
    harness = await dispatch(linger=1.0)
    await harness.publish(requests("b", 2500))
    await wait_for(lambda: settled(engine, {"confirmed": 2500}), within=60, what="delivered")
    sizes = sorted(len(body["data"]) for body in sim.event_requests())
    assert sizes == [500, 1000, 1000]
    assert sorted(e.event_id for e in sim.processed()) == sorted(f"evt-b{i}" for i in range(2500))
    assert not sim.duplicates()


async def test_each_event_type_goes_in_its_own_requests(
    dispatch: Factory, sim: TikTokSimulator, engine: AsyncEngine
) -> None:
    await (await dispatch(linger=0.3)).publish(
        [
            *requests("p", 30),
            *requests("l", 20, event_type="lead"),
            *requests("t", 10, test_event_code="TEST42"),
        ]
    )
    await wait_for(lambda: settled(engine, {"confirmed": 60}), what="delivered")
    shapes = sorted(
        (sorted({e["event"] for e in body["data"]}), body.get("test_event_code", ""))
        for body in sim.event_requests()
    )
    assert shapes == [
        (["CompletePayment"], ""),
        (["CompletePayment"], "TEST42"),
        (["SubmitForm"], ""),
    ]


async def test_a_request_rejected_for_batch_2_fails_it_and_charges_the_others_nothing(
    dispatch: Factory, sim: TikTokSimulator, engine: AsyncEngine
) -> None:
    batch = requests("r", 6)
    sim.poison_event_ids = {batch[2].conversion.event_id}
    await (await dispatch(linger=1.0)).publish(batch)
    await wait_for(lambda: settled(engine, {"confirmed": 5, "failed": 1}), what="isolated")
    first, second = sim.event_requests()
    assert len(first["data"]) == 6 and len(second["data"]) == 5
    bad_index = [e["event_id"] for e in first["data"]].index("evt-r2")
    failed = await scalar(
        engine,
        "SELECT platform_code || ' ' || last_error FROM {s}.deliveries WHERE status='failed'",
    )
    assert failed.startswith(f"40002 Batch.{bad_index}.")  # TikTok's own message
    # The innocent five went again untried: one counted attempt each, no failure.
    assert (
        await scalar(
            engine, "SELECT count(*) FROM {s}.deliveries WHERE attempts = 1 AND failures = 0"
        )
        == 6
    )
    assert "evt-r2" not in {e.event_id for e in sim.processed()}


async def test_a_60s_40100_storm_is_ridden_out_with_nothing_failed(
    dispatch: Factory, sim: TikTokSimulator, engine: AsyncEngine
) -> None:
    started = time.monotonic()
    sim.throttle(seconds=60)
    harness = await dispatch(linger=0.2, max_retry_delay=4.0, retry_horizon=20.0)
    await harness.publish(requests("s", 2000))
    await wait_for(lambda: settled(engine, {"confirmed": 2000}), within=120, what="delivered")
    assert time.monotonic() - started >= 60
    assert sorted(e.event_id for e in sim.processed()) == sorted(f"evt-s{i}" for i in range(2000))
    # Far past the 20 s horizon: nothing charged, nothing dead, the breaker never moved.
    assert await scalar(engine, "SELECT max(attempts) + max(failures) FROM {s}.deliveries") == 1
    assert await scalar(engine, "SELECT count(*) FROM {s}.dead_letters") == 0
    (account,) = harness.dispatcher.accounts()
    assert account.breaker_state == 1
    throttled = [a for a in sim.answers() if a.code == 40100]
    assert 3 <= len(throttled) < 60  # the lane paused instead of hammering


async def test_no_request_carries_an_unhashed_email_or_phone(
    dispatch: Factory, sim: TikTokSimulator, engine: AsyncEngine
) -> None:
    plain = common_pb2.HashedUserData(
        tiktok=common_pb2.HashedIdentifiers(email="jane@example.com", phone="+4915112345678")
    )
    good = requests("g", 3)
    await (await dispatch()).publish([*good, *requests("x", 2, user_data=plain)])
    await wait_for(lambda: settled(engine, {"confirmed": 3, "failed": 2}), what="settled")
    for request in sim.track_requests():
        body = request.body.decode()
        assert "jane@example.com" not in body and "4915112345678" not in body
    assert await statuses(engine) == {"confirmed": 3, "failed": 2}
    sent = [e.payload["user"]["email"][0] for e in sim.processed()]
    assert sent == [hashlib.sha256(f"g{i}@example.com".encode()).hexdigest() for i in range(3)]
