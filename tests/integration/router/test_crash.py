"""kill -9 of the router process mid-load: nothing lost, nothing routed or dispatched twice."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2 as events
from convhub.router.v1 import router_pb2 as rpb
from convhub.router.v1 import router_pb2_grpc
from convhub_sim.sgtm import SgtmSimulator
from hubkit.embedded import free_port
from tests.support import ServiceProcess, wait_for

from .conftest import (
    SECRET,
    Collector,
    direct_site,
    publish_accepted,
    scalar,
    scalar_is,
    sgtm_site,
    token,
)

PER_SITE, BATCH = 3_000, 100
DECIDED = "SELECT count(*) FROM router.routing_decisions"
CONFIRMED = "SELECT count(*) FROM router_sgtm.deliveries WHERE status = 'confirmed'"


class RouterProcess(ServiceProcess):
    def __init__(self, database_url: str, nats_url: str) -> None:
        super().__init__(
            "router",
            {
                **os.environ,
                "CONVHUB_DATABASE_URL": database_url,
                "CONVHUB_NATS_URL": nats_url,
                "CONVHUB_GRPC_PORT": str(free_port()),
                "CONVHUB_JWT_SECRET": SECRET,
                "CONVHUB_LOG_LEVEL": "WARNING",
                "CONVHUB_DISPATCH_RETRY_SCHEDULE": "0.05,0.1,0.1,0.1,0.1",
                "CONVHUB_HTTP_TIMEOUT_SECONDS": "1",
                "CONVHUB_DISPATCH_LEASE_SECONDS": "2",
                "CONVHUB_DISPATCH_LINGER_SECONDS": "0.05",
                "CONVHUB_DISPATCH_RESYNC_SECONDS": "0.5",
                "CONVHUB_RELEASE_INTERVAL_SECONDS": "0.2",
                "CONVHUB_CONSUMER_ACK_WAIT_SECONDS": "2",
            },
        )


@pytest.fixture
def router_process(migrated_db: str, nats_url: str) -> Iterator[RouterProcess]:
    process = RouterProcess(migrated_db, nats_url)
    yield process
    process.stop()


@pytest.fixture
async def slow_sgtm() -> AsyncIterator[SgtmSimulator]:
    async with SgtmSimulator() as simulator:
        simulator.latency = 0.2  # requests are in flight when the process dies
        yield simulator  # type: ignore[misc]


@pytest.mark.slow
async def test_kill_9_mid_load_loses_nothing_and_repeats_nothing(
    router_process: RouterProcess,
    js: JetStreamContext,
    engine: AsyncEngine,
    slow_sgtm: SgtmSimulator,
) -> None:
    await router_process.start()
    async with grpc.aio.insecure_channel(router_process.address) as channel:
        stub: Any = router_pb2_grpc.RouterServiceStub(channel)
        for site in (
            sgtm_site("shop-s", f"{slow_sgtm.url}/data"),
            direct_site("shop-d", meta=True),
        ):
            await stub.UpsertSite(rpb.UpsertSiteRequest(site=site), metadata=token())
    dispatch = await Collector(js, "convhub.dispatch.meta.>", events.DispatchRequestedBatch).start()

    async def publish(site: str, prefix: str) -> None:
        for start in range(0, PER_SITE, BATCH):
            await publish_accepted(js, site, [f"{prefix}{i}" for i in range(start, start + BATCH)])

    await asyncio.gather(publish("shop-s", "s"), publish("shop-d", "d"))
    await wait_for(lambda: _decided_at_least(engine, 1_500), what="load under way")
    router_process.kill()
    decided_at_kill = await scalar(engine, DECIDED)
    assert decided_at_kill < 2 * PER_SITE, "the kill must land mid-load"

    await router_process.start()
    await wait_for(lambda: scalar_is(engine, DECIDED, 2 * PER_SITE), within=60, what="all routed")
    await wait_for(
        lambda: scalar_is(engine, CONFIRMED, PER_SITE),
        within=60,
        what="every sGTM delivery confirmed",
    )
    await wait_for(lambda: len(dispatch.items) >= PER_SITE, within=30, what="dispatched")
    await wait_for(
        lambda: scalar_is(engine, "SELECT count(*) FROM router.outbox", 0), what="outbox drained"
    )

    # Direct: the outbox republishes under the same Nats-Msg-Id, so each delivery exactly once.
    delivery_ids = [i.delivery_id for i in dispatch.items]
    assert len(delivery_ids) == len(set(delivery_ids)) == PER_SITE
    # sGTM: none lost; a request in flight at the kill may reach the container again (HTTP has no
    # dedupe; the event_id lets the container's tags drop it), never more than what was in flight
    # (4 requests of at most 100 events).
    forwarded = slow_sgtm.event_ids()
    assert set(forwarded) == {f"evt-s{i}" for i in range(PER_SITE)}
    assert len(forwarded) - len(set(forwarded)) <= 4 * 100
    await dispatch.stop()


async def _decided_at_least(engine: AsyncEngine, n: int) -> bool:
    return bool(await scalar(engine, DECIDED) >= n)
