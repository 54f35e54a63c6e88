"""Integration tests for hubkit.grpcx against a real grpc.aio server on a loopback port."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import nats.errors
import psycopg
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy import exc as sa_exc

from hubkit import grpcx
from hubkit.auth import Scope, current_principal, issue_token
from hubkit.errors import (
    ConfigError,
    FieldError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from hubkit.grpcx import (
    GrpcServer,
    ServiceInterceptor,
    auth_metadata,
    check_health,
    run_until_shutdown,
    serving,
)
from hubkit.outages import OutageLog
from tests.support import wait_for

SECRET = "integration-test-secret-0123456789abcdef"
SERVICE = "test.Echo"
PII = "jane.doe@example.com"  # must never reach logs or trailing metadata

# --- the tiny test service ---------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _plain_grpc() -> Iterator[None]:
    """These tests are of hubkit's interceptor, sync handlers included: without the process's
    OpenTelemetry gRPC patches, which a service run in-process by an earlier test installs
    (they refuse sync handlers; services have none)."""
    from hubkit import telemetry

    current = telemetry._current
    instrumentors = list(current.instrumentors) if current is not None else []
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    yield
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=current.tracer_provider)  # type: ignore[union-attr]


class Probe:
    """Lets tests watch and pace the slow handler."""

    def __init__(self) -> None:
        self.slow_started = asyncio.Event()
        self.events: list[str] = []


async def echo(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    principal = current_principal()
    principal.require(Scope.INGEST, site=request.value)
    return StringValue(value=f"{principal.subject}:{request.value}")


async def invalid(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise InvalidArgument(
        "conversion rejected",
        [
            FieldError("user_data.email", "invalid_format", "not an email address"),
            FieldError("value", "negative", "value must not be negative"),
        ],
    )


async def limited(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise ResourceExhausted("rate limit for site 'a'", retry_after=1.5)


async def unavailable(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise Unavailable("database unavailable")


async def missing(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise NotFound("conversion c-1 not found")


async def boom(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise RuntimeError("database exploded")


async def db_down(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    # What a store raises while PostgreSQL restarts: SQLAlchemy around psycopg, with the
    # statement and its parameters (personal data) in str().
    raise sa_exc.DBAPIError.instance(
        "INSERT INTO conversions (email) VALUES (%(email)s)",
        {"email": request.value},
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.Error,
    )


async def nats_down(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    raise nats.errors.NoServersError()


async def stream_db_down(
    request: StringValue, context: grpc.aio.ServicerContext
) -> AsyncIterator[Any]:
    yield StringValue(value="first")
    raise psycopg.OperationalError("connection failed: Connection refused")


async def aborts(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
    await context.abort(grpc.StatusCode.DATA_LOSS, "handler chose this")
    raise AssertionError("unreachable")


def sync_echo(request: StringValue, context: Any) -> StringValue:
    return StringValue(value=f"sync:{current_principal().subject}:{request.value}")


def sync_unimplemented(request: StringValue, context: Any) -> StringValue:
    # What a generated servicer base class does for a method the service did not implement.
    context.set_code(grpc.StatusCode.UNIMPLEMENTED)
    context.set_details("Method not implemented!")
    raise NotImplementedError("Method not implemented!")


async def count_up(request: StringValue, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    for i in range(3):
        await asyncio.sleep(0)
        # The principal must survive every resumption of the generator.
        yield StringValue(value=f"{current_principal().subject}:{request.value}:{i}")
    raise InvalidArgument("stream ended badly")


def sync_count(request: StringValue, context: Any) -> Iterator[StringValue]:
    for i in range(2):
        yield StringValue(value=f"{current_principal().subject}:{i}")


async def join(requests: AsyncIterator[StringValue], context: Any) -> StringValue:
    parts = [r.value async for r in requests]
    return StringValue(value=f"{current_principal().subject}:" + ",".join(parts))


async def shout(requests: AsyncIterator[StringValue], context: Any) -> AsyncIterator[StringValue]:
    async for r in requests:
        yield StringValue(value=r.value.upper())
        if r.value == "stop":
            raise ResourceExhausted("too chatty", retry_after=0.25)


def echo_service(probe: Probe) -> grpc.GenericRpcHandler:
    async def slow(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        probe.slow_started.set()
        await asyncio.sleep(0.5)
        probe.events.append("slow RPC finished")
        return StringValue(value="slow done")

    codec = {
        "request_deserializer": StringValue.FromString,
        "response_serializer": StringValue.SerializeToString,
    }
    unary = {
        "Echo": echo,
        "Invalid": invalid,
        "Limited": limited,
        "Unavailable": unavailable,
        "Missing": missing,
        "Boom": boom,
        "DbDown": db_down,
        "NatsDown": nats_down,
        "Aborts": aborts,
        "SyncEcho": sync_echo,
        "SyncUnimplemented": sync_unimplemented,
        "Slow": slow,
    }
    handlers = {n: grpc.unary_unary_rpc_method_handler(f, **codec) for n, f in unary.items()}
    handlers["CountUp"] = grpc.unary_stream_rpc_method_handler(count_up, **codec)
    handlers["SyncCount"] = grpc.unary_stream_rpc_method_handler(sync_count, **codec)
    handlers["StreamDbDown"] = grpc.unary_stream_rpc_method_handler(stream_db_down, **codec)
    handlers["Join"] = grpc.stream_unary_rpc_method_handler(join, **codec)
    handlers["Shout"] = grpc.stream_stream_rpc_method_handler(shout, **codec)
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


def make_server(probe: Probe, interceptor: ServiceInterceptor | None = None) -> GrpcServer:
    server = GrpcServer(0, "127.0.0.1", interceptors=[interceptor or ServiceInterceptor(SECRET)])
    server.add_generic(echo_service(probe), SERVICE)
    return server


def token(sites: list[str], scopes: list[str], secret: str = SECRET, **kw: Any) -> str:
    return issue_token(secret, subject="tester", sites=sites, scopes=scopes, **kw)


GOOD = auth_metadata(token(["a"], ["ingest"]))


def stub(channel: grpc.aio.Channel, method: str, kind: str = "unary_unary") -> Any:
    return getattr(channel, kind)(
        f"/{SERVICE}/{method}",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )


async def rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def target() -> AsyncIterator[str]:
    async with serving(make_server(Probe())) as port:
        yield f"127.0.0.1:{port}"


@pytest.fixture
async def channel(target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(target) as ch:
        yield ch


# --- auth --------------------------------------------------------------------------------------


async def test_valid_token_reaches_handler_with_principal(channel: grpc.aio.Channel) -> None:
    reply = await stub(channel, "Echo")(StringValue(value="a"), metadata=GOOD)
    assert reply.value == "tester:a"


async def test_no_token_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    err = await rpc_error(stub(channel, "Echo")(StringValue(value="a")))
    assert (err.code(), err.details()) == (grpc.StatusCode.UNAUTHENTICATED, "Missing bearer token")


async def test_non_bearer_header_is_unauthenticated(channel: grpc.aio.Channel) -> None:
    md = (("authorization", "Basic dXNlcjpwYXNz"),)
    err = await rpc_error(stub(channel, "Echo")(StringValue(value="a"), metadata=md))
    assert (err.code(), err.details()) == (grpc.StatusCode.UNAUTHENTICATED, "Missing bearer token")


@pytest.mark.parametrize(
    ("bad_token", "details"),
    [
        (
            token(["a"], ["ingest"], secret="another-secret-that-is-long-enough!!"),
            "Invalid token signature",
        ),
        (token(["a"], ["ingest"], ttl_seconds=60, now=time.time() - 3600), "Token expired"),
        ("not-a-jwt", "Malformed token"),
    ],
)
async def test_bad_tokens_are_unauthenticated(
    channel: grpc.aio.Channel, bad_token: str, details: str
) -> None:
    call = stub(channel, "Echo")(StringValue(value="a"), metadata=auth_metadata(bad_token))
    err = await rpc_error(call)
    assert (err.code(), err.details()) == (grpc.StatusCode.UNAUTHENTICATED, details)


async def test_site_outside_token_is_permission_denied(channel: grpc.aio.Channel) -> None:
    err = await rpc_error(stub(channel, "Echo")(StringValue(value="b"), metadata=GOOD))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert err.details() == "token does not grant site 'b'"


async def test_missing_scope_is_permission_denied(channel: grpc.aio.Channel) -> None:
    md = auth_metadata(token(["a"], ["read"]))
    err = await rpc_error(stub(channel, "Echo")(StringValue(value="a"), metadata=md))
    assert (err.code(), err.details()) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "token lacks scope 'ingest'",
    )


async def test_dev_mode_runs_without_tokens() -> None:
    with pytest.raises(ConfigError):
        ServiceInterceptor(None)  # fail closed: no secret and no dev flag
    server = make_server(Probe(), ServiceInterceptor(None, dev_mode=True))
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        reply = await stub(ch, "Echo")(StringValue(value="any-site"))
    assert reply.value == "dev:any-site"


# --- error mapping -----------------------------------------------------------------------------


async def test_invalid_argument_carries_field_errors(channel: grpc.aio.Channel) -> None:
    err = await rpc_error(stub(channel, "Invalid")(StringValue(value=PII), metadata=GOOD))
    assert (err.code(), err.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "conversion rejected")
    trailing = dict(err.trailing_metadata() or ())
    assert json.loads(trailing["x-field-errors"]) == [
        {"field": "user_data.email", "code": "invalid_format", "message": "not an email address"},
        {"field": "value", "code": "negative", "message": "value must not be negative"},
    ]
    assert PII not in trailing["x-field-errors"]


async def test_resource_exhausted_carries_retry_after(channel: grpc.aio.Channel) -> None:
    err = await rpc_error(stub(channel, "Limited")(StringValue(value="a"), metadata=GOOD))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.details() == "rate limit for site 'a' (retry after 1500 ms)"
    assert dict(err.trailing_metadata() or ())["retry-after-ms"] == "1500"


@pytest.mark.parametrize(
    ("method", "code", "details"),
    [
        ("Unavailable", grpc.StatusCode.UNAVAILABLE, "database unavailable"),
        ("Missing", grpc.StatusCode.NOT_FOUND, "conversion c-1 not found"),
        ("Aborts", grpc.StatusCode.DATA_LOSS, "handler chose this"),  # handler's own abort kept
        ("SyncUnimplemented", grpc.StatusCode.UNIMPLEMENTED, "Method not implemented"),
    ],
)
async def test_other_statuses(
    channel: grpc.aio.Channel, method: str, code: grpc.StatusCode, details: str
) -> None:
    err = await rpc_error(stub(channel, method)(StringValue(value="a"), metadata=GOOD))
    assert (err.code(), err.details()) == (code, details)


async def test_unexpected_exception_is_internal_and_logged_without_payload(
    channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hubkit.grpcx"):
        err = await rpc_error(stub(channel, "Boom")(StringValue(value=PII), metadata=GOOD))
    assert (err.code(), err.details()) == (grpc.StatusCode.INTERNAL, "internal error")
    [record] = [r for r in caplog.records if r.name == "hubkit.grpcx"]
    assert "/test.Echo/Boom" in record.getMessage()
    assert record.exc_info is not None and "database exploded" in caplog.text
    assert PII not in caplog.text


@pytest.mark.parametrize(
    ("method", "details"),
    [
        ("DbDown", "PostgreSQL is unavailable (retry after 1000 ms)"),
        ("NatsDown", "NATS is unavailable (retry after 1000 ms)"),
    ],
)
async def test_a_dependency_down_is_unavailable_with_a_retry_delay_and_one_line(
    channel: grpc.aio.Channel,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    details: str,
) -> None:
    monkeypatch.setattr(grpcx, "_outages", OutageLog(logging.getLogger("hubkit.grpcx")))
    with caplog.at_level(logging.WARNING, logger="hubkit.grpcx"):
        err = await rpc_error(stub(channel, method)(StringValue(value=PII), metadata=GOOD))
    assert (err.code(), err.details()) == (grpc.StatusCode.UNAVAILABLE, details)
    assert dict(err.trailing_metadata() or ())["retry-after-ms"] == "1000"
    [record] = [r for r in caplog.records if r.name == "hubkit.grpcx"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert f"/{SERVICE}/{method}" in record.getMessage()
    assert PII not in caplog.text and "INSERT" not in caplog.text


async def test_a_dependency_lost_mid_stream_is_unavailable(channel: grpc.aio.Channel) -> None:
    call = stub(channel, "StreamDbDown", "unary_stream")(StringValue(value="a"), metadata=GOOD)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for reply in call:
            received.append(reply.value)
    assert received == ["first"]
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    assert dict(info.value.trailing_metadata() or ())["retry-after-ms"] == "1000"


async def test_unknown_method_is_unimplemented(channel: grpc.aio.Channel) -> None:
    err = await rpc_error(stub(channel, "NoSuchMethod")(StringValue(value="a"), metadata=GOOD))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


# --- every handler shape -----------------------------------------------------------------------


async def test_sync_unary_handler_sees_principal(channel: grpc.aio.Channel) -> None:
    reply = await stub(channel, "SyncEcho")(StringValue(value="x"), metadata=GOOD)
    assert reply.value == "sync:tester:x"
    err = await rpc_error(stub(channel, "SyncEcho")(StringValue(value="x")))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_stream_keeps_principal_and_maps_late_errors(
    channel: grpc.aio.Channel,
) -> None:
    call = stub(channel, "CountUp", "unary_stream")(StringValue(value="a"), metadata=GOOD)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for reply in call:
            received.append(reply.value)
    assert received == ["tester:a:0", "tester:a:1", "tester:a:2"]
    assert (info.value.code(), info.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "stream ended badly",
    )


async def test_unary_stream_without_token(channel: grpc.aio.Channel) -> None:
    call = stub(channel, "CountUp", "unary_stream")(StringValue(value="a"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_sync_unary_stream(channel: grpc.aio.Channel) -> None:
    call = stub(channel, "SyncCount", "unary_stream")(StringValue(value="a"), metadata=GOOD)
    assert [r.value async for r in call] == ["tester:0", "tester:1"]


async def test_stream_unary(channel: grpc.aio.Channel) -> None:
    requests = [StringValue(value=v) for v in ("a", "b", "c")]
    reply = await stub(channel, "Join", "stream_unary")(iter(requests), metadata=GOOD)
    assert reply.value == "tester:a,b,c"
    err = await rpc_error(stub(channel, "Join", "stream_unary")(iter(requests)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_stream_stream(channel: grpc.aio.Channel) -> None:
    requests = [StringValue(value=v) for v in ("hi", "stop", "never")]
    call = stub(channel, "Shout", "stream_stream")(iter(requests), metadata=GOOD)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for reply in call:
            received.append(reply.value)
    assert received == ["HI", "STOP"]
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert dict(info.value.trailing_metadata() or ())["retry-after-ms"] == "250"


# --- health and reflection ---------------------------------------------------------------------


async def test_health_serving_without_token(target: str) -> None:
    assert await check_health(target) == "SERVING"
    assert await check_health(target, service=SERVICE) == "SERVING"


async def test_reflection_lists_services_without_token(channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    names = set()
    async for response in reflection.ServerReflectionInfo(iter([request])):
        names |= {s.name for s in response.list_services_response.service}
    assert names == {
        SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


# --- startup and shutdown ----------------------------------------------------------------------


async def test_register_after_start_and_twice_refused() -> None:
    server = make_server(Probe())
    with pytest.raises(ValueError, match="twice"):
        server.add_generic(echo_service(Probe()), SERVICE)
    async with serving(server):
        with pytest.raises(RuntimeError):
            server.add_generic(echo_service(Probe()), "test.Other")


async def test_graceful_shutdown_order_and_drain() -> None:
    probe = Probe()
    server = make_server(probe)
    port = await server.start()
    target = f"127.0.0.1:{port}"
    stop = asyncio.Event()

    async def stop_consumers() -> None:
        # Runs while the server still answers RPCs, after readiness went NOT_SERVING.
        overall = await check_health(target)
        service = await check_health(target, service=SERVICE)
        probe.events.append(f"stop consumers: health {overall}/{service}")

    async def close_pools() -> None:
        probe.events.append("close pools")

    runner = asyncio.create_task(
        run_until_shutdown(
            server, on_shutdown=[stop_consumers, close_pools], grace=5.0, stop_event=stop
        )
    )
    async with grpc.aio.insecure_channel(target) as ch:
        in_flight = asyncio.ensure_future(stub(ch, "Slow")(StringValue(value="a"), metadata=GOOD))
        await asyncio.wait_for(probe.slow_started.wait(), 5)
        started = time.monotonic()
        stop.set()
        assert (await in_flight).value == "slow done"  # the in-flight RPC drains during grace
        await asyncio.wait_for(runner, 5)
        elapsed = time.monotonic() - started

    assert probe.events == [
        "stop consumers: health NOT_SERVING/NOT_SERVING",
        "close pools",
        "slow RPC finished",
    ]
    assert elapsed < 4.0  # returned once drained, not after the whole grace
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await check_health(target, timeout=0.5)
    assert info.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


async def test_failing_shutdown_callback_does_not_keep_server_up() -> None:
    server = make_server(Probe())
    port = await server.start()
    stop = asyncio.Event()
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("consumer stop failed")

    async def after() -> None:
        ran.append("after")

    stop.set()
    await asyncio.wait_for(
        run_until_shutdown(server, on_shutdown=[broken, after], grace=1.0, stop_event=stop), 5
    )
    assert ran == ["after"]
    with pytest.raises(grpc.aio.AioRpcError):
        await check_health(f"127.0.0.1:{port}", timeout=0.5)


async def test_sigterm_triggers_shutdown() -> None:
    server = make_server(Probe())
    port = await server.start()
    runner = asyncio.create_task(run_until_shutdown(server, grace=1.0))
    try:
        await wait_for(
            lambda: signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None),
            within=1,
            what="a SIGTERM handler installed by run_until_shutdown",
        )
    except AssertionError:
        await server.stop(0)
        runner.cancel()
        raise
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(runner, 5)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handler removed again
    with pytest.raises(grpc.aio.AioRpcError):
        await check_health(f"127.0.0.1:{port}", timeout=0.5)
