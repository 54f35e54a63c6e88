"""The spend sync job end to end: attribution reads the site's Google, Meta and TikTok accounts
from the platform simulators over HTTP, stores each (account, campaign, day) once however often
it runs, and waits out a throttling platform without holding up the others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from nats.js import JetStreamContext

from attribution.adapters.orm import SCHEMA
from attribution.config import Settings
from attribution.main import main
from attribution.migrate import MIGRATIONS
from convhub.attribution.v1 import attribution_pb2 as pb
from convhub.attribution.v1 import attribution_pb2_grpc
from convhub.router.v1 import router_pb2
from convhub_sim.google import GoogleSimulator
from convhub_sim.meta import MetaSimulator
from convhub_sim.tiktok import TikTokSimulator
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from tests.support import wait_serving

from .conftest import SECRET, SITE, set_site, token

CUSTOMER, AD_ACCOUNT, ADVERTISER = "1234567890", "101202303", "7100000000000000001"
TODAY = datetime.now(UTC).date()


def days(n: int, amount: str, campaign: str) -> list[dict[str, str]]:
    return [
        {"campaign": campaign, "date": (TODAY - timedelta(days=i)).isoformat(), "amount": amount}
        for i in range(n)
    ]


@pytest.fixture
async def synced(
    database_url: str, nats_url: str, js: JetStreamContext, tmp_path: Path
) -> AsyncIterator[tuple[attribution_pb2_grpc.AttributionServiceStub, MetaSimulator]]:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "g").write_text(
        json.dumps(
            {
                "client_id": "100000000042-test.apps.googleusercontent.com",
                "client_secret": "google-client-secret",
                "refresh_token": "dev-refresh-token",  # what the simulator's /token accepts
                "developer_token": "dev-developer-token",
            }
        )
    )
    (credentials / "m").write_text(json.dumps({"access_token": "EAAB-test-token"}))
    (credentials / "t").write_text("dev-tiktok-token")
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    destinations = router_pb2.Destinations(
        google=router_pb2.GoogleDestination(customer_id=CUSTOMER, credentials_ref="g"),
        meta=router_pb2.MetaDestination(ad_account_id=AD_ACCOUNT, credentials_ref="m"),
        tiktok=router_pb2.TikTokDestination(advertiser_id=ADVERTISER, credentials_ref="t"),
    )
    await set_site(js, router_pb2.Site(site_id=SITE, destinations=destinations))
    async with GoogleSimulator() as google, MetaSimulator() as meta, TikTokSimulator() as tiktok:
        google.seed_spend(CUSTOMER, days(10, "12.345678", "brand"), currency="EUR")
        meta.seed_spend(AD_ACCOUNT, days(10, "20.00", "retarget"), currency="EUR")
        tiktok.seed_spend(ADVERTISER, days(10, "5.50", "launch"), currency="EUR")
        for sim in (google, meta, tiktok):
            sim.report_page_size(3)  # several pages each
        settings = Settings(
            database_url=database_url,
            nats_url=nats_url,
            grpc_port=free_port(),
            jwt_secret=SECRET,
            shutdown_grace_seconds=0.5,
            credentials_dir=credentials,
            google_ads_url=google.url,
            google_oauth_url=f"{google.url}/token",
            meta_graph_url=meta.url,
            tiktok_api_url=tiktok.url,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(main(settings, stop))
        target = f"127.0.0.1:{settings.grpc_port}"
        await wait_serving(target, alive=lambda: task.result() if task.done() else None)
        async with grpc.aio.insecure_channel(target) as channel:
            yield attribution_pb2_grpc.AttributionServiceStub(channel), meta
            stop.set()
            await task


async def test_a_spend_sync_run_twice_stores_each_account_campaign_and_day_once(
    synced: tuple[attribution_pb2_grpc.AttributionServiceStub, MetaSimulator],
) -> None:
    stub, meta = synced
    # Meta throttles its first calls (asking for a second's wait): waited out.
    meta.throttle(2, code=80000, retry_after=1)
    request = pb.RunJobRequest(job=pb.JOB_SPEND_SYNC, site_id=SITE, days=7)
    first = (await stub.RunJob(request, metadata=token())).run
    second = (await stub.RunJob(request, metadata=token())).run
    assert first.outcome == "ok" and second.outcome == "ok"
    assert first.counts["accounts"] == 3 and first.counts["rows"] == 3 * 7
    listed = await stub.ListSpend(pb.ListSpendRequest(site_id=SITE), metadata=token())
    keys = [(e.platform, e.account_id, e.campaign, e.date) for e in listed.entries]
    assert len(keys) == len(set(keys)) == 3 * 7  # each (account, campaign, day) once
    amounts = {(e.platform, e.channel, e.amount.value) for e in listed.entries}
    assert amounts == {
        ("google", "paid_search", "12.345678"),
        ("meta", "paid_social", "20"),
        ("tiktok", "paid_social", "5.5"),
    }
    assert min(e.date for e in listed.entries) == (TODAY - timedelta(days=6)).isoformat()
    throttled = [r for r in meta.platform_requests() if r.status >= 400]
    assert len(throttled) == 2
    jobs = await stub.ListJobs(pb.ListJobsRequest(), metadata=token())
    (run,) = [r for r in jobs.runs if r.job == pb.JOB_SPEND_SYNC]
    assert run.outcome == "ok" and run.scope == SITE

    # Meta restates its spend: "retarget" spent nothing after all; "prospecting" did, today.
    meta.spend.clear()
    meta.seed_spend(AD_ACCOUNT, days(1, "7.25", "prospecting"), currency="EUR")
    assert (await stub.RunJob(request, metadata=token())).run.outcome == "ok"
    listed = await stub.ListSpend(pb.ListSpendRequest(site_id=SITE), metadata=token())
    meta_rows = [(e.campaign, e.amount.value) for e in listed.entries if e.platform == "meta"]
    assert meta_rows == [("prospecting", "7.25")]
    assert len(listed.entries) == 2 * 7 + 1  # Google's and TikTok's untouched
