"""Test and benchmark helpers for dispatchers: a scriptable fake platform and a harness that
runs the engine's components against real PostgreSQL and NATS, without gRPC."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from hubkit.bus import JetStreamPublisher, Outgoing
from hubkit.dispatch.events import dispatch_subject
from hubkit.dispatch.model import (
    Lane,
    Platform,
    PlatformError,
    Prepared,
    Request,
    SendBatch,
    SendResult,
)
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.dispatch.ports import BatchLimits
from hubkit.dispatch.service import components
from hubkit.dispatch.tables import LedgerTables, ledger_tables
from hubkit.dispatch.tokens import TokenProvider, TokenUnavailable
from hubkit.vocabulary import platform_pb


def dispatch_request(
    conversion_id: str,
    *,
    platform: Platform = Platform.META,
    site_id: str = "shop",
    account_id: str = "1234567890",
    credentials_ref: str = "meta-test",
    event_type: str = "purchase",
    event_time: datetime | None = None,
    test_event_code: str = "",
    **conversion: Any,
) -> events_pb2.DispatchRequested:
    """A DispatchRequested as the router publishes it (hashed data only)."""
    at = event_time or datetime.now(UTC)
    event_ts, received = Timestamp(), Timestamp()
    event_ts.FromDatetime(at)
    received.FromDatetime(datetime.now(UTC))
    fields: dict[str, Any] = {
        "conversion_id": conversion_id,
        "site_id": site_id,
        "order_id": f"order-{conversion_id}",
        "event_type": event_type,
        "event_id": f"evt-{conversion_id}",
        "event_time": event_ts,
        "received_at": received,
        **conversion,
    }
    return events_pb2.DispatchRequested(
        delivery_id=f"{conversion_id}:{platform.value}:{account_id}",
        conversion_id=conversion_id,
        platform=platform_pb(platform),
        target=events_pb2.DispatchTarget(
            account_id=account_id,
            credentials_ref=credentials_ref,
            test_event_code=test_event_code,
        ),
        conversion=common_pb2.HashedConversion(**fields),
    )


class FakePlatform:
    """A PlatformAdapter whose answers are scripted: `answers` are popped per request, then
    every request succeeds. Records each request's delivery ids (and the token it carried,
    when it has a TokenProvider)."""

    def __init__(
        self,
        policy: DispatchPolicy,
        platform: Platform = Platform.META,
        tokens: TokenProvider | None = None,
    ) -> None:
        self.platform = platform
        self.policy = policy
        self.tokens = tokens
        self.answers: deque[SendResult | Callable[[list[str]], SendResult]] = deque()
        self.requests: list[list[str]] = []
        self.tokens_sent: list[str] = []
        self.rejections: dict[str, PlatformError] = {}  # delivery_id -> refused at intake
        self.delay = 0.0
        self.lane_size: dict[Lane, int] = {}

    def lane_of(self, request: events_pb2.DispatchRequested) -> Lane:
        return Lane(request.target.account_id, request.target.credentials_ref)

    def event_id_of(self, request: events_pb2.DispatchRequested) -> str:
        return str(request.conversion.event_id)

    def batch_limits(self, lane: Lane) -> BatchLimits:
        return BatchLimits(self.lane_size.get(lane, self.policy.batch_size), self.policy.linger)

    def check(self, request: events_pb2.DispatchRequested, now: datetime) -> PlatformError | None:
        return self.rejections.get(request.delivery_id)

    async def prepare(self, batch: SendBatch, now: datetime) -> Prepared[str]:
        token = ""
        if self.tokens is not None:
            try:
                token = await self.tokens.get(batch.lane.credentials_ref)
            except TokenUnavailable as exc:
                return Prepared(error=exc.error)
        ids = tuple(e.delivery_id for e in batch.events)
        frozen = {e.delivery_id: f"sent:{e.delivery_id}".encode() for e in batch.events}
        return Prepared(requests=[Request(ids, token, frozen)])

    async def send(self, lane: Lane, request: Request[str]) -> SendResult:
        ids = list(request.delivery_ids)
        self.requests.append(ids)
        self.tokens_sent.append(request.payload)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answers:
            answer = self.answers.popleft()
            return answer(ids) if callable(answer) else answer
        return SendResult(http_status=200, request_id=f"req-{len(self.requests)}")

    async def close(self) -> None:
        pass

    def sent_ids(self) -> list[str]:
        return [i for r in self.requests for i in r]


async def create_ledger(engine: AsyncEngine, schema: str) -> LedgerTables:
    """The ledger without Alembic (tests of the machinery; services use their migrations)."""
    metadata = MetaData()
    tables = ledger_tables(metadata, schema)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(metadata.create_all)
    return tables


class DispatchHarness:
    """The engine of one platform (`service.components`), started and stopped by hand."""

    def __init__(
        self,
        adapter: Any,
        engine: AsyncEngine,
        js: JetStreamContext,
        tables: LedgerTables,
        *,
        durable: str = "dispatch-test",
        relay_poll: float = 0.05,
    ) -> None:
        self.adapter = adapter
        self.js = js
        self.parts = components(
            engine,
            js,
            adapter,
            schema=tables.schema,
            durable=durable,
            fetch_timeout=0.5,
            relay_poll=relay_poll,
        )
        self.tables = self.parts.tables
        self.relay = self.parts.relay
        self.dispatcher = self.parts.dispatcher
        self.intake = self.parts.intake
        self.consumer = self.parts.consumer
        self.erasures = self.parts.erasures
        self.spec = self.consumer.spec
        self.servicer = self.parts.servicer

    async def start(self) -> None:
        for worker in self.parts.workers():
            await worker.start()

    async def stop(self) -> None:
        for worker in reversed(self.parts.workers()):
            await worker.stop()

    async def publish(
        self, requests: Sequence[events_pb2.DispatchRequested], *, per_message: int = 100
    ) -> None:
        await publish_requests(self.js, self.adapter.platform, requests, per_message=per_message)


async def publish_requests(
    js: JetStreamContext,
    platform: Platform,
    requests: Sequence[events_pb2.DispatchRequested],
    *,
    per_message: int = 100,
) -> None:
    """Publish as the router does: one DispatchRequestedBatch per site and chunk."""
    by_site: dict[str, list[events_pb2.DispatchRequested]] = {}
    for r in requests:
        by_site.setdefault(r.conversion.site_id, []).append(r)
    messages = []
    for site, items in by_site.items():
        for start in range(0, len(items), per_message):
            chunk = items[start : start + per_message]
            batch = events_pb2.DispatchRequestedBatch(
                site_id=site, platform=platform_pb(platform), items=chunk
            )
            msg_id = f"dispatch:{chunk[0].delivery_id}:{len(chunk)}:{uuid.uuid4().hex[:8]}"
            messages.append(Outgoing(dispatch_subject(platform, site), batch, msg_id))
    await JetStreamPublisher(js).publish_all(messages)


@asynccontextmanager
async def migrated_engine(database_url: str, schema: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `database_url` with the ledger in `schema` brought to head by the ledger
    migrations, as a dispatcher's migrate step does."""
    from hubkit.db import make_engine
    from hubkit.dispatch.migrations import upgrade

    await asyncio.to_thread(upgrade, database_url, schema)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


