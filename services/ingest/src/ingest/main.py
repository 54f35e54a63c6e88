"""Composition root of ingest: build adapters, hand them to the use cases, serve until SIGTERM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from convhub.ingest.v1 import ingest_pb2_grpc
from hubkit.config import load
from hubkit.db import OutboxRelay
from hubkit.service import ServiceRuntime, run
from ingest.adapters.grpc_api import IngestServicer
from ingest.adapters.metrics import OtelIngestMetrics
from ingest.adapters.nats_inbound import NatsInbound
from ingest.adapters.nats_status import status_consumers
from ingest.adapters.orm import outbox
from ingest.adapters.site_policies import kv_site_policies
from ingest.adapters.sql_status import SqlStatusStore
from ingest.adapters.sql_store import DedupeKeyJanitor, SqlConversionStore
from ingest.adapters.system import new_conversion_id
from ingest.app.admission import RateLimits
from ingest.app.erasure import EraseUser
from ingest.app.ingestion import IngestConversions
from ingest.config import Settings
from ingest.domain.validation import Limits


async def main(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM (or `stop`, for tests that run the service in-process)."""
    settings = settings or load(Settings)
    async with ServiceRuntime(settings) as rt:
        relay = OutboxRelay(rt.engine, outbox, rt.publisher())
        store = SqlConversionStore(rt.engine, on_commit=relay.notify)
        status = SqlStatusStore(rt.engine)
        policies = kv_site_policies(rt.js)
        limits = RateLimits(
            site_rate=settings.site_rate_per_second, caller_rate=settings.caller_rate_per_second
        )
        ingest = IngestConversions(
            store,
            policies,
            OtelIngestMetrics(),
            clock=lambda: datetime.now(UTC),
            new_id=new_conversion_id,
            limits=Limits(
                max_age=timedelta(days=settings.max_event_age_days),
                future_skew=timedelta(seconds=settings.future_skew_seconds),
            ),
        )
        rt.server.add(
            ingest_pb2_grpc.add_IngestServiceServicer_to_server,
            IngestServicer(
                ingest, EraseUser(store, policies), status, limits, max_batch=settings.max_batch
            ),
            "convhub.ingest.v1.IngestService",
        )
        # Start order = this order; stop order is the reverse: inbound first, the relay last,
        # so everything accepted during the drain is still published.
        rt.add_worker(relay)
        rt.add_worker(policies)
        rt.add_worker(DedupeKeyJanitor(rt.engine))
        for consumer in status_consumers(rt.js, status):
            rt.add_worker(consumer)
        rt.add_worker(
            NatsInbound(
                rt.nats,
                ingest,
                limits,
                max_batch=settings.max_batch,
                concurrency=settings.inbound_concurrency,
            )
        )
        await rt.serve(stop)


if __name__ == "__main__":
    run(main)
