"""The router against the suite's real PostgreSQL and NATS, with the sGTM simulator."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2 as common
from convhub.events.v1 import events_pb2 as events
from convhub.router.v1 import router_pb2 as rpb
from convhub.router.v1 import router_pb2_grpc
from convhub_sim.sgtm import SgtmSimulator
from hubkit.auth import Scope, issue_token
from hubkit.bus import JetStreamPublisher, Outgoing
from hubkit.db import make_engine
from hubkit.embedded import free_port
from hubkit.grpcx import auth_metadata
from router.config import Settings
from router.main import RouterApp, build, http_client, main
from router.migrate import migrate
from tests.support import wait_serving

SECRET = "router-test-secret-that-is-long-enough-for-hs256"


def token(sites: Iterable[str] = ("*",), scopes: Iterable[Scope] = (Scope.ADMIN,)) -> Any:
    return auth_metadata(issue_token(SECRET, subject="tests", sites=sites, scopes=scopes))


def router_settings(database_url: str, nats_url: str, **overrides: object) -> Settings:
    """Short schedules so retries and releases happen within a test's patience."""
    base = Settings(
        database_url=database_url,
        nats_url=nats_url,
        grpc_port=free_port(),
        jwt_secret=SECRET,
        shutdown_grace_seconds=1.0,
        http_timeout_seconds=2.0,
        dispatch_linger_seconds=0.05,
        dispatch_retry_schedule="0.05,0.1,0.1,0.1,0.1",
        dispatch_lease_seconds=4.0,
        dispatch_breaker_open_seconds=0.2,
        dispatch_resync_seconds=0.3,
        dispatch_drain_seconds=1.0,
        release_interval_seconds=0.2,
        mirror_interval_seconds=0.2,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def accepted(conversion_id: str, site_id: str, **fields: Any) -> events.ConversionAccepted:
    """An accepted conversion as ingest publishes it: hashed user data only."""
    c = common.HashedConversion(
        conversion_id=conversion_id,
        site_id=site_id,
        order_id=f"order-{conversion_id}",
        event_type=fields.pop("event_type", "purchase"),
        event_id=f"evt-{conversion_id}",
        value="129.99",
        currency="EUR",
        click_ids=common.ClickIds(gclid="gclid-1", fbc="fb.1.1700000000000.abc", ttclid="tt-1"),
        user_data=common.HashedUserData(
            google=common.HashedIdentifiers(
                email=sha("a@example.com"), phone=sha("+4915112345678")
            ),
            meta=common.HashedIdentifiers(email=sha("a@example.com"), phone=sha("4915112345678")),
        ),
        client_ip="203.0.113.7",
        user_agent="Mozilla/5.0",
        consent=common.Consent(
            ad_user_data=common.CONSENT_STATUS_GRANTED,
            ad_personalization=common.CONSENT_STATUS_DENIED,
        ),
        page_url="https://shop.example/checkout",
        items=[common.Item(id="sku-1", name="Shoe", quantity=2, price="64.995")],
        visitor_id=f"visitor-{conversion_id}",
        **fields,
    )
    c.event_time.FromDatetime(datetime.now(UTC))
    return events.ConversionAccepted(
        conversion=c,
        trace=common.TraceContext(traceparent=f"00-{sha(conversion_id)[:32]}-{'1' * 16}-01"),
    )


async def publish_accepted(
    js: JetStreamContext,
    site_id: str,
    conversion_ids: Iterable[str],
    msg_id: str | None = None,
    **fields: Any,
) -> None:
    batch = events.ConversionAcceptedBatch(
        site_id=site_id, items=[accepted(c, site_id, **fields) for c in conversion_ids]
    )
    msg_id = msg_id or f"test-{site_id}-{hashlib.sha1(batch.SerializeToString()).hexdigest()}"
    await JetStreamPublisher(js).publish(
        Outgoing(f"convhub.conversions.accepted.{site_id}", batch, msg_id)
    )


class Collector:
    """Every message on a subject, decoded, from the start of its stream (ordered consumer)."""

    def __init__(self, js: JetStreamContext, subject: str, message: type[Message]) -> None:
        self._js = js
        self.subject = subject
        self._type = message
        self.messages: list[Any] = []
        self.msg_ids: list[str] = []
        self._sub: Any = None

    async def start(self) -> Collector:
        async def on_message(msg: Any) -> None:
            self.messages.append(self._type.FromString(msg.data))
            self.msg_ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))

        self._sub = await self._js.subscribe(self.subject, cb=on_message, ordered_consumer=True)
        return self

    @property
    def items(self) -> list[Any]:
        return [item for m in self.messages for item in m.items]

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def scalar_is(engine: AsyncEngine, sql: str, expected: Any) -> bool:
    return bool(await scalar(engine, sql) == expected)


