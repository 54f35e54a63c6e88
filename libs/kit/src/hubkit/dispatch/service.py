"""Wiring: one call puts the dispatch machinery for a platform adapter into a ServiceRuntime."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from sqlalchemy import MetaData

from hubkit.bus import PullConsumer
from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ensure_stream
from hubkit.db.outbox import OutboxRelay
from hubkit.dispatch.dispatcher import Dispatcher
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


class _Topology:
    """Declares the streams a dispatcher reads and writes (idempotent) before anything runs."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def start(self) -> None:
        for spec in (DISPATCH, DELIVERY, DEADLETTER):
            await ensure_stream(self._js, spec)

    async def stop(self) -> None:
        pass


def install(
    rt: ServiceRuntime,
    adapter: PlatformAdapter,
    *,
    schema: str,
    consumer_concurrency: int = 4,
) -> DispatchComponents:
    """Register the DispatchService and the workers, in start order: streams, outbox relay,
    dispatcher, consumer. Shutdown runs in reverse: the consumer stops taking messages, the
    dispatcher drains its in-flight requests, the relay publishes what they staged last."""
    tables = ledger_tables(MetaData(), schema)
    js = rt.js
    relay = OutboxRelay(rt.engine, tables.outbox, rt.publisher())
    dispatcher = Dispatcher(adapter, rt.engine, tables, on_staged=relay.notify)
    intake = DispatchIntake(
        adapter, rt.engine, tables, on_pending=dispatcher.notify, on_staged=relay.notify
    )
    spec = consumer_spec(rt.settings.service_name, adapter.platform.value)
    consumer = PullConsumer(js, spec, intake, concurrency=consumer_concurrency, fetch_batch=16)

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
    rt.add_worker(consumer)
    rt.on_close(adapter.close)
    return DispatchComponents(tables, relay, dispatcher, intake, consumer, servicer)
