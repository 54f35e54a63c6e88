"""Service runtime: what every convhub main.py does around its own wiring, written once.

async def main() -> None:
    settings = load(Settings)
    async with ServiceRuntime(settings) as rt:       # logs, traces, NATS, Postgres, auth
        app = ...                                     # build the core on rt's adapters
        rt.server.add(...)                            # gRPC servicers
        rt.add_worker(PullConsumer(rt.js, ...))       # started after the server
        await rt.serve()                              # until SIGTERM, then ordered drain
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Protocol, Self

from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.auth import require_auth_config, resolve_jwt_secret
from hubkit.bus import JetStreamPublisher, connect, ensure_streams
from hubkit.config import BaseSettings
from hubkit.db import make_engine
from hubkit.errors import ConfigError
from hubkit.grpcx import GrpcServer, ServiceInterceptor, run_until_shutdown
from hubkit.telemetry import Telemetry, configure_logging, init_telemetry

log = logging.getLogger(__name__)


class Worker(Protocol):
    """A background component (consumer, relay, batcher) with an ordered start and stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ServiceRuntime:
    def __init__(self, settings: BaseSettings, *, use_database: bool = True) -> None:
        self.settings = settings
        self._use_database = use_database
        self.telemetry: Telemetry | None = None
        self.nc: Client | None = None
        self._engine: AsyncEngine | None = None
        self._server: GrpcServer | None = None
        self._workers: list[Worker] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []

    async def __aenter__(self) -> Self:
        s = self.settings
        configure_logging(s.service_name, s.log_level)
        # Before any server or channel exists: the gRPC instrumentation patches their factories.
        self.telemetry = init_telemetry(s.service_name)
        secret = resolve_jwt_secret(s.jwt_secret, s.jwt_secret_file)
        require_auth_config(secret, s.dev_no_auth)  # fail closed before opening anything
        self._server = GrpcServer(
            s.grpc_port,
            s.grpc_host,
            interceptors=[ServiceInterceptor(secret, dev_mode=s.dev_no_auth)],
            max_message_bytes=s.grpc_max_message_bytes,
        )
        self.nc = await connect(s.nats_url, name=s.service_name)
        await ensure_streams(self.nc.jetstream())  # idempotent; whoever starts first declares
        if self._use_database:
            self._engine = make_engine(s.database_url)
        return self

    @property
    def server(self) -> GrpcServer:
        assert self._server is not None, "use inside `async with`"
        return self._server

    @property
    def nats(self) -> Client:
        assert self.nc is not None, "use inside `async with`"
        return self.nc

    @property
    def js(self) -> JetStreamContext:
        assert self.nc is not None, "use inside `async with`"
        return self.nc.jetstream()

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "this service has no database"
        return self._engine

    def publisher(self) -> JetStreamPublisher:
        return JetStreamPublisher(self.js)

    def add_worker(self, worker: Worker) -> None:
        """Started before the gRPC server listens; stopped, in reverse order, before it drains."""
        self._workers.append(worker)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        self._closers.append(closer)

    async def serve(self, stop_event: asyncio.Event | None = None) -> None:
        # Workers first: health says SERVING only once everything behind it is running.
        for worker in self._workers:
            await worker.start()
        await self.server.start()
        await run_until_shutdown(
            self.server,
            on_shutdown=[w.stop for w in reversed(self._workers)],
            grace=self.settings.shutdown_grace_seconds,
            stop_event=stop_event,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("closing %r failed", closer)
        if self.nc is not None and self.nc.is_connected:
            await self.nc.drain()
        if self._engine is not None:
            await self._engine.dispose()
        if self.telemetry is not None:
            self.telemetry.flush()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Entry point of `python -m <service>.main`: a configuration problem stops the service
    with one line naming it (exit 2), not a traceback."""
    try:
        asyncio.run(main())
    except ConfigError as exc:
        module = main.__module__
        if module == "__main__":  # `python -m <package>.main`: the module's own name
            spec = getattr(sys.modules["__main__"], "__spec__", None)
            module = spec.name if spec is not None else module
        name = module.split(".")[0].replace("_", "-")
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
