"""The router's sGTM dispatcher: the one dispatch engine with the sGTM adapter, against the sGTM
simulator, PostgreSQL and NATS: throttles, dead letters, crashes, secrets, DispatchService."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from convhub.events.v1 import events_pb2 as events
from convhub_sim.base import Fault
from convhub_sim.sgtm import SgtmSimulator
from hubkit.grpcx import GrpcServer, ServiceInterceptor, serving
from router.domain.site import Mode, SgtmFormat, SgtmSettings, SiteConfig
from tests.support import wait_for

from .conftest import SECRET, Collector, publish_accepted, scalar, scalar_is, token

LEDGER = "router_sgtm.deliveries"


def status_count(status: str) -> str:
    return f"SELECT count(*) FROM {LEDGER} WHERE status = '{status}'"


async def configure(app: Any, site_id: str, url: str, **sgtm: Any) -> None:
    await app.sites.upsert(SiteConfig(site_id, mode=Mode.SGTM, sgtm=SgtmSettings(url=url, **sgtm)))


async def test_a_429_storm_is_waited_out_uncharged_and_each_event_delivered_once(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(dispatch_breaker_failures=100)
    await configure(app, "shop", f"{sgtm.url}/data", max_batch_events=10)
    updates = await Collector(js, "convhub.delivery.sgtm.shop", events.DeliveryUpdatedBatch).start()
    sgtm.fail_next(8, Fault(status=429, body={"error": "slow down"}, headers={"Retry-After": "0"}))
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(30)])

    await wait_for(lambda: len(sgtm.events) == 30, what="every event through the storm")
    await wait_for(lambda: scalar_is(engine, status_count("confirmed"), 30), what="confirmed")
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(30))  # once each
    statuses = [r.status for r in sgtm.platform_requests()]
    assert statuses.count(429) == 8 and statuses.count(200) == 3
    # Throttled requests charge nothing: every delivery took exactly one counted attempt.
    assert await scalar(engine, f"SELECT max(attempts) + max(failures) FROM {LEDGER}") == 1

    await wait_for(lambda: _confirmed(updates) == 30, what="status updates")
    for steps in _history(updates).values():
        assert [s for s, _ in steps] == list(range(1, len(steps) + 1))  # never backwards
        assert steps[-1][1] == common.DELIVERY_STATUS_CONFIRMED
    await updates.stop()


async def test_a_413_halves_the_hosts_batches_and_resends_untried(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components()
    await configure(app, "shop", f"{sgtm.url}/data", max_batch_events=40)
    sgtm.fail_next(1, Fault(status=413, body={"error": "too large"}))
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(40)])
    await wait_for(lambda: scalar_is(engine, status_count("confirmed"), 40), what="confirmed")
    sizes = [len(r.json()) for r in sgtm.platform_requests()]
    assert sizes[0] == 40 and max(sizes[1:]) == 20  # halved, then the same events again
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(40))
    assert await scalar(engine, f"SELECT max(attempts) FROM {LEDGER}") == 1  # 413: uncharged


async def test_deliveries_are_visible_and_replayable_through_dispatch_service(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(dispatch_breaker_failures=100, dispatch_retry_horizon_seconds=0.01)
    await configure(app, "shop", f"{sgtm.url}/data")
    letters = await Collector(js, "convhub.deadletter.sgtm.shop", events.DeadLetteredBatch).start()
    sgtm.fail_next(1, Fault(status=503))
    await app.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(5)])
    await wait_for(lambda: len(letters.items) == 5, what="5 dead letters")
    letter = letters.items[0]
    assert letter.error_class == common.ERROR_CLASS_TRANSIENT and letter.platform_code == "503"
    assert letter.destination.platform == common.PLATFORM_SGTM
    assert "retry horizon" in letter.reason
    assert letter.request.conversion.conversion_id == letter.conversion_id  # replayable alone

    server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
    app.sgtm.servicer.register(server)
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
        listed = await stub.ListDeadLetters(dispatch_pb2.ListDeadLettersRequest(), metadata=token())
        assert listed.total_count == 5
        assert {d.platform for d in listed.dead_letters} == {common.PLATFORM_SGTM}
        replay = await stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(filter=dispatch_pb2.DeadLetterFilter()),
            metadata=token(),
        )
        assert (replay.matched, replay.replayed) == (5, 5)
        await wait_for(lambda: scalar_is(engine, status_count("confirmed"), 5), what="replayed")
        delivery = await stub.GetDelivery(
            dispatch_pb2.GetDeliveryRequest(conversion_id="c3"), metadata=token()
        )
        (only,) = delivery.deliveries
        assert only.state.status == common.DELIVERY_STATUS_CONFIRMED
        assert [a.http_status for a in only.history] == [503, 200]
        batch = await stub.GetBatch(
            dispatch_pb2.GetBatchRequest(batch_id=only.state.batch_id), metadata=token()
        )
        assert batch.batch.status == dispatch_pb2.BATCH_STATUS_SUCCEEDED
        assert batch.batch.platform == common.PLATFORM_SGTM
        stats = await stub.GetStats(dispatch_pb2.GetStatsRequest(), metadata=token())
        assert stats.platform == common.PLATFORM_SGTM
        assert (stats.confirmed, stats.dead_lettered, stats.backlog) == (5, 5, 0)
        assert [a.account_id for a in stats.accounts] == [sgtm.url.split("//")[1]]
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(5))
    await letters.stop()


async def test_a_crash_mid_request_loses_nothing_and_settled_work_is_not_resent(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    first = await components(http_timeout_seconds=1.0, dispatch_lease_seconds=1.5)
    await configure(first, "shop", f"{sgtm.url}/data")
    sgtm.fail_next(1, Fault(status=503, delay=2.0))  # the container hangs on the 1st request
    await first.start()
    await publish_accepted(js, "shop", [f"c{i}" for i in range(20)])
    await wait_for(lambda: len(sgtm.platform_requests()) == 1, what="the request in flight")

    # The dispatcher dies with the request in flight: nothing recorded, the lease still held.
    dispatcher = first.sgtm.dispatcher
    dispatcher._stopping = True
    for task in [dispatcher._loop_task, dispatcher._keeper_task, *dispatcher._tasks]:
        if task is not None:
            task.cancel()
    await first.sgtm.consumer.stop()
    assert await scalar(engine, status_count("sending")) == 20

    second = await components(http_timeout_seconds=1.0, dispatch_lease_seconds=1.5)
    for worker in second.sgtm.workers():  # a new process: the deliveries come back at lease end
        await worker.start()
    await wait_for(lambda: scalar_is(engine, status_count("confirmed"), 20), what="re-sent")
    assert sorted(sgtm.event_ids()) == sorted(f"evt-c{i}" for i in range(20))  # each once


async def test_a_slow_container_holds_up_neither_routing_nor_other_containers(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine
) -> None:
    app = await components(http_timeout_seconds=5.0, dispatch_lease_seconds=10.0)
    async with SgtmSimulator() as fast:
        await configure(app, "slow", f"{sgtm.url}/data", max_batch_events=10)
        await configure(app, "fast", f"{fast.url}/data")
        sgtm.latency = 3.0
        await app.start()
        await publish_accepted(js, "slow", [f"s{i}" for i in range(200)])
        await publish_accepted(js, "fast", [f"f{i}" for i in range(50)])
        await wait_for(
            lambda: scalar_is(engine, "SELECT count(*) FROM router.routing_decisions", 250),
            within=10,
            what="everything routed",
        )
        await wait_for(lambda: len(fast.events) == 50, within=10, what="the fast container")
        # 20 requests of 3 s, at most 4 at a time, need 15 s: the slow host is still busy.
        assert len(sgtm.events) < 200
        assert await scalar(engine, f"SELECT count(*) FROM {LEDGER} WHERE status <> 'confirmed'")
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
    await publish_accepted(js, "shop", [f"m{i}" for i in range(30)], event_type="lead")
    await wait_for(lambda: len(sgtm.events) == 30, what="thirty MP events")
    received = sgtm.events[0]
    assert received.format == "ga4_mp" and received.event["name"] == "generate_lead"
    assert received.request["client_id"].startswith("visitor-")
    assert len(received.request["user_data"]["sha256_email_address"][0]) == 64
    assert received.request["consent"] == {
        "ad_user_data": "GRANTED",
        "ad_personalization": "DENIED",
    }
    assert received.headers["x-gtm-server-preview"] == "ZW52LTV8cHJldmlldw=="
    requests = sgtm.platform_requests()
    assert requests[0].path == "/mp/collect" and requests[0].query["measurement_id"] == "G-TEST1234"
    assert len(requests) >= 2  # GA4 MP takes 25 events a request: one batch, several requests
    assert sgtm.rejections == []
    # Secrets never reach the audit.
    excerpts = await scalar(
        engine, "SELECT string_agg(response_excerpt, '') FROM router_sgtm.batches"
    )
    assert "mp-secret-value" not in (excerpts or "") and "header-secret" not in (excerpts or "")


async def test_a_missing_credentials_file_fails_without_sending(
    components: Any, js: JetStreamContext, sgtm: SgtmSimulator, engine: AsyncEngine, tmp_path: Path
) -> None:
    app = await components(credentials_dir=tmp_path)
    await configure(
        app, "shop", f"{sgtm.url}/data", auth_header_name="x-auth", auth_secret_ref="absent"
    )
    letters = await Collector(js, "convhub.deadletter.sgtm.shop", events.DeadLetteredBatch).start()
    await app.start()
    await publish_accepted(js, "shop", ["c1"])
    await wait_for(lambda: len(letters.items) == 1, what="dead letter")
    assert letters.items[0].error_class == common.ERROR_CLASS_CONFIG
    assert "absent" in letters.items[0].reason and sgtm.platform_requests() == []
    assert await scalar(engine, status_count("failed")) == 1
    await letters.stop()


def _history(updates: Collector) -> dict[str, list[tuple[int, int]]]:
    history: dict[str, list[tuple[int, int]]] = {}
    for item in updates.items:
        history.setdefault(item.delivery_id, []).append((item.sequence, item.status))
    return history


def _confirmed(updates: Collector) -> int:
    return len(
        {i.delivery_id for i in updates.items if i.status == common.DELIVERY_STATUS_CONFIRMED}
    )
