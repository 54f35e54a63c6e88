"""Composition root of ingest: build adapters, hand them to the use cases, serve until SIGTERM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

from convhub.ingest.v1 import ingest_pb2_grpc
from hubkit.coalescing import Coalescer
from hubkit.config import load
from hubkit.db import OutboxRelay
from hubkit.dispatch.credentials import CredentialStore
from hubkit.service import ServiceRuntime, run
from hubkit.worker import Periodic
from ingest.adapters.grpc_api import IngestServicer
from ingest.adapters.hubspot_crm import HttpHubSpotCrm
from ingest.adapters.metrics import OtelIngestMetrics
from ingest.adapters.nats_inbound import NatsInbound
from ingest.adapters.nats_status import status_consumers
from ingest.adapters.orm import outbox
from ingest.adapters.secrets import CredentialFiles
from ingest.adapters.site_policies import kv_site_policies
from ingest.adapters.sql_sources import SqlSourceLedger, SqlSyncState
from ingest.adapters.sql_status import SqlStatusStore
from ingest.adapters.sql_store import Janitor, SqlConversionStore
from ingest.adapters.system import new_conversion_id
from ingest.adapters.webhooks_http import WebhookServer
from ingest.app.admission import RateLimits
from ingest.app.erasure import EraseUser
from ingest.app.hubspot import HubSpotDeals, ReadAnnouncedDeals, SyncHubSpot
from ingest.app.ingestion import IngestConversions
from ingest.app.webhooks import ReceiveWebhook
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
        clock = partial(datetime.now, UTC)
        erase = EraseUser(store, policies)
        ledger = SqlSourceLedger(rt.engine)
        secrets = CredentialFiles(CredentialStore(settings.credentials_dir or "/nonexistent"))
        crm = HttpHubSpotCrm(
            settings.hubspot_api_url, requests_per_second=settings.hubspot_requests_per_second
        )
        rt.on_close(crm.close)
        shared = Coalescer(ingest)  # webhooks come one conversion at a time
        deals = HubSpotDeals(shared, ledger)
        reader = ReadAnnouncedDeals(deals, ledger, crm, secrets, policies, clock=clock)
        # Woken by each queued event; the interval retries postponed ones.
        reader_loop = Periodic(
            "hubspot-deals", lambda: _drain(reader), interval=5.0, stop_timeout=10.0
        )
        sync = SyncHubSpot(
            deals,
            SqlSyncState(rt.engine),
            crm,
            secrets,
            policies,
            clock=clock,
            first_sync_days=settings.hubspot_first_sync_days,
        )
        rt.server.add(
            ingest_pb2_grpc.add_IngestServiceServicer_to_server,
            IngestServicer(
                ingest,
                erase,
                status,
                limits,
                max_batch=settings.max_batch,
                policies=policies,
                sync_hubspot=sync,
                sites_with_sources=policies.site_ids,
            ),
            "convhub.ingest.v1.IngestService",
        )
        webhooks = WebhookServer(
            ReceiveWebhook(
                shared,
                policies,
                secrets,
                ledger,
                clock=clock,
                erase=erase,
                on_pending=reader_loop.wake,
            ),
            limits,
            host=settings.grpc_host,
            port=settings.webhook_port,
            max_body_bytes=settings.webhook_max_body_bytes,
            public_url=settings.webhook_public_url,
        )
        # Start order = this order; stop order is the reverse: inbound first, the relay last,
        # so everything accepted during the drain is still published.
        rt.add_worker(relay)
        rt.add_worker(policies)
        rt.add_worker(Janitor(rt.engine))
        for consumer in status_consumers(rt.js, status):
            rt.add_worker(consumer)
        rt.add_worker(reader_loop)
        rt.add_worker(webhooks)
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


async def _drain(reader: ReadAnnouncedDeals) -> float | None:
    """Another round at once while rounds finish events (a backlog), else wait to be woken."""
    return 0.0 if await reader.run_once() else None


if __name__ == "__main__":
    run(main)
