"""gRPC aio adapter kit: auth + domain-error interceptor, server bootstrap, ordered shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import math
import signal
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hubkit.auth import (
    DEV_FLAG,
    DEV_PRINCIPAL,
    Principal,
    TokenVerifier,
    require_auth_config,
    use_principal,
)
from hubkit.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from hubkit.outages import OUTAGE_RETRY_AFTER, OutageLog, outage_of

_log = logging.getLogger(__name__)
_outages = OutageLog(_log)

Metadata = tuple[tuple[str, str], ...]

AUTHORIZATION_KEY = "authorization"
FIELD_ERRORS_KEY = "x-field-errors"
RETRY_AFTER_KEY = "retry-after-ms"
MISSING_TOKEN = "Missing bearer token"
INTERNAL_ERROR = "internal error"
# Probes and grpcurl must work without a token.
EXEMPT_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
# Clients refuse metadata over 8 KiB by default; field errors beyond this budget are dropped.
_FIELD_ERRORS_BUDGET = 4096

_STATUS_CODES: dict[type[DomainError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(exc: DomainError) -> tuple[grpc.StatusCode, str, Metadata]:
    """The gRPC code, details and trailing metadata a domain error is answered with."""
    # Walk the MRO so a service's own subclasses (e.g. InvalidConversion) map like their base.
    code = next(
        (_STATUS_CODES[t] for t in type(exc).__mro__ if t in _STATUS_CODES),
        grpc.StatusCode.UNKNOWN,
    )
    details = exc.message
    trailing: Metadata = ()
    if isinstance(exc, InvalidArgument) and exc.field_errors:
        trailing += ((FIELD_ERRORS_KEY, _encode_field_errors(exc)),)
    retry_after = exc.retry_after if isinstance(exc, ResourceExhausted | Unavailable) else None
    if retry_after is not None:
        ms = math.ceil(retry_after * 1000)
        trailing += ((RETRY_AFTER_KEY, str(ms)),)
        details = f"{details} (retry after {ms} ms)"
    return code, details, trailing


def _encode_field_errors(exc: InvalidArgument) -> str:
    # ensure_ascii: metadata values must be printable ASCII. Messages never carry raw values.
    items: list[str] = []
    size = 2
    for fe in exc.field_errors:
        item = json.dumps({"field": fe.field, "code": fe.code, "message": fe.message})
        size += len(item) + 1
        if size > _FIELD_ERRORS_BUDGET:
            break
        items.append(item)
    return "[" + ",".join(items) + "]"


# --- interceptor ------------------------------------------------------------------------------


class ServiceInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates every call (bearer JWT) and turns exceptions into gRPC statuses.

    The handler runs with `hubkit.auth.current_principal()` set. DomainErrors become their status
    code. A dependency down or restarting (PostgreSQL, NATS: `hubkit.outages`) is UNAVAILABLE
    with a `retry-after-ms` trailer and one log line, no traceback. Anything else is a bug:
    logged with its traceback and answered INTERNAL "internal error", never leaking details.
    With no secret and `dev_mode`, every call acts as DEV_PRINCIPAL (all sites, all scopes).
    """

    def __init__(
        self,
        secret: str | None,
        *,
        dev_mode: bool = False,
        leeway: float = 30.0,
        exempt_services: Iterable[str] = EXEMPT_SERVICES,
    ) -> None:
        require_auth_config(secret, dev_mode)  # fail closed at construction, i.e. at startup
        self._verifier = TokenVerifier(secret, leeway=leeway) if secret else None
        self._exempt = frozenset(exempt_services)
        if self._verifier is None:
            _log.warning(
                "gRPC auth is DISABLED (%s): every call acts as admin of all sites", DEV_FLAG
            )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or _service_of(method) in self._exempt:
            return handler
        metadata = handler_call_details.invocation_metadata or ()
        return _wrap_handler(handler, method, lambda: self.authenticate(metadata))

    def authenticate(self, metadata: Iterable[tuple[str, Any]]) -> Principal:
        """The caller named by `authorization: Bearer <jwt>`; raises Unauthenticated."""
        if self._verifier is None:
            return DEV_PRINCIPAL
        header = next((v for k, v in metadata if k == AUTHORIZATION_KEY), None)
        if not header:
            raise Unauthenticated(MISSING_TOKEN)
        scheme, _, token = str(header).strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(MISSING_TOKEN)
        return self._verifier.verify(token.strip())


def _service_of(method: str) -> str:
    return method.lstrip("/").partition("/")[0]  # "/pkg.Service/Method" -> "pkg.Service"


