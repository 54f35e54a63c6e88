"""Wiring: the dispatch engine for one destination, as components or put into a ServiceRuntime."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.js import JetStreamContext
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.bus import JetStreamPublisher, PullConsumer
from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ERASURES, ensure_stream
from hubkit.config import load
from hubkit.db.outbox import OutboxRelay
from hubkit.dispatch.config import DispatchSettings
from hubkit.dispatch.dispatcher import Dispatcher
from hubkit.dispatch.erasure import ErasureIntake, erasure_consumer_spec
from hubkit.dispatch.intake import DispatchIntake, consumer_spec
from hubkit.dispatch.ports import PlatformAdapter, ReportsLater
from hubkit.dispatch.reports import RequestReports
from hubkit.dispatch.servicer import DispatchServicer
from hubkit.dispatch.tables import LedgerTables, ledger_tables
from hubkit.service import ServiceRuntime


class _Topology:
    """Declares the streams a dispatcher reads and writes (idempotent) before anything runs."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def start(self) -> None:
        for spec in (DISPATCH, DELIVERY, DEADLETTER, ERASURES):
            await ensure_stream(self._js, spec)

    async def stop(self) -> None:
        pass


@dataclass
class DispatchComponents:
    """One destination's engine: what a process hosting it starts, in `workers()` order."""

    adapter: PlatformAdapter[Any]
    tables: LedgerTables
    relay: OutboxRelay
    dispatcher: Dispatcher
    intake: DispatchIntake
    consumer: PullConsumer
    servicer: DispatchServicer
    erasures: PullConsumer
    topology: _Topology
    reports: RequestReports | None = None  # platforms that report on requests later

    def workers(self) -> list[Any]:
        """Start order: streams, outbox relay, dispatcher, reports, erasures, consumer. Stopped
        in reverse: the consumer stops taking messages, the dispatcher drains its in-flight
        requests, the relay publishes what they staged last."""
        reports = [self.reports] if self.reports is not None else []
        return [self.topology, self.relay, self.dispatcher, *reports, self.erasures, self.consumer]


def components(
    engine: AsyncEngine,
    js: JetStreamContext,
    adapter: PlatformAdapter[Any],
    *,
    schema: str,
    durable: str = "",
    consumer_concurrency: int = 4,
    fetch_timeout: float = 1.0,
    relay_poll: float = 0.5,
) -> DispatchComponents:
    """The engine for `adapter`, its ledger in `schema` (brought to head by the ledger
    migrations). The durable consumer names are constants ("dispatch-<platform>" unless
    `durable` is given), never OTEL_SERVICE_NAME: renaming the tracing service must not create
    a new consumer that replays the whole stream."""
    tables = ledger_tables(MetaData(), schema)
    relay = OutboxRelay(engine, tables.outbox, JetStreamPublisher(js), poll_interval=relay_poll)
    dispatcher = Dispatcher(adapter, engine, tables, on_staged=relay.notify)
    intake = DispatchIntake(
        adapter,
        engine,
        tables,
        on_pending=dispatcher.notify,
        on_staged=relay.notify,
        metrics=dispatcher.metrics,
    )
    durable = durable or default_durable(adapter)
    spec = consumer_spec(durable, adapter.platform.value)
    consumer = PullConsumer(
        js,
        spec,
        intake,
        concurrency=consumer_concurrency,
        fetch_batch=16,
        fetch_timeout=fetch_timeout,
    )
    eraser = ErasureIntake(adapter.platform, engine, tables, on_staged=relay.notify)
    # One at a time: erasures are rare, and two touching one conversion would only contend.
    erasures = PullConsumer(
        js, erasure_consumer_spec(durable), eraser, concurrency=1, fetch_timeout=fetch_timeout
    )

    async def stream_pending() -> int:
        info = await js.consumer_info(spec.stream, spec.durable)
        return int(info.num_pending or 0)

    servicer = DispatchServicer(
        dispatcher, engine, tables, stream_pending=stream_pending, on_staged=relay.notify
    )
    reports = None
    if isinstance(adapter, ReportsLater):
        reports = RequestReports(
            adapter.platform,
            adapter,
            engine,
            tables,
            metrics=dispatcher.metrics,
            retry_horizon=adapter.policy.retry_horizon,
            on_staged=relay.notify,
        )
    return DispatchComponents(
        adapter,
        tables,
        relay,
        dispatcher,
        intake,
        consumer,
        servicer,
        erasures,
        _Topology(js),
        reports,
    )


def install(
    rt: ServiceRuntime,
    adapter: PlatformAdapter[Any],
    *,
    schema: str,
    consumer_concurrency: int = 4,
    durable: str = "",
) -> DispatchComponents:
    """Put the engine into a service: DispatchService on its gRPC server, the workers in order,
    the adapter closed at the end."""
    parts = components(
        rt.engine,
        rt.js,
        adapter,
        schema=schema,
        durable=durable,
        consumer_concurrency=consumer_concurrency,
    )
    parts.servicer.register(rt.server)
    for worker in parts.workers():
        rt.add_worker(worker)
    rt.on_close(adapter.close)
    return parts


def default_durable(adapter: PlatformAdapter[Any]) -> str:
    """The dispatcher's durable consumer name: "dispatch-meta", "dispatch-sgtm", ..."""
    return f"dispatch-{adapter.platform.value}"


S = TypeVar("S", bound=DispatchSettings)


async def serve_dispatcher(
    settings_type: type[S], build_platform: Callable[[S], PlatformAdapter[Any]]
) -> None:
    """The `main()` of a dispatcher service (`run(lambda: serve_dispatcher(...))`): settings
    from the environment, its adapter, the engine installed, served until SIGTERM. A
    configuration problem raises ConfigError, which `hubkit.service.run` turns into one line."""
    settings = load(settings_type)
    platform = build_platform(settings)
    async with ServiceRuntime(settings) as rt:
        # One line per platform request says nothing the attempt audit and metrics don't.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        install(
            rt,
            platform,
            schema=settings.db_schema,
            consumer_concurrency=settings.consumer_concurrency,
        )
        _tune_gc()
        await rt.serve()


def _tune_gc() -> None:
    """Leave what startup built (modules, the runtime) out of every collection, and collect the
    young generation less often: the engine allocates tens of objects per event, and with the
    defaults the collector took ~10 % of the dispatcher's CPU under a backlog."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
