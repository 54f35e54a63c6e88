"""Composition root of attribution: storage, the site settings mirror, the NATS inputs and
AttributionService (with spend, ROAS and the scheduled jobs), served until SIGTERM."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from attribution.adapters.export_files import CsvExport
from attribution.adapters.grpc_api import AttributionServicer
from attribution.adapters.ingest_client import GrpcAcceptedConversions
from attribution.adapters.nats_consumers import consumers
from attribution.adapters.spend_google import GoogleSpendReports
from attribution.adapters.spend_meta import MetaSpendReports
from attribution.adapters.spend_tiktok import TikTokSpendReports
from attribution.adapters.sql_spend import SqlSpendStore
from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.attribute import Attribute
from attribution.app.jobs import Jobs
from attribution.app.queries import Queries
from attribution.app.roas import GetRoas
from attribution.app.sites import SiteView, site_view
from attribution.app.spend import SyncSpend
from attribution.app.spend_ports import SpendReports
from attribution.config import Settings
from attribution.domain.model import Settings as ModelSettings
from hubkit.auth import resolve_jwt_secret
from hubkit.bus.site_mirror import SiteMirror
from hubkit.config import load
from hubkit.dispatch.credentials import CredentialStore
from hubkit.resilience import CircuitBreaker
from hubkit.service import ServiceRuntime, run


async def main(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    settings = settings or load(Settings)
    async with ServiceRuntime(settings) as rt:
        clock = partial(datetime.now, UTC)
        store = SqlAttributionStore(rt.engine)
        spend = SqlSpendStore(rt.engine)
        sites = SiteMirror(rt.js, site_view, SiteView(), name="attribution-sites")

        def settings_of(site_id: str) -> ModelSettings:
            return sites.get(site_id).settings

        attribute = Attribute(store, settings_of)
        queries = Queries(store, settings_of, attribute)
        accepted = GrpcAcceptedConversions(
            settings.ingest_address,
            resolve_jwt_secret(settings.jwt_secret, settings.jwt_secret_file),
        )
        rt.on_close(accepted.close)
        jobs = Jobs(
            spend,
            attribute,
            settings_of,
            store,
            SyncSpend(spend, spend_reports(settings, rt), sites.get, clock=clock),
            accepted,
            CsvExport(rt.engine, Path(settings.export_dir)) if settings.export_dir else _NoExport(),
            clock=clock,
            site_ids=sites.site_ids,
            settle=timedelta(seconds=settings.jobs_settle_seconds),
        )
        AttributionServicer(
            store, queries, spend, GetRoas(spend, queries, sites.get), jobs
        ).register(rt.server)
        rt.add_worker(sites)  # first: no conversion is credited under default settings
        for consumer in consumers(rt.js, store, attribute):
            rt.add_worker(consumer)
        await rt.serve(stop)


def spend_reports(settings: Settings, rt: ServiceRuntime) -> dict[str, SpendReports]:
    """The reporting clients, each with its own breaker; none without a credentials directory."""
    if settings.credentials_dir is None:
        return {}
    credentials = CredentialStore(settings.credentials_dir)

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(settings.spend_breaker_failures, settings.spend_breaker_open_seconds)

    timeout = settings.spend_http_timeout_seconds
    clients: list[GoogleSpendReports | MetaSpendReports | TikTokSpendReports] = [
        GoogleSpendReports(
            settings.google_ads_url,
            settings.google_oauth_url,
            credentials,
            api_version=settings.google_ads_api_version,
            requests_per_second=settings.google_spend_requests_per_second,
            breaker=breaker(),
            timeout=timeout,
        ),
        MetaSpendReports(
            settings.meta_graph_url,
            credentials,
            api_version=settings.meta_api_version,
            requests_per_second=settings.meta_spend_requests_per_second,
            breaker=breaker(),
            usage_threshold=settings.meta_usage_threshold_percent,
            usage_pause=settings.meta_usage_pause_seconds,
            max_wait=settings.meta_usage_max_wait_seconds,
            timeout=timeout,
        ),
        TikTokSpendReports(
            settings.tiktok_api_url,
            credentials,
            requests_per_second=settings.tiktok_spend_requests_per_second,
            breaker=breaker(),
            timeout=timeout,
        ),
    ]
    for client in clients:
        rt.on_close(client.close)
    return {client.platform: client for client in clients}


class _NoExport:
    async def export(self, site_id: str, after: datetime | None, until: datetime) -> int:
        raise RuntimeError("no export directory: set CONVHUB_EXPORT_DIR")


if __name__ == "__main__":
    run(main)
