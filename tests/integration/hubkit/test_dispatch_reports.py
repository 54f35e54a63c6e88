"""Platforms that report later (ReportsLater) and quotas shared by lanes (SharesQuota), with a
fake platform against real PostgreSQL and NATS JetStream, read back over DispatchService."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import nats.errors
import pytest
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from convhub.events.v1 import events_pb2
from hubkit.auth import Scope, issue_token
from hubkit.db import make_engine
from hubkit.dispatch import DispatchPolicy, ErrorClass, Lane, PlatformError, SendResult
from hubkit.dispatch.ledger import LedgerUnitOfWork
from hubkit.dispatch.model import Request, RequestReport, Status
from hubkit.dispatch.ports import Quota
from hubkit.dispatch.testing import DispatchHarness, FakePlatform, create_ledger, dispatch_request
from hubkit.grpcx import GrpcServer, ServiceInterceptor, auth_metadata, serving
from tests.support import wait_for

SCHEMA = "dispatch_reports"
SECRET = "reports-test-secret-" + "z" * 30
POLICY = DispatchPolicy(
    batch_size=10,
    linger=0.05,
    retry_schedule=(0.05,),
    resync_seconds=0.3,
    requests_per_second=500,
    burst=100,
)
READ = auth_metadata(issue_token(SECRET, subject="t", sites=["*"], scopes=[Scope.READ]))


class ReportingPlatform(FakePlatform):
    """Acknowledges requests (SENT) and reports on them later, as scripted per request id."""

    status_delay = 0.2

    def __init__(self) -> None:
        super().__init__(POLICY)
        self.reports: deque[RequestReport] = deque()
        self.asked: list[str] = []

    async def send(self, lane: Lane, request: Request[str]) -> SendResult:
        answer = await super().send(lane, request)
        return dataclasses.replace(answer, accepted_status=Status.SENT)

    async def request_status(self, lane: Lane, request_id: str) -> RequestReport:
        self.asked.append(request_id)
        return self.reports.popleft() if self.reports else RequestReport("PROCESSING")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def running(engine: AsyncEngine, js: JetStreamContext):
    tables = await create_ledger(engine, SCHEMA)
    started: list[DispatchHarness] = []

    async def start(platform: FakePlatform) -> tuple[DispatchHarness, object]:
        harness = DispatchHarness(platform, engine, js, tables, durable="dispatch-reports")
        await harness.start()
        started.append(harness)
        server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
        harness.servicer.register(server)
        return harness, server

    yield start
    for harness in started:
        await harness.stop()


async def statuses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT delivery_id, status FROM {SCHEMA}.deliveries"))
        return {r.delivery_id: r.status for r in rows}


async def batch_of(stub: dispatch_pb2_grpc.DispatchServiceStub, engine: AsyncEngine):
    async with engine.connect() as conn:
        (batch_id,) = (
            await conn.execute(text(f"SELECT DISTINCT batch_id FROM {SCHEMA}.deliveries"))
        ).one()
    return (
        await stub.GetBatch(dispatch_pb2.GetBatchRequest(batch_id=batch_id), metadata=READ)
    ).batch


async def test_accepted_events_are_sent_until_the_report_confirms_them(
    running, engine: AsyncEngine, js: JetStreamContext
) -> None:
    platform = ReportingPlatform()
    platform.reports.extend(
        [
            RequestReport("PROCESSING"),
            RequestReport("SUCCESS", final=True, record_count=3, outcome=Status.CONFIRMED),
        ]
    )
    start = running
    harness, server = await start(platform)
    updates = await js.pull_subscribe("convhub.delivery.meta.>", durable=None)
    await harness.publish([dispatch_request(f"s{i}") for i in range(3)])
    await wait_for(
        lambda: _all(statuses(engine), "sent", 3), what="acknowledged: sent, not confirmed"
    )
    await wait_for(lambda: _all(statuses(engine), "confirmed", 3), what="the report confirms")
    assert len(platform.asked) == 2 and set(platform.asked) == {"req-1"}
    seen: dict[str, int] = {}

    async def all_confirmed_published() -> bool:
        # The relay publishes after the ledger commits: the updates arrive a moment later.
        with contextlib.suppress(nats.errors.TimeoutError):
            for msg in await updates.fetch(10, timeout=0.5):
                for item in events_pb2.DeliveryUpdatedBatch.FromString(msg.data).items:
                    seen[item.delivery_id] = max(seen.get(item.delivery_id, 0), item.status)
        return len(seen) == 3 and set(seen.values()) == {common_pb2.DELIVERY_STATUS_CONFIRMED}

    await wait_for(all_confirmed_published, what="the confirmations published")
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        batch = await batch_of(dispatch_pb2_grpc.DispatchServiceStub(ch), engine)
    status = batch.platform_status
    assert (status.state, status.final, status.record_count, status.checks) == (
        "SUCCESS",
        True,
        3,
        2,
    )
    assert {o.status for o in batch.outcomes} == {common_pb2.DELIVERY_STATUS_CONFIRMED}


async def test_a_failed_report_fails_and_dead_letters_the_events(
    running, engine: AsyncEngine, js: JetStreamContext
) -> None:
    platform = ReportingPlatform()
    failure = PlatformError(ErrorClass.BAD_INPUT, "PROCESSING_ERROR_REASON_EVENT_TOO_OLD", "old")
    platform.reports.append(
        RequestReport(
            "FAILED",
            final=True,
            record_count=2,
            error_counts={"PROCESSING_ERROR_REASON_EVENT_TOO_OLD": 2},
            outcome=Status.FAILED,
            failure=failure,
        )
    )
    start = running
    harness, _ = await start(platform)
    letters = await js.pull_subscribe("convhub.deadletter.meta.>", durable=None)
    await harness.publish([dispatch_request(f"f{i}") for i in range(2)])
    await wait_for(lambda: _all(statuses(engine), "failed", 2), what="the report fails them")
    (msg,) = await letters.fetch(1, timeout=5)
    items = events_pb2.DeadLetteredBatch.FromString(msg.data).items
    assert {i.platform_code for i in items} == {"PROCESSING_ERROR_REASON_EVENT_TOO_OLD"}
    assert len(items) == 2


async def test_a_partial_report_keeps_the_events_sent_and_shows_its_counts(
    running, engine: AsyncEngine
) -> None:
    platform = ReportingPlatform()
    platform.reports.append(
        RequestReport(
            "PARTIAL_SUCCESS",
            final=True,
            record_count=4,
            error_counts={"PROCESSING_ERROR_REASON_CLICK_NOT_FOUND": 1},
            warning_counts={"WARNING_REASON_GENERIC": 2},
        )
    )
    start = running
    harness, server = await start(platform)
    await harness.publish([dispatch_request(f"p{i}") for i in range(4)])
    await wait_for(lambda: _report_final(engine), what="the report recorded")
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
        batch = await batch_of(stub, engine)
        assert batch.status == dispatch_pb2.BATCH_STATUS_PARTIALLY_FAILED
        assert dict(batch.platform_status.error_counts) == {
            "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND": 1
        }
        assert dict(batch.platform_status.warning_counts) == {"WARNING_REASON_GENERIC": 2}
        stats = await stub.GetStats(dispatch_pb2.GetStatsRequest(), metadata=READ)
    assert dict(stats.request_states) == {"PARTIAL_SUCCESS": 1}
    assert dict(stats.platform_error_counts) == {"PROCESSING_ERROR_REASON_CLICK_NOT_FOUND": 1}
    assert stats.requests_awaiting_status == 0
    assert set((await statuses(engine)).values()) == {"sent"}  # no event index: they stay sent


async def test_a_report_failing_for_a_passing_reason_sends_the_events_again(
    running, engine: AsyncEngine
) -> None:
    platform = ReportingPlatform()
    passing = PlatformError(ErrorClass.TRANSIENT, "INTERNAL_ERROR", "Google failed", 0.2)
    platform.reports.extend(
        [
            RequestReport("FAILED", final=True, outcome=Status.PENDING, failure=passing),
            RequestReport("SUCCESS", final=True, outcome=Status.CONFIRMED),
        ]
    )
    start = running
    harness, _ = await start(platform)
    await harness.publish([dispatch_request(f"r{i}") for i in range(3)])
    await wait_for(lambda: _all(statuses(engine), "confirmed", 3), what="sent again, confirmed")
    assert len(platform.requests) == 2 and sorted(platform.requests[0]) == sorted(
        platform.requests[1]
    )
    async with engine.connect() as conn:
        query = f"SELECT outcome, platform_code FROM {SCHEMA}.attempts ORDER BY started_at"
        audit = [tuple(r) for r in await conn.execute(text(query))]
    assert audit == [("pending", "INTERNAL_ERROR")] * 3 + [("confirmed", "")] * 3


async def test_an_answer_recorded_late_by_another_replica_is_dropped(
    running, engine: AsyncEngine
) -> None:
    platform = ReportingPlatform()
    platform.status_delay = 3600  # nobody asks on their own during the test
    start = running
    harness, _ = await start(platform)
    await harness.publish([dispatch_request("late")])
    await wait_for(lambda: _all(statuses(engine), "sent", 1), what="accepted")
    async with engine.connect() as conn:
        batch_id = (await conn.execute(text(f"SELECT batch_id FROM {SCHEMA}.batches"))).scalar()
    final = RequestReport("SUCCESS", final=True, outcome=Status.CONFIRMED)
    late = RequestReport("PROCESSING")
    now = datetime.now(UTC)
    kwargs = {"next_at": now, "horizon": timedelta(days=1)}
    async with LedgerUnitOfWork(engine, harness.tables) as uow:
        confirmed = await uow.ledger.record_report(batch_id, final, checks=0, **kwargs)
        stale = await uow.ledger.record_report(batch_id, late, checks=0, **kwargs)
        await uow.commit()
    assert confirmed is not None and len(confirmed) == 1 and stale is None
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(f"SELECT status_state, status_due_at, status_checks FROM {SCHEMA}.batches")
            )
        ).one()
    assert tuple(row) == ("SUCCESS", None, 1)


class QuotaPlatform(FakePlatform):
    """Every lane shares one quota of 4 requests/s."""

    def quota_of(self, lane: Lane) -> Quota:
        return Quota("project-1", requests_per_second=4, burst=1)


async def test_lanes_of_different_accounts_share_their_quota(running, engine: AsyncEngine) -> None:
    platform = QuotaPlatform(dataclasses.replace(POLICY, batch_size=1))
    start = running
    harness, _ = await start(platform)
    began = time.monotonic()
    await harness.publish(
        [dispatch_request(f"q{i}", account_id=f"10000000{i % 2}") for i in range(10)]
    )
    await wait_for(lambda: _all(statuses(engine), "confirmed", 10), what="all sent")
    # 10 requests at 4/s with a burst of 1 take at least 9 / 4 s, whatever the two accounts'
    # own rates (500/s each) would allow.
    assert time.monotonic() - began >= 2.0
    assert len(platform.requests) == 10


async def _all(values, status: str, n: int) -> bool:
    found = await values
    return len(found) == n and set(found.values()) == {status}


async def _report_final(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        query = (
            f"SELECT count(*) FROM {SCHEMA}.batches"
            " WHERE status_state <> '' AND status_due_at IS NULL"
        )
        return bool((await conn.execute(text(query))).scalar_one())


async def test_get_stats_shows_the_share_of_deliveries_carrying_each_match_key(
    running, engine: AsyncEngine
) -> None:
    platform = FakePlatform(POLICY)
    start = running
    harness, server = await start(platform)
    keyed = [
        dispatch_request(
            f"k{i}",
            site_id="shop-k",
            user_data=common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email="a" * 64)),
            click_ids=common_pb2.ClickIds(fbc="fb.1.1700000000000.AbC"),
        )
        for i in range(3)
    ]
    await harness.publish([*keyed, dispatch_request("bare", site_id="shop-k")])
    await wait_for(lambda: _all(statuses(engine), "confirmed", 4), what="delivered")
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = dispatch_pb2_grpc.DispatchServiceStub(ch)
        stats = await stub.GetStats(dispatch_pb2.GetStatsRequest(site_id="shop-k"), metadata=READ)
        other = await stub.GetStats(dispatch_pb2.GetStatsRequest(site_id="nobody"), metadata=READ)
    assert stats.deliveries_received == 4
    coverage = {m.key: m.share for m in stats.match_key_coverage}
    assert coverage["email"] == coverage["click_id"] == 0.75
    assert coverage["phone"] == coverage["ip"] == 0.0 and len(coverage) == 9
    assert abs(stats.match_quality - 3 * 5.5 / 4) < 0.01
    assert other.deliveries_received == 0 and other.match_quality == 0.0
