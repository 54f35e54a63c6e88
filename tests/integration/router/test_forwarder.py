"""The sGTM forwarder against the simulator, PostgreSQL and NATS: retries, dead letters, crashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub_sim.base import Fault
from convhub_sim.sgtm import SgtmSimulator
from router.domain.site import Mode, SgtmFormat, SgtmSettings, SiteConfig

from .conftest import Collector, publish_accepted, scalar, scalar_is, wait_until

PENDING = "SELECT count(*) FROM router.sgtm_deliveries WHERE status = 'pending'"


def status_count(status: str) -> str:
    return f"SELECT count(*) FROM router.sgtm_deliveries WHERE status = '{status}'"


async def configure(app: Any, site_id: str, url: str, **sgtm: Any) -> None:
    await app.sites.upsert(SiteConfig(site_id, mode=Mode.SGTM, sgtm=SgtmSettings(url=url, **sgtm)))


async def test_retries_through_a_429_storm_and_delivers_once(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(sgtm_retry_schedule=tuple(["0.05"] * 10), sgtm_breaker_failures=100)
    await configure(app, "shop", f"{sgtm.url}/data", max_batch_events=10)
    updates = await Collector(js, "convhub.delivery.sgtm.shop", events.DeliveryUpdatedBatch).start()
    sgtm.fail_next(8, Fault(status=429, body={"error": "slow down"}, headers={"Retry-After": "0"}))
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(30)])

    await wait_until(lambda: len(sgtm.events) == 30, what="every event through the storm")
    await wait_until(lambda: scalar_is(engine, status_count("confirmed"), 30), what="confirmed")
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(30))  # once each
    statuses = [r.status for r in sgtm.platform_requests()]
    assert statuses.count(429) == 8 and statuses.count(200) == 3
    retried = await scalar(engine, "SELECT count(*) FROM router.sgtm_deliveries WHERE attempts > 1")
    assert retried > 0

    await wait_until(lambda: _last_status_per_delivery(updates, 30), what="status updates")
    history: dict[str, list[tuple[int, int]]] = {}
    for item in updates.items:
        history.setdefault(item.delivery_id, []).append((item.sequence, item.status))
    for steps in history.values():
        assert [s for s, _ in steps] == list(range(1, len(steps) + 1))  # never backwards
        assert steps[-1][1] == common.DELIVERY_STATUS_CONFIRMED
        assert all(status == common.DELIVERY_STATUS_PENDING for _, status in steps[:-1])
    throttled = next(i for i in updates.items if i.status == common.DELIVERY_STATUS_PENDING)
    assert throttled.error_class == common.ERROR_CLASS_THROTTLE and throttled.platform_code == "429"
    await updates.stop()


def _last_status_per_delivery(updates: Collector, n: int) -> bool:
    confirmed = {
        i.delivery_id for i in updates.items if i.status == common.DELIVERY_STATUS_CONFIRMED
    }
    return len(confirmed) == n


async def test_retry_after_is_honoured(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components()
    await configure(app, "shop", f"{sgtm.url}/data")
    sgtm.fail_next(1, Fault(status=429, headers={"Retry-After": "1"}))
    await app.start()
    await publish_accepted(js, "shop", ["c1"])
    await wait_until(lambda: len(sgtm.events) == 1, what="delivered after the wait")
    first, second = sgtm.platform_requests()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9  # the schedule alone would have retried after 0.05 s


async def test_dead_letters_after_the_last_attempt(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(sgtm_retry_schedule=("0.05", "0.05", "0.05"), sgtm_breaker_failures=100)
    await configure(app, "shop", f"{sgtm.url}/data")
    letters = await Collector(js, "convhub.deadletter.sgtm.shop", events.DeadLetteredBatch).start()
    updates = await Collector(js, "convhub.delivery.sgtm.shop", events.DeliveryUpdatedBatch).start()
    sgtm.fail_next(100, Fault(status=503))
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(5)])

    await wait_until(lambda: len(letters.items) == 5, what="5 dead letters")
    assert len(sgtm.platform_requests()) == 4  # one batch: the first try and three retries
    assert await scalar(engine, status_count("dead")) == 5
    letter = letters.items[0]
    assert letter.attempts == 4 and letter.error_class == common.ERROR_CLASS_TRANSIENT
    assert letter.platform_code == "503" and "gave up after 4 attempt" in letter.reason
    assert letter.destination.platform == common.PLATFORM_SGTM
    assert letter.request.conversion.conversion_id == letter.conversion_id  # replayable alone
    await wait_until(
        lambda: sum(i.status == common.DELIVERY_STATUS_DEAD for i in updates.items) == 5,
        what="DEAD status updates",
    )
    await letters.stop()
    await updates.stop()


async def test_a_crash_mid_request_loses_nothing_and_settled_work_is_not_resent(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    first = await components(sgtm_http_timeout=1.0, sgtm_lease_seconds=1.5)
    await configure(first, "shop", f"{sgtm.url}/data")
    sgtm.fail_next(1, Fault(status=503, delay=2.0))  # the container hangs on the 1st request
    await first.declare()
    await first.relay.start()
    await first.consumer.start()
    await first.forwarder.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(20)])
    await wait_until(lambda: len(sgtm.platform_requests()) == 1, what="the request in flight")

    # The forwarder dies with the request in flight: nothing recorded, the lease still held.
    for task in [*first.forwarder._tasks, *first.forwarder._deliveries]:
        task.cancel()
    assert await scalar(engine, PENDING) == 20

    second = await components(sgtm_http_timeout=1.0, sgtm_lease_seconds=1.5)
    await second.forwarder.start()  # a new process: picks the deliveries up once the lease expires
    await wait_until(lambda: scalar_is(engine, status_count("confirmed"), 20), what="re-sent")
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(20))  # each once

    third = await components()
    assert await third.forwarder.run_once() == 0  # confirmed work is never claimed again
    assert (
        await scalar(
            engine, "SELECT count(*) FROM router.sgtm_deliveries WHERE payload IS NOT NULL"
        )
        == 0
    )
    await first.consumer.stop()
    await first.relay.stop()


async def test_a_slow_container_holds_up_neither_routing_nor_other_containers(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(sgtm_http_timeout=5.0, sgtm_lease_seconds=10.0)
    async with SgtmSimulator() as fast:
        await configure(app, "slow", f"{sgtm.url}/data", max_batch_events=10)
        await configure(app, "fast", f"{fast.url}/data")
        sgtm.latency = 3.0
        await app.start()
        await publish_accepted(js, "slow", [f"s{i}" for i in range(200)])
        await publish_accepted(js, "fast", [f"f{i}" for i in range(50)])
        await wait_until(
            lambda: scalar_is(engine, "SELECT count(*) FROM router.routing_decisions", 250),
            within=10,
            what="everything routed",
        )
        await wait_until(lambda: len(fast.events) == 50, within=10, what="the fast container")
        # 20 requests of 3 s, 4 at a time, need 15 s: the slow host is still busy.
        assert len(sgtm.events) < 200
        assert await scalar(engine, PENDING) > 0
        sgtm.latency = 0.0


async def test_ga4_mp_with_secrets_from_the_credentials_directory(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "shop-mp-secret").write_text("mp-secret-value\n")
    (tmp_path / "shop-header").write_text("header-secret")
    sgtm.api_secret = "mp-secret-value"
    sgtm.auth_header, sgtm.auth_value = "x-convhub-auth", "header-secret"
    app = await components(credentials_dir=tmp_path)
    await configure(
        app,
        "shop",
        sgtm.url,
        format=SgtmFormat.GA4_MP,
        measurement_id="G-TEST1234",
        api_secret_ref="shop-mp-secret",
        auth_header_name="x-convhub-auth",
        auth_secret_ref="shop-header",
        preview_header="ZW52LTV8cHJldmlldw==",
    )
    await app.start()
    await publish_accepted(js, "shop", ["m1", "m2"], event_type="lead")
    await wait_until(lambda: len(sgtm.events) == 2, what="two MP events")
    received = sgtm.events[0]
    assert received.format == "ga4_mp" and received.event["name"] == "generate_lead"
    assert received.request["client_id"].startswith("visitor-")
    assert len(received.request["user_data"]["sha256_email_address"][0]) == 64
    assert received.request["consent"] == {
        "ad_user_data": "GRANTED",
        "ad_personalization": "DENIED",
    }
    assert received.headers["x-gtm-server-preview"] == "ZW52LTV8cHJldmlldw=="
    request = sgtm.platform_requests()[0]
    assert request.path == "/mp/collect" and request.query["measurement_id"] == "G-TEST1234"
    assert sgtm.rejections == []


async def test_a_missing_credentials_file_dead_letters_without_sending(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine, tmp_path: Path
) -> None:
    app = await components(credentials_dir=tmp_path)
    await configure(
        app, "shop", f"{sgtm.url}/data", auth_header_name="x-auth", auth_secret_ref="absent"
    )
    letters = await Collector(js, "convhub.deadletter.sgtm.shop", events.DeadLetteredBatch).start()
    await app.start()
    await publish_accepted(js, "shop", ["c1"])
    await wait_until(lambda: len(letters.items) == 1, what="dead letter")
    assert letters.items[0].error_class == common.ERROR_CLASS_CONFIG
    assert "absent" in letters.items[0].reason and sgtm.platform_requests() == []
    async with engine.connect() as conn:
        attempts = (
            await conn.execute(text("SELECT attempts FROM router.sgtm_deliveries"))
        ).scalar()
    assert attempts == 0
    await letters.stop()