HarnessFactory = Callable[..., Awaitable[DispatchHarness]]


@asynccontextmanager
async def harnesses(
    engine: AsyncEngine,
    js: JetStreamContext,
    schema: str,
    build: Callable[..., Any],
    *,
    durable: str,
) -> AsyncIterator[HarnessFactory]:
    """`await make(**overrides)`: a started harness on `build(**overrides)` (a destination's
    real adapter); every harness made is stopped and its adapter closed on exit."""
    started: list[DispatchHarness] = []

    async def make(**overrides: Any) -> DispatchHarness:
        harness = DispatchHarness(
            build(**overrides), engine, js, ledger_tables(MetaData(), schema), durable=durable
        )
        await harness.start()
        started.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in started:
            await harness.stop()
            await harness.adapter.close()


class LedgerReads:
    """What tests read from one ledger schema; in SQL given to `scalar` / `rows`, `{s}` names
    the schema."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def statuses(self, engine: AsyncEngine) -> dict[str, int]:
        """Deliveries per status."""
        rows = await self.rows(engine, "SELECT status, count(*) FROM {s}.deliveries GROUP BY 1")
        return {status: count for status, count in rows}

    async def settled(self, engine: AsyncEngine, expected: dict[str, int]) -> bool:
        return await self.statuses(engine) == expected

    async def scalar(self, engine: AsyncEngine, sql: str) -> Any:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql.format(s=self.schema)))).scalar()

    async def rows(self, engine: AsyncEngine, sql: str) -> list[Any]:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql.format(s=self.schema)))).all())


def fast_policy(policy: DispatchPolicy, **overrides: Any) -> DispatchPolicy:
    """A destination's policy with the integration suites' quick clock: short lingers, retries,
    leases and breaker, and rates no test waits on; `overrides` on top."""
    quick: dict[str, Any] = {
        "linger": 0.2,
        "retry_schedule": (0.05, 0.1, 0.2, 0.4),
        "retry_jitter": 0.1,
        "breaker_open_seconds": 1.0,
        "resync_seconds": 0.5,
        "lease_seconds": 5.0,
        "drain_seconds": 2.0,
        "requests_per_second": 200,
        "burst": 50,
    }
    return policy.with_overrides(**{**quick, **overrides})
