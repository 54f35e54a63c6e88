"""DispatchService over gRPC with auth: field errors, site scoping, batches and stats."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from nats.js import JetStreamContext

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2, dispatch_pb2_grpc
from hubkit.auth import Scope, issue_token
from hubkit.db import make_engine
from hubkit.dispatch import DispatchPolicy, ErrorClass, PlatformError, SendResult
from hubkit.dispatch.testing import DispatchHarness, FakePlatform, create_ledger, dispatch_request
from hubkit.grpcx import FIELD_ERRORS_KEY, GrpcServer, ServiceInterceptor, auth_metadata, serving
from tests.support import wait_for

SECRET = "service-test-secret-" + "y" * 30
POLICY = DispatchPolicy(linger=0.05, retry_schedule=(0.05,), resync_seconds=0.3)


def token(*sites: str, scope: Scope = Scope.READ) -> tuple[tuple[str, str], ...]:
    return auth_metadata(issue_token(SECRET, subject="t", sites=sites, scopes=[scope]))


@pytest.fixture
async def api(
    database_url: str, js: JetStreamContext
) -> AsyncIterator[tuple[dispatch_pb2_grpc.DispatchServiceStub, FakePlatform]]:
    engine = make_engine(database_url)
    platform = FakePlatform(POLICY)
    platform.answers.append(SendResult(400, error=PlatformError(ErrorClass.AUTH, "190", "token")))
    harness = DispatchHarness(platform, engine, js, await create_ledger(engine, "dispatch_svc"))
    await harness.start()
    await harness.publish(
        [dispatch_request("a1", site_id="shop-a"), dispatch_request("b1", site_id="shop-b")]
    )
    server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
    harness.servicer.register(server)
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        stub = dispatch_pb2_grpc.DispatchServiceStub(ch)

        async def both_dead_lettered() -> bool:
            found = await stub.ListDeadLetters(
                dispatch_pb2.ListDeadLettersRequest(), metadata=token("*")
            )
            return found.total_count == 2

        # The fake's first answer fails both for good (auth).
        await wait_for(both_dead_lettered, within=10, what="both dead-lettered")
        yield stub, platform
    await harness.stop()
    await engine.dispose()


async def code_of(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    raise AssertionError("expected an error status")


async def test_reads_are_scoped_to_the_token_sites(api) -> None:
    stub, _ = api
    mine = await stub.ListDeadLetters(
        dispatch_pb2.ListDeadLettersRequest(), metadata=token("shop-a")
    )
    assert [d.site_id for d in mine.dead_letters] == ["shop-a"] and mine.total_count == 1
    letter = mine.dead_letters[0]
    assert (letter.error_class, letter.platform_code, letter.attempts) == (
        common_pb2.ERROR_CLASS_AUTH,
        "190",
        1,
    )
    other = stub.GetDelivery(
        dispatch_pb2.GetDeliveryRequest(conversion_id="b1"), metadata=token("shop-a")
    )
    assert await code_of(other) == grpc.StatusCode.PERMISSION_DENIED
    stats = stub.GetStats(dispatch_pb2.GetStatsRequest(), metadata=token("shop-a"))
    assert await code_of(stats) == grpc.StatusCode.PERMISSION_DENIED
    own = await stub.GetStats(
        dispatch_pb2.GetStatsRequest(site_id="shop-a"), metadata=token("shop-a")
    )
    assert (own.failed, own.confirmed, own.dead_letter_depth) == (1, 0, 1)
    replay = stub.ReplayDeadLetters(
        dispatch_pb2.ReplayDeadLettersRequest(ids=dispatch_pb2.DeadLetterIds(ids=["x"])),
        metadata=token("*"),
    )
    assert await code_of(replay) == grpc.StatusCode.PERMISSION_DENIED
    anonymous = stub.GetStats(dispatch_pb2.GetStatsRequest())
    assert await code_of(anonymous) == grpc.StatusCode.UNAUTHENTICATED


async def test_bad_requests_get_field_errors(api) -> None:
    stub, _ = api
    cases = [
        stub.GetDelivery(dispatch_pb2.GetDeliveryRequest(), metadata=token("*")),
        stub.GetBatch(dispatch_pb2.GetBatchRequest(), metadata=token("*")),
        stub.ListDeadLetters(
            dispatch_pb2.ListDeadLettersRequest(page_token="garbage!"), metadata=token("*")
        ),
        stub.ListDeadLetters(
            dispatch_pb2.ListDeadLettersRequest(page_size=-1), metadata=token("*")
        ),
        stub.GetStats(dispatch_pb2.GetStatsRequest(window_seconds=-5), metadata=token("*")),
        stub.ReplayDeadLetters(
            dispatch_pb2.ReplayDeadLettersRequest(), metadata=token("*", scope=Scope.ADMIN)
        ),
    ]
    for call in cases:
        try:
            await call
            raise AssertionError("expected INVALID_ARGUMENT")
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert any(k == FIELD_ERRORS_KEY for k, _ in exc.trailing_metadata() or ())
    missing = stub.GetBatch(dispatch_pb2.GetBatchRequest(batch_id="nope"), metadata=token("*"))
    assert await code_of(missing) == grpc.StatusCode.NOT_FOUND


async def test_batch_and_stats_tell_the_story(api) -> None:
    stub, platform = api
    delivery = await stub.GetDelivery(
        dispatch_pb2.GetDeliveryRequest(conversion_id="a1"), metadata=token("*")
    )
    (only,) = delivery.deliveries
    assert only.state.status == common_pb2.DELIVERY_STATUS_FAILED
    assert only.state.last_error == "token" and len(only.history) == 1
    batch = (
        await stub.GetBatch(
            dispatch_pb2.GetBatchRequest(batch_id=only.state.batch_id), metadata=token("*")
        )
    ).batch
    assert batch.status == dispatch_pb2.BATCH_STATUS_FAILED
    assert (batch.event_count, batch.failed_count, batch.attempts) == (2, 2, 1)
    assert {o.site_id for o in batch.outcomes} == {"shop-a", "shop-b"}
    with pytest.raises(grpc.aio.AioRpcError):  # a batch with another site's events
        await stub.GetBatch(
            dispatch_pb2.GetBatchRequest(batch_id=batch.batch_id), metadata=token("shop-a")
        )
    stats = await stub.GetStats(dispatch_pb2.GetStatsRequest(), metadata=token("*"))
    assert (stats.window_seconds, stats.failed, stats.success_rate) == (60, 2, 0.0)
    (account,) = stats.accounts
    assert account.breaker_state == dispatch_pb2.BREAKER_STATE_CLOSED
    assert len(platform.requests) == 1
