"""Composition root: builds the router from its settings and connections (main.py, tests, bench)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.bus import JetStreamPublisher, PullConsumer, ensure_kv, ensure_streams
from hubkit.bus.streams import (
    CONVERSIONS,
    DEADLETTER,
    DELIVERY,
    DISPATCH,
    ERASURES,
    ROUTED,
    SITES,
    SITES_BUCKET,
)
from hubkit.db import OutboxRelay
from hubkit.resilience import Backoff
from router.adapters.credentials import CredentialsDirectory
from router.adapters.grpc_api import RouterServicer
from router.adapters.kv_mirror import JetStreamSiteMirror
from router.adapters.metrics import OtelMetrics
from router.adapters.nats_consumer import consumer_spec, make_handler
from router.adapters.nats_erasures import erasure_consumer_spec, make_erasure_handler
from router.adapters.orm import outbox
from router.adapters.sgtm_client import HttpSgtmSender
from router.adapters.sql_repository import SqlUnitOfWorkFactory
from router.adapters.system import SystemClock, WakeupHub
from router.app.erasure import Eraser
from router.app.forwarding import ForwarderSettings, SgtmForwarder
from router.app.housekeeping import Housekeeping
from router.app.mirroring import SiteMirroring
from router.app.releasing import ParkedReleaser
from router.app.routing import Router
from router.app.sites import SiteService
from router.config import Settings
from router.ports import Clock, Metrics

# An idle fetch ends this often: the bound on how long a consumer takes to stop.
FETCH_TIMEOUT = 0.5
STREAMS = (CONVERSIONS, ROUTED, DISPATCH, DELIVERY, DEADLETTER, SITES, ERASURES)


@dataclass
class RouterApp:
    uow: SqlUnitOfWorkFactory
    sites: SiteService
    router: Router
    releaser: ParkedReleaser
    mirroring: SiteMirroring
    forwarder: SgtmForwarder
    relay: OutboxRelay
    housekeeping: Housekeeping
    erasures: PullConsumer
    consumer: PullConsumer
    servicer: RouterServicer
    js: JetStreamContext

    def workers(self) -> list[object]:
        """In start order; they stop in reverse: intake first, the outbox relay last."""
        return [
            self.relay,
            self.housekeeping,
            self.mirroring,
            self.releaser,
            self.forwarder,
            self.erasures,
            self.consumer,
        ]

    async def declare(self) -> None:
        """The streams and the KV bucket the router uses (idempotent)."""
        await ensure_streams(self.js, STREAMS)
        await ensure_kv(self.js, SITES_BUCKET)

    async def start(self) -> None:
        await self.declare()
        for worker in self.workers():
            await worker.start()  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for worker in reversed(self.workers()):
            await worker.stop()  # type: ignore[attr-defined]


def http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.sgtm_http_timeout),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        follow_redirects=False,  # a redirected POST would be re-sent as a GET
    )


def build(
    settings: Settings,
    engine: AsyncEngine,
    js: JetStreamContext,
    http: httpx.AsyncClient,
    *,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
) -> RouterApp:
    metrics = metrics or OtelMetrics()
    clock = clock or SystemClock()
    wakeups = WakeupHub()
    uow = SqlUnitOfWorkFactory(engine)
    relay = OutboxRelay(engine, outbox, JetStreamPublisher(js))
    sites = SiteService(uow, clock, wakeups, allow_plain_http=settings.sgtm_allow_http)
    router = Router(uow, clock, wakeups, metrics)
    releaser = ParkedReleaser(
        uow, clock, wakeups, metrics, interval=settings.release_interval_seconds
    )
    mirroring = SiteMirroring(
        uow,
        JetStreamSiteMirror(js),
        interval=settings.mirror_interval_seconds,
        resync_interval=settings.mirror_resync_seconds,
    )
    forwarder = SgtmForwarder(
        uow,
        HttpSgtmSender(http, CredentialsDirectory(settings.credentials_dir)),
        clock,
        wakeups,
        metrics,
        backoff=Backoff(schedule=settings.retry_schedule),
        settings=ForwarderSettings(
            claim_limit=settings.sgtm_claim_limit,
            lease_seconds=settings.sgtm_lease_seconds,
            poll_interval=settings.sgtm_poll_interval,
            max_in_flight_per_host=settings.sgtm_max_in_flight_per_host,
            breaker_failures=settings.sgtm_breaker_failures,
            breaker_reset_seconds=settings.sgtm_breaker_reset_seconds,
            stop_grace_seconds=settings.shutdown_grace_seconds,
        ),
    )
    consumer = PullConsumer(
        js,
        consumer_spec(ack_wait=settings.consumer_ack_wait_seconds),
        make_handler(router, metrics),
        concurrency=settings.consumer_concurrency,
        fetch_batch=settings.consumer_fetch_batch,
        fetch_timeout=FETCH_TIMEOUT,
    )
    wakeups.on_outbox.append(relay.notify)
    wakeups.on_sgtm.append(forwarder.wake)
    wakeups.on_site_changed.append(lambda _site: releaser.wake())
    wakeups.on_site_changed.append(lambda _site: mirroring.wake())
    return RouterApp(
        uow=uow,
        sites=sites,
        router=router,
        releaser=releaser,
        mirroring=mirroring,
        forwarder=forwarder,
        relay=relay,
        housekeeping=Housekeeping(uow, retention_days=settings.retention_days),
        erasures=PullConsumer(
            js,
            erasure_consumer_spec(),
            make_erasure_handler(Eraser(uow)),
            concurrency=2,
            fetch_timeout=FETCH_TIMEOUT,
        ),
        consumer=consumer,
        servicer=RouterServicer(sites),
        js=js,
    )
