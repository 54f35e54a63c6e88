"""Retention against PostgreSQL: old routed decisions go, parked ones stay."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub_sim.sgtm import SgtmSimulator
from router.app.housekeeping import Housekeeping
from router.domain.site import Mode, SgtmSettings, SiteConfig
from tests.support import wait_for

from .conftest import publish_accepted, scalar, scalar_is


async def test_only_old_routed_decisions_are_deleted(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components()
    await app.sites.upsert(
        SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url=f"{sgtm.url}/data"))
    )
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(10)])
    await publish_accepted(js, "unconfigured", ["p1"])  # parked
    confirmed = "SELECT count(*) FROM router_sgtm.deliveries WHERE status = 'confirmed'"
    await wait_for(lambda: scalar_is(engine, confirmed, 10), what="delivered")
    await wait_for(
        lambda: scalar_is(engine, "SELECT count(*) FROM router.parked_conversions", 1),
        what="parked",
    )
    async with engine.begin() as conn:
        old = "now() - interval '40 days'"
        await conn.execute(text(f"UPDATE router.routing_decisions SET decided_at = {old}"))
    deleted = await Housekeeping(app.uow, retention_days=30, batch=3).purge_once()
    assert deleted == 10
    # The parked conversion's decision stays: it is still waiting to be routed.
    assert await scalar(engine, "SELECT conversion_id FROM router.routing_decisions") == "p1"
