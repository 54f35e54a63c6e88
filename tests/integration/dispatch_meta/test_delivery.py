"""dispatch-meta end to end against real NATS, PostgreSQL and the Meta simulator."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable

import orjson
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub_sim.meta import MetaSimulator
from hubkit.dispatch.testing import dispatch_request
from tests.support import wait_for

from .conftest import SCHEMA, Factory, consumed, read_items, statuses

PRICE = {"value": "19.99", "currency": "EUR"}  # Meta refuses a Purchase without a currency


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hashed(n: int) -> common_pb2.HashedUserData:
    return common_pb2.HashedUserData(
        meta=common_pb2.HashedIdentifiers(
            email=sha(f"user{n}@example.com"), phone=sha("16505551212")
        )
    )


async def test_2500_events_go_out_in_3_requests(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    harness = await dispatch(linger=2.0)
    requests = [
        dispatch_request(f"c{i}", user_data=hashed(i), action_source=7, **PRICE)
        for i in range(2500)
    ]
    await harness.publish(requests)

    await wait_for(lambda: len(sim.processed()) == 2500, what="2,500 events at Meta")
    sizes = [len(body["data"]) for body in sim.event_requests()]
    assert sorted(sizes) == [500, 1000, 1000]
    await wait_for(lambda: _equals(statuses(engine), {"confirmed": 2500}), what="ledger settled")
    assert not sim.duplicates()

    async def all_announced() -> bool:
        items = await read_items(js, "convhub.delivery.meta.>", events_pb2.DeliveryUpdatedBatch)
        return len(items) >= 2500

    await wait_for(all_announced, what="2,500 DeliveryUpdated")
    updates = await read_items(js, "convhub.delivery.meta.>", events_pb2.DeliveryUpdatedBatch)
    assert {u.delivery_id for u in updates} == {r.delivery_id for r in requests}
    assert {u.status for u in updates} == {common_pb2.DELIVERY_STATUS_CONFIRMED}
    assert all(u.attempts == 1 and u.batch_id and u.sequence == 1 for u in updates)


async def test_redelivered_dispatch_requests_are_sent_once(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    harness = await dispatch()
    requests = [
        dispatch_request(f"r{i}", user_data=hashed(i), action_source=7, **PRICE) for i in range(50)
    ]
    await harness.publish(requests)
    await wait_for(lambda: len(sim.processed()) == 50, what="first delivery")
    await harness.publish(requests)  # the router republishing (new Nats-Msg-Ids)
    await harness.publish(requests[:10])
    await wait_for(lambda: consumed(js, harness), what="republished messages consumed")
    assert len(sim.received) == 50 and not sim.duplicates()
    assert await statuses(engine) == {"confirmed": 50}


async def test_each_event_is_mapped_at_intake_and_sent_as_kept(
    dispatch: Factory, sim: MetaSimulator, engine: AsyncEngine
) -> None:
    harness = await dispatch()
    requests = [
        dispatch_request(f"m{i}", user_data=hashed(i), action_source=7, **PRICE) for i in range(20)
    ]
    await harness.publish(requests)
    await wait_for(lambda: len(sim.processed()) == 20, what="20 events at Meta")
    sent = {e["event_id"]: e for body in sim.event_requests() for e in body["data"]}
    async with engine.connect() as conn:
        kept = (await conn.execute(text(f"SELECT payload FROM {SCHEMA}.deliveries"))).all()
    assert len(kept) == 20
    for (payload,) in kept:  # the bytes kept with each delivery at intake are what Meta got
        event = orjson.loads(payload)
        assert sent[event["event_id"]] == event


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected
