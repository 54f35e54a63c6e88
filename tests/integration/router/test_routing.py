"""Routing against real NATS and PostgreSQL: per-site paths, redelivery, parking, bad input."""

from __future__ import annotations

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub_sim.sgtm import SgtmSimulator
from hubkit.bus import JetStreamPublisher, Outgoing
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

DECIDED = "SELECT count(*) FROM router.routing_decisions"


async def test_each_site_takes_its_own_path(
    router_service: RunningRouter, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    await router_service.upsert(sgtm_site("shop-s", f"{sgtm.url}/data"))
    await router_service.upsert(direct_site("shop-d"))
    dispatch = await Collector(js, "convhub.dispatch.>", events.DispatchRequestedBatch).start()
    routed = await Collector(js, "convhub.routed.>", events.ConversionRoutedBatch).start()
    delivery = await Collector(js, "convhub.delivery.sgtm.>", events.DeliveryUpdatedBatch).start()

    await publish_accepted(js, "shop-s", [f"s{i}" for i in range(30)])
    await publish_accepted(js, "shop-d", [f"d{i}" for i in range(20)])

    await wait_for(lambda: len(sgtm.events) == 30, what="30 events at the sGTM container")
    await wait_for(lambda: len(dispatch.items) == 90, what="20 x 3 platforms, 30 to sGTM")
    await wait_for(lambda: len(routed.items) == 50, what="50 routing decisions")
    await wait_for(lambda: len(delivery.items) == 30, what="30 sGTM delivery updates")

    # sGTM: one request carried the batch, hashed user data only, one event per conversion.
    assert sorted(sgtm.event_ids()) == sorted(f"evt-s{i}" for i in range(30))
    assert len(sgtm.platform_requests()) == 1
    body = sgtm.platform_requests()[0].body.decode()
    assert "a@example.com" not in body and "15112345678" not in body
    event = next(e.event for e in sgtm.events if e.event["event_id"] == "evt-s0")
    assert event["event_name"] == "purchase" and event["transaction_id"] == "order-s0"
    assert event["value"] == 129.99 and event["currency"] == "EUR"
    assert event["consent_state"] == {"ad_user_data": True, "ad_personalization": False}
    assert len(event["user_data"]["email_address"]) == 64
    assert {i.status for i in delivery.items} == {common.DELIVERY_STATUS_CONFIRMED}

    # One batch per destination (sGTM's taken by the router's own sGTM dispatcher), items
    # idempotent per conversion and account.
    by_subject = {m.platform: m for m in dispatch.messages}
    assert set(by_subject) == {
        common.PLATFORM_GOOGLE,
        common.PLATFORM_META,
        common.PLATFORM_TIKTOK,
        common.PLATFORM_SGTM,
    }
    to_sgtm = by_subject[common.PLATFORM_SGTM].items[0]
    assert to_sgtm.delivery_id == f"{to_sgtm.conversion_id}:sgtm:{sgtm.url.removeprefix('http://')}"
    assert to_sgtm.conversion.user_data.HasField("google")  # the site's settings pick one
    assert to_sgtm.conversion.user_data.HasField("meta")
    meta = by_subject[common.PLATFORM_META]
    assert meta.site_id == "shop-d" and len(meta.items) == 20
    item = next(i for i in meta.items if i.conversion_id == "d3")
    assert item.delivery_id == "d3:meta:987654321"
    assert item.target.account_id == "987654321" and item.target.credentials_ref == "shop-meta"
    assert item.config_revision == 1 and item.trace.traceparent
    assert item.conversion.user_data.HasField("meta")
    assert not item.conversion.user_data.HasField("google")  # other platforms' hashes left out
    google = next(i for i in by_subject[common.PLATFORM_GOOGLE].items if i.conversion_id == "d3")
    assert google.target.conversion_action == "customers/1234567890/conversionActions/77"

    decisions = {i.conversion_id: i for i in routed.items}
    assert decisions["s1"].mode == common.ATTRIBUTION_MODE_SGTM
    assert [(d.platform, d.account_id) for d in decisions["s1"].destinations] == [
        (common.PLATFORM_SGTM, sgtm.url.removeprefix("http://"))
    ]
    assert decisions["d1"].mode == common.ATTRIBUTION_MODE_DIRECT
    assert len(decisions["d1"].destinations) == 3
    assert all(m for m in dispatch.msg_ids) and len(set(dispatch.msg_ids)) == 4
    for collector in (dispatch, routed, delivery):
        await collector.stop()


async def test_a_redelivered_batch_is_not_routed_twice(
    router_service: RunningRouter, js: JetStreamContext, engine: AsyncEngine
) -> None:
    await router_service.upsert(direct_site("shop-d", meta=True))
    dispatch = await Collector(js, "convhub.dispatch.>", events.DispatchRequestedBatch).start()
    routed = await Collector(js, "convhub.routed.>", events.ConversionRoutedBatch).start()
    ids = [f"c{i}" for i in range(50)]
    await publish_accepted(js, "shop-d", ids, msg_id="relay-1")
    await wait_for(lambda: len(dispatch.items) == 50, what="first delivery routed")

    # The same conversions again, as a relay retrying after the stream's dedupe window would,
    # and overlapping with new ones: only the new ones are routed.
    await publish_accepted(js, "shop-d", ids, msg_id="relay-1-again")
    await publish_accepted(js, "shop-d", [*ids[:10], "new-1", "new-2"], msg_id="relay-2")
    await wait_for(lambda: len(dispatch.items) == 52, what="the two new conversions")
    await wait_for(
        lambda: scalar_is(engine, "SELECT count(*) FROM router.outbox", 0), what="outbox drained"
    )
    delivery_ids = [i.delivery_id for i in dispatch.items]
    assert len(delivery_ids) == len(set(delivery_ids)) == 52
    assert len(routed.items) == 52
    assert await scalar(engine, DECIDED) == 52
    await dispatch.stop()
    await routed.stop()


async def test_parked_conversions_flow_once_the_configuration_is_fixed(
    router_service: RunningRouter, js: JetStreamContext, engine: AsyncEngine
) -> None:
    routed = await Collector(js, "convhub.routed.>", events.ConversionRoutedBatch).start()
    dispatch = await Collector(js, "convhub.dispatch.>", events.DispatchRequestedBatch).start()
    await publish_accepted(js, "shop-p", [f"p{i}" for i in range(40)])  # no configuration yet
    await wait_for(lambda: len(routed.items) == 40, what="40 parked decisions")
    assert {(i.parked, i.parked_reason, i.config_revision) for i in routed.items} == {
        (True, common.PARK_REASON_NO_SITE_CONFIG, 0)
    }

    no_destination = direct_site("shop-p", meta=False)
    await router_service.upsert(no_destination)
    await publish_accepted(js, "shop-p", [f"q{i}" for i in range(10)])
    await wait_for(lambda: len(routed.items) == 50, what="10 more parked")
    assert routed.items[-1].parked_reason == common.PARK_REASON_NO_USABLE_DESTINATION
    assert await scalar(engine, "SELECT count(*) FROM router.parked_conversions") == 50

    await router_service.upsert(direct_site("shop-p", meta=True))  # revision 2: usable
    await wait_for(lambda: len(dispatch.items) == 50, what="every parked conversion released")
    assert await scalar(engine, "SELECT count(*) FROM router.parked_conversions") == 0
    released = [i for i in routed.items if not i.parked]
    assert len(released) == 50 and {i.config_revision for i in released} == {2}
    assert sorted(i.conversion_id for i in dispatch.items) == sorted(
        [f"p{i}" for i in range(40)] + [f"q{i}" for i in range(10)]
    )
    await routed.stop()
    await dispatch.stop()


async def test_bad_input_never_takes_good_input_down(
    router_service: RunningRouter, js: JetStreamContext, engine: AsyncEngine
) -> None:
    await router_service.upsert(direct_site("shop-d", meta=True))
    dispatch = await Collector(js, "convhub.dispatch.>", events.DispatchRequestedBatch).start()
    publisher = JetStreamPublisher(js)
    await publisher.publish(
        Outgoing("convhub.conversions.accepted.shop-d", b"\xff\x00garbage", "bad-1")
    )
    mixed = events.ConversionAcceptedBatch(site_id="shop-d")
    mixed.items.append(events.ConversionAccepted())  # no conversion id
    foreign = mixed.items.add()
    foreign.conversion.conversion_id, foreign.conversion.site_id = "x1", "other-site"
    good = mixed.items.add()
    good.conversion.conversion_id, good.conversion.event_type = "ok-1", "purchase"
    await publisher.publish(Outgoing("convhub.conversions.accepted.shop-d", mixed, "mixed-1"))
    await publish_accepted(js, "shop-d", ["ok-2"])
    await wait_for(lambda: len(dispatch.items) == 2, what="the good items routed")
    assert sorted(i.conversion_id for i in dispatch.items) == ["ok-1", "ok-2"]
    assert await scalar(engine, DECIDED) == 2
    # The undecodable message was terminated, not redelivered forever.
    info = await js.consumer_info("CONVHUB_CONVERSIONS", "router")
    await wait_for(lambda: _no_pending(js), what="nothing left unacknowledged")
    assert info.config.durable_name == "router"
    await dispatch.stop()


async def _no_pending(js: JetStreamContext) -> bool:
    info = await js.consumer_info("CONVHUB_CONVERSIONS", "router")
    return info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_mode_hint_that_disagrees_is_recorded(
    router_service: RunningRouter, js: JetStreamContext, engine: AsyncEngine
) -> None:
    await router_service.upsert(direct_site("shop-d", meta=True))
    routed = await Collector(js, "convhub.routed.>", events.ConversionRoutedBatch).start()
    await publish_accepted(js, "shop-d", ["h1"], mode_hint=common.ATTRIBUTION_MODE_SGTM)
    await publish_accepted(js, "shop-d", ["h2"], mode_hint=common.ATTRIBUTION_MODE_DIRECT)
    await wait_for(lambda: len(routed.items) == 2, what="two decisions")
    assert {i.conversion_id: i.mode_mismatch for i in routed.items} == {"h1": True, "h2": False}
    assert {i.mode for i in routed.items} == {common.ATTRIBUTION_MODE_DIRECT}
    assert (
        await scalar(engine, "SELECT count(*) FROM router.routing_decisions WHERE mode_mismatch")
        == 1
    )
    await routed.stop()
