"""A site switched from sGTM to direct while 10,000 conversions flow: each goes one way, once."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2 as events
from convhub_sim.sgtm import SgtmSimulator
from tests.support import wait_for

from .conftest import (
    Collector,
    RunningRouter,
    direct_site,
    publish_accepted,
    scalar,
    scalar_is,
    sgtm_site,
)

TOTAL, BATCH = 10_000, 100
DECIDED = "SELECT count(*) FROM router.routing_decisions"
DECISIONS = "SELECT conversion_id, mode, config_revision, parked FROM router.routing_decisions"


async def test_mode_switch_mid_flow_routes_each_conversion_exactly_once(
    router_service: RunningRouter, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    await router_service.upsert(sgtm_site("shop", f"{sgtm.url}/data"))
    dispatch = await Collector(
        js, "convhub.dispatch.meta.shop", events.DispatchRequestedBatch
    ).start()
    ids = [f"c{i:05d}" for i in range(TOTAL)]
    batches = [ids[i : i + BATCH] for i in range(0, TOTAL, BATCH)]

    for batch in batches[:30]:
        await publish_accepted(js, "shop", batch)
    await wait_for(lambda: _at_least(engine, 1_000), what="the first conversions routed")

    async def publish_the_rest() -> None:
        for batch in batches[30:]:
            await publish_accepted(js, "shop", batch)

    rest = asyncio.create_task(publish_the_rest())
    switched = await router_service.upsert(direct_site("shop", meta=True))  # while it flows
    assert switched.site.revision == 2
    await rest

    await wait_for(lambda: scalar_is(engine, DECIDED, TOTAL), within=60, what="all decided")
    async with engine.connect() as conn:
        rows = (await conn.execute(text(DECISIONS))).all()
    by_mode = {"sgtm": set(), "direct": set()}
    for conversion_id, mode, revision, parked in rows:
        assert not parked
        assert (mode, revision) in {("sgtm", 1), ("direct", 2)}  # the mode of its revision
        by_mode[mode].add(conversion_id)
    sgtm_ids, direct_ids = by_mode["sgtm"], by_mode["direct"]
    assert sgtm_ids and direct_ids, "the switch must land in the middle of the flow"

    # What actually left on each path, counted where it arrived.
    await wait_for(lambda: len(dispatch.items) >= len(direct_ids), within=30, what="dispatch")
    await wait_for(lambda: len(sgtm.events) >= len(sgtm_ids), within=60, what="sGTM events")
    await wait_for(
        lambda: scalar_is(
            engine, "SELECT count(*) FROM router_sgtm.deliveries WHERE status <> 'confirmed'", 0
        ),
        within=30,
        what="ledger settled",
    )
    dispatched = [i.conversion_id for i in dispatch.items]
    forwarded = [e.event["conversion_id"] for e in sgtm.events]
    assert len(dispatched) == len(set(dispatched)) == len(direct_ids)
    assert len(forwarded) == len(set(forwarded)) == len(sgtm_ids)
    assert set(dispatched) == direct_ids and set(forwarded) == sgtm_ids
    assert len(dispatched) + len(forwarded) == TOTAL
    assert set(dispatched).isdisjoint(forwarded)
    assert set(dispatched) | set(forwarded) == set(ids)
    await dispatch.stop()


async def _at_least(engine: AsyncEngine, n: int) -> bool:
    return bool(await scalar(engine, DECIDED) >= n)
