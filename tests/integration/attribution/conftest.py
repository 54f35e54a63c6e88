"""The attribution service running in-process against the suite's PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from attribution.adapters.orm import SCHEMA
from attribution.config import Settings
from attribution.main import main
from attribution.migrate import MIGRATIONS
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub.router.v1 import router_pb2
from hubkit.auth import Scope, issue_token
from hubkit.bus import SITES_BUCKET, JetStreamPublisher, Outgoing, ensure_kv
from hubkit.db import make_engine
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from hubkit.grpcx import auth_metadata
from tests.support import wait_for, wait_serving

SECRET = "attribution-test-secret-long-enough-for-hs256"
SITE = "shop-a"


def token(scopes: list[Scope] | None = None, sites: list[str] | None = None):  # type: ignore[no-untyped-def]
    return auth_metadata(
        issue_token(
            SECRET,
            subject="tests",
            sites=sites or [SITE],
            scopes=scopes or [Scope.INGEST, Scope.READ, Scope.ADMIN],
        )
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@dataclass
class Running:
    stub: attribution_pb2_grpc.AttributionServiceStub
    stop: asyncio.Event
    task: asyncio.Task[None]


@pytest.fixture
async def attribution(
    database_url: str, nats_url: str, js: JetStreamContext
) -> AsyncIterator[Running]:
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    settings = Settings(
        database_url=database_url,
        nats_url=nats_url,
        grpc_port=free_port(),
        jwt_secret=SECRET,
        shutdown_grace_seconds=0.5,
    )
    await set_site(js, router_pb2.Site(site_id=SITE))
    stop = asyncio.Event()
    task = asyncio.create_task(main(settings, stop))
    target = f"127.0.0.1:{settings.grpc_port}"
    await wait_serving(target, alive=lambda: task.result() if task.done() else None)
    async with grpc.aio.insecure_channel(target) as channel:
        yield Running(attribution_pb2_grpc.AttributionServiceStub(channel), stop, task)
        stop.set()
        await task


async def set_site(js: JetStreamContext, site: router_pb2.Site) -> None:
    kv = await ensure_kv(js, SITES_BUCKET)
    await kv.put(site.site_id, site.SerializeToString())


def ts(at: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(at)
    return t


def touchpoint(
    tid: str, at: datetime, channel: str, visitor: str = "v1", **fields: object
) -> common_pb2.Touchpoint:
    return common_pb2.Touchpoint(
        touchpoint_id=tid,
        site_id=SITE,
        visitor_id=visitor,
        occurred_at=ts(at),
        channel=channel,
        **fields,  # type: ignore[arg-type]
    )


def conversion(
    cid: str, at: datetime, value: str = "100.00", visitor: str = "v1", email: str = ""
) -> common_pb2.HashedConversion:
    c = common_pb2.HashedConversion(
        conversion_id=cid,
        site_id=SITE,
        order_id=f"o-{cid}",
        event_type="purchase",
        event_time=ts(at),
        value=value,
        currency="EUR",
        visitor_id=visitor,
    )
    if email:
        c.user_data.meta.email = email
    return c


async def publish_touchpoints(js: JetStreamContext, items: list[common_pb2.Touchpoint]) -> None:
    batch = events_pb2.TouchpointRecordedBatch(
        site_id=SITE, items=[events_pb2.TouchpointRecorded(touchpoint=t) for t in items]
    )
    await JetStreamPublisher(js).publish(
        Outgoing(f"convhub.touchpoints.{SITE}", batch, f"tp-{uuid.uuid4().hex}")
    )


async def publish_accepted(
    js: JetStreamContext, items: list[common_pb2.HashedConversion], msg_id: str | None = None
) -> None:
    batch = events_pb2.ConversionAcceptedBatch(
        site_id=SITE, items=[events_pb2.ConversionAccepted(conversion=c) for c in items]
    )
    await JetStreamPublisher(js).publish(
        Outgoing(f"convhub.conversions.accepted.{SITE}", batch, msg_id or f"ca-{uuid.uuid4().hex}")
    )


async def touchpoints_stored(db: AsyncEngine, n: int) -> None:
    """Until `n` touchpoints are stored (they come over NATS), so a conversion finds them."""

    async def stored() -> bool:
        async with db.connect() as conn:
            found = await conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.touchpoints"))
            return int(found.scalar_one()) >= n

    await wait_for(stored, what=f"{n} touchpoints stored")
