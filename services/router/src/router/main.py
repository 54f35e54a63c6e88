"""`python -m router.main`: the router's composition root (the one place adapters meet the
use cases), run until SIGTERM, then drained in order. `build` is shared with tests and the bench."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.router.v1 import router_pb2_grpc
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
from hubkit.config import load
from hubkit.db import OutboxRelay
from hubkit.dispatch import CredentialStore, DispatchComponents, components, http
from hubkit.service import ServiceRuntime, Worker, run
from router.adapters.grpc_api import SERVICE_NAME, RouterServicer
from router.adapters.kv_mirror import JetStreamSiteMirror
from router.adapters.metrics import OtelMetrics
from router.adapters.nats_consumer import consumer_spec, make_handler
from router.adapters.nats_erasures import erasure_consumer_spec, make_erasure_handler
from router.adapters.orm import SGTM_SCHEMA, outbox
from router.adapters.sgtm_platform import USER_AGENT, SgtmPlatform
from router.adapters.sql_repository import SqlUnitOfWorkFactory
from router.adapters.system import SystemClock, WakeupHub
from router.app.erasure import Eraser
from router.app.housekeeping import Housekeeping
from router.app.mirroring import SiteMirroring
from router.app.releasing import ParkedReleaser
from router.app.routing import Router
from router.app.sites import SiteService
from router.config import Settings
from router.domain.site import SgtmSettings
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
    sgtm: DispatchComponents  # the sGTM dispatcher: the one dispatch engine, hosted here
    relay: OutboxRelay
    housekeeping: Housekeeping
    erasures: PullConsumer
    consumer: PullConsumer
    servicer: RouterServicer
    js: JetStreamContext

    def workers(self) -> list[Worker]:
        """In start order; they stop in reverse: intake first, the outbox relay last."""
        return [
            self.relay,
            self.housekeeping,
            self.mirroring,
            self.releaser,
            *self.sgtm.workers(),
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
            await worker.start()

    async def stop(self) -> None:
        for worker in reversed(self.workers()):
            await worker.stop()


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The sGTM dispatcher's client (closed with its adapter)."""
    return http.client(
        user_agent=USER_AGENT, timeout=settings.http_timeout_seconds, max_connections=200
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
    credentials = CredentialStore(settings.credentials_dir) if settings.credentials_dir else None

    async def sgtm_settings(site_id: str, revision: int) -> SgtmSettings | None:
        async with uow() as tx:
            config = await tx.sites.at_revision(site_id, revision)
        return config.sgtm if config is not None else None

    sgtm = components(
        engine,
        js,
        SgtmPlatform(http, credentials, sgtm_settings, settings.sgtm_policy()),
        schema=SGTM_SCHEMA,
        consumer_concurrency=settings.sgtm_consumer_concurrency,
        fetch_timeout=FETCH_TIMEOUT,
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
    wakeups.on_site_changed.append(lambda _site: releaser.wake())
    wakeups.on_site_changed.append(lambda _site: mirroring.wake())
    return RouterApp(
        uow=uow,
        sites=sites,
        router=router,
        releaser=releaser,
        mirroring=mirroring,
        sgtm=sgtm,
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


async def main(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM (or `stop`, for tests that run the service in-process)."""
    settings = settings or load(Settings)
    async with ServiceRuntime(settings) as rt:
        app = build(settings, rt.engine, rt.js, http_client(settings))
        rt.on_close(app.sgtm.adapter.close)
        await app.declare()
        rt.server.add(
            router_pb2_grpc.add_RouterServiceServicer_to_server, app.servicer, SERVICE_NAME
        )
        app.sgtm.servicer.register(rt.server)  # DispatchService for the sGTM deliveries
        for worker in app.workers():
            rt.add_worker(worker)
        await rt.serve(stop)


if __name__ == "__main__":
    run(main)
