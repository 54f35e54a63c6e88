"""Routing throughput for `make bench`: a backlog of accepted conversions, routed flat out.

Runs on its own embedded PostgreSQL and NATS and an in-process sGTM simulator. Each path gets a
backlog (batches of 100, as ingest's relay publishes them); the router works it for at most
`seconds` per stage: routing (decisions committed with their outputs, published by the outbox
relay: three dispatch requests each for direct, one sGTM dispatch request for sGTM), then, for
sGTM, the router's sGTM dispatcher delivering them (intake, batching, POST, ledger settled).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub_sim.sgtm import SgtmSimulator
from hubkit.bus import JetStreamPublisher, Outgoing, connect
from hubkit.db import make_engine
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres
from router.config import Settings
from router.domain.site import (
    Destinations,
    GoogleDestination,
    MetaDestination,
    Mode,
    SgtmSettings,
    SiteConfig,
    TikTokDestination,
)
from router.main import build, http_client
from router.migrate import migrate

BATCH = 100
DECIDED = "SELECT count(*) FROM router.routing_decisions"
CONFIRMED = "SELECT count(*) FROM router_sgtm.deliveries WHERE status = 'confirmed'"
OUTBOX = "SELECT count(*) FROM router.outbox"
HASH = "a" * 64
DIRECT = SiteConfig(
    "bench-direct",
    mode=Mode.DIRECT,
    destinations=Destinations(
        google=GoogleDestination(
            enabled=True,
            customer_id="1234567890",
            conversion_actions={"purchase": "customers/1234567890/conversionActions/1"},
            credentials_ref="bench-google",
        ),
        meta=MetaDestination(enabled=True, pixel_id="123456789", credentials_ref="bench-meta"),
        tiktok=TikTokDestination(enabled=True, pixel_code="CBENCH0001", credentials_ref="bench-tt"),
    ),
)


async def run(seconds: float) -> dict[str, float]:
    """{figure: value}: conversions per second, per path and stage."""
    pg, nats = EmbeddedPostgres(), EmbeddedNats()
    await asyncio.gather(asyncio.to_thread(pg.start), asyncio.to_thread(nats.start))
    try:
        direct, _ = await _measure(pg, nats, seconds, sgtm=False)
        sgtm_routed, sgtm_forwarded = await _measure(pg, nats, seconds, sgtm=True)
    finally:
        await asyncio.gather(asyncio.to_thread(pg.close), asyncio.to_thread(nats.close))
    return {
        # decided, recorded, and every dispatch request published (three platforms each)
        "router_direct_conversions_per_s": direct,
        # decided, recorded, and the sGTM dispatch request published
        "router_sgtm_routed_per_s": sgtm_routed,
        # taken in by the sGTM dispatcher, posted to the container (100 per request), confirmed
        "router_sgtm_forwarded_per_s": sgtm_forwarded,
    }


async def _measure(
    pg: EmbeddedPostgres, nats: EmbeddedNats, seconds: float, *, sgtm: bool
) -> tuple[float, float]:
    """(routing rate, forwarding rate): routing first with the sGTM dispatcher idle, then
    forwarding what was routed, so each figure is that stage's own."""
    name = "sgtm" if sgtm else "direct"
    database_url = await asyncio.to_thread(pg.create_database, f"bench_{name}")
    await asyncio.to_thread(migrate, database_url)
    settings = Settings(
        database_url=database_url,
        nats_url=nats.url,
        dev_no_auth=True,
    )
    nc = await connect(nats.url, name="router-bench")
    js = nc.jetstream()
    engine = make_engine(database_url)
    http = http_client(settings)
    async with SgtmSimulator() as simulator:
        app = build(settings, engine, js, http)
        await app.declare()
        site = (
            SiteConfig(
                f"bench-{name}", mode=Mode.SGTM, sgtm=SgtmSettings(url=f"{simulator.url}/data")
            )
            if sgtm
            else replace(DIRECT, site_id=f"bench-{name}")
        )
        await app.sites.upsert(site)
        total = await _backlog(js, site.site_id, seconds)
        started = time.perf_counter()
        await app.relay.start()
        await app.consumer.start()
        routed = await _until(engine, DECIDED, total, started + seconds, drain_outbox=True)
        routing_rate = routed / (time.perf_counter() - started)
        await app.consumer.stop()
        forwarding_rate = 0.0
        if sgtm:
            started = time.perf_counter()
            for worker in app.sgtm.workers():
                await worker.start()
            forwarded = await _until(engine, CONFIRMED, routed, started + seconds)
            forwarding_rate = forwarded / (time.perf_counter() - started)
        await app.stop()
    await app.sgtm.adapter.close()
    await engine.dispose()
    await nc.drain()
    return round(routing_rate, 1), round(forwarding_rate, 1)


async def _backlog(js: Any, site_id: str, seconds: float) -> int:
    """Enough accepted conversions that the router cannot run dry within `seconds`."""
    publisher = JetStreamPublisher(js)
    template = _batch(site_id)
    total = int(max(seconds, 1) * 8_000) // BATCH * BATCH
    for n in range(total // BATCH):
        batch = events.ConversionAcceptedBatch()
        batch.CopyFrom(template)
        for i, item in enumerate(batch.items):
            item.conversion.conversion_id = f"{site_id}-{n}-{i}"
            item.conversion.order_id = f"o-{n}-{i}"
        await publisher.publish(
            Outgoing(f"convhub.conversions.accepted.{site_id}", batch, f"bench-{site_id}-{n}")
        )
    return total


def _batch(site_id: str) -> events.ConversionAcceptedBatch:
    batch = events.ConversionAcceptedBatch(site_id=site_id)
    for _ in range(BATCH):
        c = batch.items.add().conversion
        c.site_id, c.event_type, c.value, c.currency = site_id, "purchase", "19.99", "EUR"
        c.user_data.google.email = c.user_data.meta.email = c.user_data.tiktok.email = HASH
        c.client_ip, c.user_agent, c.visitor_id = "203.0.113.1", "Mozilla/5.0", "visitor-1"
        c.consent.ad_user_data = common.CONSENT_STATUS_GRANTED
        c.event_time.FromDatetime(datetime.now(UTC))
    return batch


async def _until(
    engine: AsyncEngine, sql: str, total: int, deadline: float, *, drain_outbox: bool = False
) -> int:
    """Count done work until all of it is done (and the outbox empty) or time is up."""
    done = 0
    while time.perf_counter() < deadline:
        async with engine.connect() as conn:
            done = int((await conn.execute(text(sql))).scalar_one())
            left = int((await conn.execute(text(OUTBOX))).scalar_one()) if drain_outbox else 0
        if done >= total and left == 0:
            break
        await asyncio.sleep(0.02)
    return done


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        print(asyncio.run(run(10.0)))