@pytest.fixture
async def migrated_db(database_url: str) -> str:
    await asyncio.to_thread(migrate, database_url)
    return database_url


@pytest.fixture
async def engine(migrated_db: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(migrated_db)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sgtm() -> AsyncIterator[SgtmSimulator]:
    async with SgtmSimulator() as simulator:
        yield simulator  # type: ignore[misc]


@dataclass
class RunningRouter:
    settings: Settings
    stub: router_pb2_grpc.RouterServiceStub
    stop: asyncio.Event
    task: asyncio.Task[None]
    channel: grpc.aio.Channel

    async def upsert(self, site: rpb.Site, **kw: Any) -> rpb.UpsertSiteResponse:
        request = rpb.UpsertSiteRequest(site=site, **kw)
        return await self.stub.UpsertSite(request, metadata=token())

    async def shutdown(self) -> None:
        self.stop.set()
        await self.task
        await self.channel.close()


async def start_router(settings: Settings) -> RunningRouter:
    """The real service (router.main) in-process, until `stop` is set."""
    stop = asyncio.Event()
    task = asyncio.create_task(main(settings, stop))
    target = f"127.0.0.1:{settings.grpc_port}"
    await wait_serving(target, alive=lambda: task.result() if task.done() else None)
    channel = grpc.aio.insecure_channel(target)
    return RunningRouter(settings, router_pb2_grpc.RouterServiceStub(channel), stop, task, channel)


@pytest.fixture
async def router_service(
    migrated_db: str, nats_url: str, js: JetStreamContext
) -> AsyncIterator[RunningRouter]:
    running = await start_router(router_settings(migrated_db, nats_url))
    yield running
    await running.shutdown()


@pytest.fixture
async def components(
    migrated_db: str, engine: AsyncEngine, nats_url: str, js: JetStreamContext
) -> AsyncIterator[Callable[..., Any]]:
    """Builds router components on the test's servers, started and stopped by the fixture."""
    started: list[tuple[RouterApp, Any]] = []

    async def make(**overrides: object) -> RouterApp:
        settings = router_settings(migrated_db, nats_url, **overrides)
        http = http_client(settings)
        app = build(settings, engine, js, http)
        await app.declare()
        started.append((app, http))
        return app

    yield make
    for app, http in reversed(started):
        await app.stop()
        await http.aclose()


def sgtm_site(site_id: str, url: str, **sgtm: Any) -> rpb.Site:
    return rpb.Site(
        site_id=site_id,
        attribution_mode=common.ATTRIBUTION_MODE_SGTM,
        sgtm=rpb.SgtmConfig(url=url, **sgtm),
    )


def direct_site(site_id: str, **platforms: bool) -> rpb.Site:
    """A direct site with the named platforms enabled (all three by default)."""
    on = platforms or {"google": True, "meta": True, "tiktok": True}
    return rpb.Site(
        site_id=site_id,
        attribution_mode=common.ATTRIBUTION_MODE_DIRECT,
        destinations=rpb.Destinations(
            google=rpb.GoogleDestination(
                enabled=on.get("google", False),
                customer_id="1234567890",
                conversion_actions={"purchase": "customers/1234567890/conversionActions/77"},
                credentials_ref="shop-google",
            ),
            meta=rpb.MetaDestination(
                enabled=on.get("meta", False), pixel_id="987654321", credentials_ref="shop-meta"
            ),
            tiktok=rpb.TikTokDestination(
                enabled=on.get("tiktok", False), pixel_code="CTEST12345", credentials_ref="shop-tt"
            ),
        ),
    )
