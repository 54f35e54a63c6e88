"""Webhooks are never lost: ingest killed with SIGKILL mid-stream while platforms retry every
delivery until it is acknowledged, as Shopify and HubSpot do."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from convhub.router.v1 import router_pb2
from convhub_sim.sources import (
    HubSpotSimulator,
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
)
from hubkit.bus import SITES_BUCKET, ensure_kv
from hubkit.embedded import free_port
from tests.support import ServiceProcess, wait_for

from .conftest import SECRET
from .test_crash import count_conversions, published_ids

pytestmark = pytest.mark.slow
SITE, PORTAL = "shop-crash", 4242
SHOPIFY_SECRET, HUBSPOT_SECRET = "shopify-crash-secret", "hubspot-crash-secret"


async def deliver_until_acknowledged(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> int:
    """A platform's retries: the same delivery again until it is answered 2xx."""
    while True:
        try:
            answer = await client.post(url, content=body, headers=headers)
            if answer.status_code < 300:
                return answer.status_code
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)


async def test_webhooks_survive_a_killed_ingest_exactly_once(  # type: ignore[no-untyped-def]
    migrated_db: str, nats_url: str, js, tmp_path: Path
) -> None:
    (tmp_path / "shopify").write_text(SHOPIFY_SECRET)
    (tmp_path / "hubspot-app").write_text(HUBSPOT_SECRET)
    (tmp_path / "hubspot-token").write_text("pat-crash")
    site = router_pb2.Site(
        site_id=SITE,
        revision=1,
        sources=router_pb2.Sources(
            shopify=router_pb2.ShopifySource(secret_ref="shopify"),
            hubspot=router_pb2.HubSpotSource(
                app_secret_ref="hubspot-app", access_token_ref="hubspot-token", portal_id=PORTAL
            ),
        ),
    )
    await (await ensure_kv(js, SITES_BUCKET)).put(SITE, site.SerializeToString())
    port = free_port()
    async with HubSpotSimulator(access_token="pat-crash") as hubspot:
        service = ServiceProcess(
            "ingest",
            {
                **os.environ,
                "CONVHUB_DATABASE_URL": migrated_db,
                "CONVHUB_NATS_URL": nats_url,
                "CONVHUB_GRPC_PORT": str(free_port()),
                "CONVHUB_WEBHOOK_PORT": str(port),
                "CONVHUB_CREDENTIALS_DIR": str(tmp_path),
                "CONVHUB_HUBSPOT_API_URL": hubspot.url,
                "CONVHUB_JWT_SECRET": SECRET,
                "OTEL_SDK_DISABLED": "true",
                "CONVHUB_LOG_LEVEL": "WARNING",
            },
        )
        base = f"http://127.0.0.1:{port}/webhooks"
        # HubSpot is down while its events arrive: they wait in ingest, across the kill.
        hubspot.server_error(seconds=3600)
        contact = hubspot.add_contact("crash.deal@example.com")
        deals = [hubspot.add_deal("10", contact_ids=[contact]) for _ in range(5)]
        orders = [
            shopify_webhook(SHOPIFY_SECRET, shopify_order(700_000 + n), webhook_id=f"w-{n}")
            for n in range(300)
        ]
        acknowledged = 0
        try:
            await service.start()
            async with httpx.AsyncClient(timeout=5) as client:
                events = [hubspot_deal_event(int(d), portal_id=PORTAL) for d in deals]
                url = f"{base}/hubspot/{SITE}"
                status = await deliver_until_acknowledged(
                    client, url, *hubspot_webhook(HUBSPOT_SECRET, events, url=url)
                )
                assert status == 202

                async def send(n: int) -> None:
                    nonlocal acknowledged
                    await deliver_until_acknowledged(client, f"{base}/shopify/{SITE}", *orders[n])
                    acknowledged += 1

                senders = [asyncio.create_task(send(n)) for n in range(len(orders))]
                await wait_for(lambda: acknowledged >= 60, what="60 webhooks acknowledged")
                service.kill()  # mid-stream: some committed, some in flight, some not sent
                await service.start()
                hubspot.clear_faults()  # HubSpot is back
                await asyncio.gather(*senders)
            assert acknowledged == len(orders)
            expected = len(orders) + len(deals)
            await wait_for(
                lambda: count_conversions(migrated_db) >= expected,
                within=60,
                what="the HubSpot deals read after the restart",
            )
            counts = await published_ids(nats_url, expected=expected)
        finally:
            service.stop()
    assert count_conversions(migrated_db) == expected  # every order and deal exactly once
    assert len(counts) == expected and max(counts.values()) == 1
