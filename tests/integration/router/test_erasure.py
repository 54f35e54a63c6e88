"""Erasure against NATS and PostgreSQL: the router forgets what it holds of an erased person."""

from __future__ import annotations

from typing import Any

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.events.v1 import events_pb2 as events
from convhub_sim.base import Fault
from convhub_sim.sgtm import SgtmSimulator
from hubkit.bus import JetStreamPublisher, Outgoing
from router.domain.site import Mode, SgtmSettings, SiteConfig
from tests.support import wait_for

from .conftest import publish_accepted, scalar, scalar_is, sha

LEDGER = "router_sgtm.deliveries"
# The hashed email the test conversions carry (conftest.accepted), as stored in the ledger.
STILL_PERSONAL = (
    f"SELECT count(*) FROM {LEDGER} WHERE conversion_id IN ('c1', 'c2') AND (payload IS NOT NULL "
    f"OR position(convert_to('{sha('a@example.com')}', 'UTF8') in request) > 0)"
)


async def test_erased_conversions_leave_no_payload_and_are_never_sent(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(dispatch_retry_schedule="30")  # a failed try waits 30 s
    await app.sites.upsert(
        SiteConfig("shop", mode=Mode.SGTM, sgtm=SgtmSettings(url=f"{sgtm.url}/data"))
    )
    sgtm.fail_next(1, Fault(status=503))
    await app.start()
    await publish_accepted(js, "shop", ["c1", "c2", "c3"])
    await publish_accepted(js, "parked-site", ["p1", "p2"])
    pending = f"SELECT count(*) FROM {LEDGER} WHERE status = 'pending' AND attempts = 1"
    await wait_for(lambda: scalar_is(engine, pending, 3), what="first try failed")
    await wait_for(
        lambda: scalar_is(engine, "SELECT count(*) FROM router.parked_conversions", 2),
        what="parked",
    )

    assert await scalar(engine, STILL_PERSONAL) == 2  # the query sees what erasure removes
    erased = events.UserErasedBatch(
        site_id="shop",
        items=[events.UserErased(erasure_id="e1", conversion_ids=["c1", "c2", "p1"])],
    )
    await JetStreamPublisher(js).publish(Outgoing("convhub.erasures.shop", erased, "erasure:e1"))
    await wait_for(lambda: scalar_is(engine, STILL_PERSONAL, 0), what="personal data gone")
    assert (
        await scalar(engine, "SELECT string_agg(conversion_id, ',') FROM router.parked_conversions")
        == "p2"
    )
    failed = f"SELECT count(*) FROM {LEDGER} WHERE status = 'failed'"
    assert await scalar(engine, failed) == 2
    # The survivor is still pending and goes out when due; the erased ones never do.
    assert (
        await scalar(engine, f"SELECT conversion_id FROM {LEDGER} WHERE status = 'pending'") == "c3"
    )