def _wrap_handler(
    handler: grpc.RpcMethodHandler, method: str, authenticate: Callable[[], Principal]
) -> grpc.RpcMethodHandler:
    if handler.request_streaming and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    return factory(
        _wrap_behavior(behavior, method, authenticate),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _wrap_behavior(
    behavior: Callable[..., Any], method: str, authenticate: Callable[[], Principal]
) -> Callable[..., Any]:
    # Keep the behaviour's shape: grpc.aio awaits coroutines, iterates async generators, and runs
    # plain functions/generators in its thread pool with a synchronous context (whose abort()
    # raises instead of returning a coroutine). Generated servicer stubs are plain functions.
    if inspect.isasyncgenfunction(behavior):

        async def async_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                principal = authenticate()
                responses = behavior(request, context)
                try:
                    while True:
                        # Bind per step, never across a yield: the consumer may resume us elsewhere.
                        with use_principal(principal):
                            try:
                                response = await anext(responses)
                            except StopAsyncIteration:
                                return
                        yield response
                finally:
                    await responses.aclose()
            except Exception as exc:
                await context.abort(*_status_of(exc, method))

        return async_stream

    if inspect.iscoroutinefunction(behavior):

        async def async_call(request: Any, context: Any) -> Any:
            try:
                with use_principal(authenticate()):
                    return await behavior(request, context)
            except Exception as exc:
                await context.abort(*_status_of(exc, method))

        return async_call

    if inspect.isgeneratorfunction(behavior):

        def sync_stream(request: Any, context: Any) -> Iterator[Any]:
            try:
                principal = authenticate()
                responses = behavior(request, context)
                try:
                    while True:
                        with use_principal(principal):
                            try:
                                response = next(responses)
                            except StopIteration:
                                return
                        yield response
                finally:
                    responses.close()
            except Exception as exc:
                context.abort(*_status_of(exc, method))

        return sync_stream

    def sync_call(request: Any, context: Any) -> Any:
        try:
            with use_principal(authenticate()):
                return behavior(request, context)
        except Exception as exc:
            context.abort(*_status_of(exc, method))

    return sync_call


def _status_of(exc: Exception, method: str) -> tuple[grpc.StatusCode, str, Metadata]:
    if isinstance(exc, grpc.aio.AbortError):
        raise exc  # the handler aborted with its own status: keep it
    if isinstance(exc, DomainError):
        return status_for(exc)
    if isinstance(exc, NotImplementedError):  # what generated servicer stubs raise
        return grpc.StatusCode.UNIMPLEMENTED, "Method not implemented", ()
    outage = outage_of(exc)
    if outage is not None:  # PostgreSQL or NATS down or restarting: retryable, not a bug
        answer = Unavailable(f"{outage.dependency} is unavailable", retry_after=OUTAGE_RETRY_AFTER)
        _outages.report(outage, method, f"UNAVAILABLE (retry after {OUTAGE_RETRY_AFTER:g} s)")
        return status_for(answer)
    # Never log the request: it may hold personal data. The method name is enough to find it.
    _log.error("unhandled exception in %s", method, exc_info=exc)
    return grpc.StatusCode.INTERNAL, INTERNAL_ERROR, ()


# --- server -----------------------------------------------------------------------------------

Servicer = Any
ServicerAdder = Callable[[Servicer, Any], None]
ShutdownCallback = Callable[[], Awaitable[None]]


class GrpcServer:
    """A grpc.aio server with standard health and reflection, started and stopped in order.

    Register services before `start()`; each is reported SERVING once the server listens.
    """

    def __init__(
        self,
        port: int,
        host: str = "0.0.0.0",
        *,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        max_message_bytes: int = 8 * 1024 * 1024,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        bare_ipv6 = ":" in host and not host.startswith("[")
        self._address = f"[{host}]:{port}" if bare_ipv6 else f"{host}:{port}"
        self._interceptors = tuple(interceptors)
        self._options: list[tuple[str, Any]] = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            # Without this a second process can bind the same port and silently split traffic.
            ("grpc.so_reuseport", 0),
            *options,
        ]
        self._registrations: list[Callable[[Any], None]] = []
        self._service_names: list[str] = []
        self._server: Any = None
        self._health: Any = None
        self.port: int | None = None

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(self._service_names)

    def add(self, adder: ServicerAdder, servicer: Servicer, service_full_name: str) -> None:
        """Register a generated servicer: `add(x_pb2_grpc.add_XServicer_to_server, s, "pkg.X")`."""
        self._register(lambda server: adder(servicer, server), service_full_name)

    def add_generic(self, handler: grpc.GenericRpcHandler, service_full_name: str) -> None:
        """Register a generic handler (`grpc.method_handlers_generic_handler(...)`)."""
        self._register(
            lambda server: server.add_generic_rpc_handlers((handler,)), service_full_name
        )

    def _register(self, register: Callable[[Any], None], service_full_name: str) -> None:
        if self._server is not None:
            raise RuntimeError("register services before start()")
        if service_full_name in self._service_names:
            raise ValueError(f"service {service_full_name} registered twice")
        self._registrations.append(register)
        self._service_names.append(service_full_name)

    async def start(self) -> int:
        """Bind, start serving and report SERVING; returns the bound port (useful with port 0)."""
        if self._server is not None:
            raise RuntimeError("server already started")
        # Looked up at call time so OpenTelemetry's patched grpc.aio.server is honoured.
        server = grpc.aio.server(interceptors=self._interceptors, options=self._options)
        for register in self._registrations:
            register(server)
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        try:
            port = int(server.add_insecure_port(self._address))
        except RuntimeError as exc:
            raise RuntimeError(f"cannot listen on {self._address}: {exc}") from None
        if port == 0:
            raise RuntimeError(f"cannot listen on {self._address}")
        await server.start()
        self._server, self.port = server, port
        for name in ("", *self._service_names):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        _log.info(
            "gRPC listening on %s (port %d): %s",
            self._address,
            port,
            ", ".join(self._service_names) or "no services",
        )
        return port

    async def set_serving(self, serving: bool, service: str = "") -> None:
        """Flip readiness (e.g. while a dependency is down); ignored once shutdown began."""
        if self._health is None:
            raise RuntimeError("server not started")
        statuses = health_pb2.HealthCheckResponse
        status = statuses.SERVING if serving else statuses.NOT_SERVING
        await self._health.set(service, status)

    async def enter_graceful_shutdown(self) -> None:
        """Report NOT_SERVING for every service, for good; RPCs are still served."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()

    async def stop(self, grace: float | None) -> None:
        """NOT_SERVING, then refuse new RPCs and give in-flight ones `grace` seconds to finish."""
        if self._server is None:
            return
        await self.enter_graceful_shutdown()
        await self._server.stop(grace)

    async def wait_for_termination(self) -> None:
        """Return once the server has stopped; safe to cancel."""
        if self._server is None:
            raise RuntimeError("server not started")
        # grpc.aio awaits its internal shutdown future unshielded: cancelling this wait would
        # cancel that future and make a later stop() raise CancelledError.
        await asyncio.shield(self._server.wait_for_termination())


async def run_until_shutdown(
    server: GrpcServer,
    *,
    on_shutdown: Sequence[ShutdownCallback] = (),
    grace: float = 10.0,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or `stop_event`), then shut down in order.

    1. health NOT_SERVING, so probes take the pod out of rotation;
    2. `on_shutdown` callbacks, in order (stop consumers, finish in-flight messages);
    3. stop accepting RPCs and drain in-flight ones for up to `grace` seconds.
    A failing callback is logged and the sequence goes on: the server must still stop.
    """
    if server.port is None:
        raise RuntimeError("start() the server before run_until_shutdown()")
    loop = asyncio.get_running_loop()
    stop = stop_event if stop_event is not None else asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
            _log.debug("cannot install a %s handler; relying on stop_event", sig.name)
    stop_wait = asyncio.ensure_future(stop.wait())
    terminated = asyncio.ensure_future(server.wait_for_termination())
    try:
        await asyncio.wait((stop_wait, terminated), return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Removed as soon as shutdown starts: a second Ctrl-C then interrupts a stuck drain.
        for sig in installed:
            loop.remove_signal_handler(sig)
        for task in (stop_wait, terminated):
            task.cancel()
        await asyncio.gather(stop_wait, terminated, return_exceptions=True)
    _log.info(
        "shutting down: health NOT_SERVING, %d shutdown callback(s), grace %.1fs",
        len(on_shutdown),
        grace,
    )
    try:
        await server.enter_graceful_shutdown()
        for callback in on_shutdown:
            try:
                await callback()
            except Exception:
                _log.exception("shutdown callback %r failed", callback)
    finally:
        await server.stop(grace)
    _log.info("gRPC server stopped")


# --- client helpers ---------------------------------------------------------------------------


def auth_metadata(token: str) -> Metadata:
    """Call metadata carrying `token`: `stub.Method(req, metadata=auth_metadata(token))`."""
    return ((AUTHORIZATION_KEY, f"Bearer {token}"),)


async def check_health(
    target: str,
    timeout: float = 2.0,  # noqa: ASYNC109 - the RPC deadline, handed to gRPC
    service: str = "",
) -> str:
    """The health status name ("SERVING", "NOT_SERVING", ...) of `service` at `target`.

    Raises grpc.aio.AioRpcError when the server is unreachable or does not know the service.
    """
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


@contextlib.asynccontextmanager
async def serving(server: GrpcServer, grace: float = 0.0) -> AsyncIterator[int]:
    """Start `server` for the block and stop it after; yields the bound port (tests, tools)."""
    port = await server.start()
    try:
        yield port
    finally:
        await server.stop(grace)
