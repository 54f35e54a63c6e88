"""Wiring: one call puts the dispatch machinery for a platform adapter into a ServiceRuntime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from sqlalchemy import MetaData

from hubkit.bus import PullConsumer
from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ERASURES, ensure_stream
from hubkit.db.outbox import OutboxRelay
from hubkit.dispatch.dispatcher import Dispatcher
from hubkit.dispatch.erasure import ErasureIntake, erasure_consumer_spec
from hubkit.dispatch.intake import DispatchIntake, consumer_spec
from hubkit.dispatch.ports import PlatformAdapter
from hubkit.dispatch.servicer import DispatchServicer
from hubkit.dispatch.tables import LedgerTables, ledger_tables
from hubkit.service import ServiceRuntime


@dataclass
class DispatchComponents:
    tables: LedgerTables
    relay: OutboxRelay
    dispatcher: Dispatcher
    intake: DispatchIntake
    consumer: PullConsumer
    servicer: DispatchServicer
    erasures: PullConsumer


class _Topology:
    """Declares the streams a dispatcher reads and writes (idempotent) before anything runs."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def start(self) -> None:
        for spec in (DISPATCH, DELIVERY, DEADLETTER, ERASURES):
            await ensure_stream(self._js, spec)

    async def stop(self) -> None:
        pass


def install(
    rt: ServiceRuntime,
    adapter: PlatformAdapter[Any],
    *,
    schema: str,
    consumer_concurrency: int = 4,
    durable: str = "",
) -> DispatchComponents:
    """Register the DispatchService and the workers, in start order: streams, outbox relay,
    dispatcher, consumer. Shutdown runs in reverse: the consumer stops taking messages, the
    dispatcher drains its in-flight requests, the relay publishes what they staged last.

    The durable consumer names are constants ("dispatch-<platform>" unless `durable` is given),
    never OTEL_SERVICE_NAME: renaming the tracing service must not create a new consumer that
    replays the whole stream."""
    tables = ledger_tables(MetaData(), schema)
    js = rt.js
    relay = OutboxRelay(rt.engine, tables.outbox, rt.publisher())
    dispatcher = Dispatcher(adapter, rt.engine, tables, on_staged=relay.notify)
    intake = DispatchIntake(
        adapter, rt.engine, tables, on_pending=dispatcher.notify, on_staged=relay.notify
    )
    durable = durable or default_durable(adapter)
    spec = consumer_spec(durable, adapter.platform.value)
    consumer = PullConsumer(js, spec, intake, concurrency=consumer_concurrency, fetch_batch=16)
    eraser = ErasureIntake(adapter.platform, rt.engine, tables, on_staged=relay.notify)
    # One at a time: erasures are rare, and two touching one conversion would only contend.
    erasures = PullConsumer(js, erasure_consumer_spec(durable), eraser, concurrency=1)

    async def stream_pending() -> int:
        info = await js.consumer_info(spec.stream, spec.durable)
        return int(info.num_pending or 0)

    servicer = DispatchServicer(
        dispatcher, rt.engine, tables, stream_pending=stream_pending, on_staged=relay.notify
    )
    servicer.register(rt.server)
    rt.add_worker(_Topology(js))
    rt.add_worker(relay)
    rt.add_worker(dispatcher)
    rt.add_worker(erasures)  # started before the intake, stopped after it
    rt.add_worker(consumer)
    rt.on_close(adapter.close)
    return DispatchComponents(tables, relay, dispatcher, intake, consumer, servicer, erasures)


def default_durable(adapter: PlatformAdapter[Any]) -> str:
    """The dispatcher's durable consumer name: "dispatch-meta", "dispatch-google", ..."""
    return f"dispatch-{adapter.platform.value}"
