"""Webhooks from Shopify, WooCommerce and HubSpot, and HubSpot's pull sync, against real
PostgreSQL and NATS JetStream and the HubSpot CRM simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2
from convhub.router.v1 import router_pb2
from convhub_sim.sources import (
    HubSpotSimulator,
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
    woocommerce_order,
    woocommerce_webhook,
)
from hubkit.auth import Scope
from hubkit.bus import SITES_BUCKET, ensure_kv
from hubkit.db import make_engine
from hubkit.embedded import free_port
from tests.support import wait_for

from .conftest import RunningIngest, ingest_settings, start_ingest, token
from .test_service import conversion

SITE = "shop-src"
PORTAL = 62515
SECRETS = {"shop-shopify": "shpss-test-secret", "shop-woo": "wc-test-secret", "hs-app": "hs-secret"}
ADMIN = [Scope.INGEST, Scope.READ, Scope.ADMIN]


@dataclass
class Sources:
    ingest: RunningIngest
    hubspot: HubSpotSimulator
    base: str  # http://127.0.0.1:<webhook port>/webhooks
    db: AsyncEngine
    http: httpx.AsyncClient

    async def post(self, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.http.post(f"{self.base}/{source}/{SITE}", content=body, headers=headers)

    async def count(self, sql: str) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())


@pytest.fixture
async def sources(migrated_db: str, nats_url: str, js, tmp_path: Path) -> AsyncIterator[Sources]:  # type: ignore[no-untyped-def]
    for ref, secret in {**SECRETS, "hs-token": "pat-test"}.items():
        (tmp_path / ref).write_text(secret)
    kv = await ensure_kv(js, SITES_BUCKET)
    site = router_pb2.Site(
        site_id=SITE,
        revision=1,
        sources=router_pb2.Sources(
            shopify=router_pb2.ShopifySource(secret_ref="shop-shopify"),
            woocommerce=router_pb2.WooCommerceSource(secret_ref="shop-woo"),
            hubspot=router_pb2.HubSpotSource(
                app_secret_ref="hs-app", access_token_ref="hs-token", portal_id=PORTAL
            ),
        ),
    )
    await kv.put(SITE, site.SerializeToString())
    async with HubSpotSimulator(access_token="pat-test") as hubspot:
        port = free_port()
        settings = ingest_settings(
            migrated_db,
            nats_url,
            webhook_port=port,
            credentials_dir=tmp_path,
            hubspot_api_url=hubspot.url,
        )
        running = await start_ingest(settings)
        db = make_engine(migrated_db)
        async with httpx.AsyncClient(timeout=10) as client:
            yield Sources(running, hubspot, f"http://127.0.0.1:{port}/webhooks", db, client)
        await db.dispose()
        running.stop.set()
        await running.task


async def get_conversion(s: Sources, conversion_id: str) -> ingest_pb2.GetConversionResponse:
    return await s.ingest.stub.GetConversion(  # type: ignore[no-any-return]
        ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=token([SITE])
    )


async def test_a_shopify_webhook_delivered_three_times_is_one_conversion(sources: Sources) -> None:
    order = shopify_order(5_551_234_567, landing_site="/p/shirt?gclid=EAIaIQobChMI_landing_1")
    body, headers = shopify_webhook(SECRETS["shop-shopify"], order, webhook_id="whk-1")
    answers = [await sources.post("shopify", body, headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    first = answers[0].json()
    assert first["outcome"] == "accepted"
    assert {a.json()["conversion_id"] for a in answers} == {first["conversion_id"]}
    assert await sources.count("SELECT count(*) FROM ingest.conversions") == 1
    found = await get_conversion(sources, first["conversion_id"])
    c = found.conversion
    assert (c.order_id, c.value, c.currency) == ("5551234567", order["total_price"], "EUR")
    assert c.source == common_pb2.CONVERSION_SOURCE_SHOPIFY
    assert c.click_ids.gclid == "EAIaIQobChMI_landing_1"  # from landing_site
    assert c.user_data.meta.email and c.client_ip == order["browser_ip"]
    assert [(r.source, r.reference, r.reports) for r in found.sources] == [
        (common_pb2.CONVERSION_SOURCE_SHOPIFY, "5551234567", 1)
    ]
    # Shopify's orders/create for the same order is another delivery: the same conversion.
    again, headers = shopify_webhook(SECRETS["shop-shopify"], order, topic="orders/create")
    duplicate = (await sources.post("shopify", again, headers)).json()
    assert duplicate == {
        "outcome": "duplicate",
        "message": "reported before",
        "conversion_id": first["conversion_id"],
    }


async def test_a_bad_signature_stores_nothing_and_answers_401(sources: Sources) -> None:
    body, headers = shopify_webhook("not-the-secret", shopify_order(77))
    refused = await sources.post("shopify", body, headers)
    unsigned = await sources.post("woocommerce", b"{}", {"Content-Type": "application/json"})
    assert (refused.status_code, refused.json()["outcome"]) == (401, "refused")
    assert unsigned.status_code == 401
    assert "does not match" in refused.json()["message"]
    assert await sources.count("SELECT count(*) FROM ingest.conversions") == 0
    assert await sources.count("SELECT count(*) FROM ingest.webhook_deliveries") == 0
    assert await sources.count("SELECT sum(refused) FROM ingest.webhook_refusals") == 2
    listed = await sources.ingest.stub.ListSources(
        ingest_pb2.ListSourcesRequest(site_id=SITE), metadata=token([SITE])
    )
    refusals = {s.source: s.webhooks_refused for s in listed.sources}
    assert refusals[common_pb2.CONVERSION_SOURCE_SHOPIFY] == 1
    assert all(s.configured for s in listed.sources)


async def test_a_stale_hubspot_timestamp_is_refused(sources: Sources) -> None:
    url = f"{sources.base}/hubspot/{SITE}"
    stale = hubspot_webhook(
        SECRETS["hs-app"],
        [hubspot_deal_event(1, portal_id=PORTAL)],
        url=url,
        timestamp_ms=int(__import__("time").time() * 1000) - 6 * 60 * 1000,
    )
    answer = await sources.post("hubspot", *stale)
    assert answer.status_code == 401
    assert "5 minutes" in answer.json()["message"]
    other = hubspot_webhook(
        SECRETS["hs-app"], [hubspot_deal_event(1, portal_id=PORTAL + 1)], url=url
    )
    assert (await sources.post("hubspot", *other)).status_code == 403
    assert await sources.count("SELECT count(*) FROM ingest.hubspot_pending") == 0


async def test_woocommerce_orders_and_unpaid_orders(sources: Sources) -> None:
    secret = SECRETS["shop-woo"]
    paid = woocommerce_order(4242, landing_url="https://shop.example/?fbclid=IwAR_woo_click")
    answer = await sources.post("woocommerce", *woocommerce_webhook(secret, paid))
    unpaid = await sources.post(
        "woocommerce", *woocommerce_webhook(secret, woocommerce_order(4243, status="pending"))
    )
    ping = await sources.post("woocommerce", b"webhook_id=7", {})
    assert (answer.status_code, answer.json()["outcome"]) == (202, "accepted")
    assert (unpaid.status_code, unpaid.json()["outcome"]) == (200, "ignored")
    assert (ping.status_code, ping.json()["outcome"]) == (200, "ping")
    huge = await sources.post("woocommerce", b"{" + b" " * (3 * 1024 * 1024) + b"}", {})
    assert (huge.status_code, huge.json()["outcome"]) == (413, "too_large")
    listed = await sources.ingest.stub.ListSources(
        ingest_pb2.ListSourcesRequest(site_id=SITE), metadata=token([SITE])
    )
    (woo,) = [s for s in listed.sources if s.source == common_pb2.CONVERSION_SOURCE_WOOCOMMERCE]
    assert (woo.webhooks_accepted, woo.webhooks_ignored, woo.webhooks_refused) == (1, 1, 0)
    c = (await get_conversion(sources, answer.json()["conversion_id"])).conversion
    assert c.click_ids.fbclid == "IwAR_woo_click"
    assert c.page_url.startswith("https://shop.example/")
    assert await sources.count("SELECT count(*) FROM ingest.conversions") == 1


async def test_a_shopify_order_also_sent_over_grpc_is_one_conversion_with_two_sources(
    sources: Sources,
) -> None:
    body, headers = shopify_webhook(SECRETS["shop-shopify"], shopify_order(9_000_001))
    webhook = (await sources.post("shopify", body, headers)).json()
    backend = conversion("9000001", site=SITE)  # the shop's backend: same order id, over gRPC
    backend.source = common_pb2.CONVERSION_SOURCE_API
    answer = await sources.ingest.stub.Ingest(
        ingest_pb2.IngestRequest(conversion=backend), metadata=token([SITE])
    )
    assert answer.status == ingest_pb2.INGEST_STATUS_DUPLICATE
    assert answer.duplicate_of == webhook["conversion_id"]
    found = await get_conversion(sources, webhook["conversion_id"])
    assert [(r.source, r.reference, r.reports) for r in found.sources] == [
        (common_pb2.CONVERSION_SOURCE_SHOPIFY, "9000001", 1),
        (common_pb2.CONVERSION_SOURCE_API, "", 1),
    ]


async def test_hubspot_webhook_events_become_conversions_and_a_sync_twice_stores_each_deal_once(
    sources: Sources,
) -> None:
    hs = sources.hubspot
    contact = hs.add_contact("deal.person@example.com", gclid="EAIaIQobChMI_hubspot_contact")
    announced = hs.add_deal("1500.50", contact_ids=[contact])
    url = f"{sources.base}/hubspot/{SITE}"
    event = hubspot_deal_event(int(announced), portal_id=PORTAL, event_id=777)
    queued = await sources.post("hubspot", *hubspot_webhook(SECRETS["hs-app"], [event], url=url))
    retried = await sources.post("hubspot", *hubspot_webhook(SECRETS["hs-app"], [event], url=url))
    assert (queued.status_code, queued.json()["outcome"]) == (202, "pending")
    assert "0 deal event(s) queued, 1 already seen" in retried.json()["message"]

    async def read() -> str | None:
        async with sources.db.connect() as conn:
            found = await conn.execute(
                text("SELECT conversion_id FROM ingest.conversions WHERE order_id = :id"),
                {"id": announced},
            )
            return next((str(r[0]) for r in found), None)

    conversion_id = await wait_for(read)
    c = (await get_conversion(sources, conversion_id)).conversion
    assert (c.value, c.currency, c.click_ids.gclid) == (
        "1500.50",
        "EUR",
        "EAIaIQobChMI_hubspot_contact",
    )
    assert c.source == common_pb2.CONVERSION_SOURCE_HUBSPOT
    assert await sources.count("SELECT count(*) FROM ingest.hubspot_pending") == 0

    # Deals the webhooks missed: two won, one still open. The sync reads them; twice.
    missed = [hs.add_deal(str(100 * n), contact_ids=[contact]) for n in (1, 2)]
    hs.add_deal("999", stage="appointmentscheduled", contact_ids=[contact])
    hs.throttle(2)  # HubSpot throttles the first calls: the sync waits it out
    request = ingest_pb2.SyncSourceRequest(
        site_id=SITE, source=common_pb2.CONVERSION_SOURCE_HUBSPOT
    )
    first = await sources.ingest.stub.SyncSource(request, metadata=token([SITE], ADMIN))
    # The next run starts at the watermark (deals changed at that instant are read again);
    # with a back-fill it reads everything again. Neither stores anything twice.
    second = await sources.ingest.stub.SyncSource(request, metadata=token([SITE], ADMIN))
    request.backfill_days = 1
    third = await sources.ingest.stub.SyncSource(request, metadata=token([SITE], ADMIN))
    assert (first.deals_read, first.accepted, first.duplicates) == (3, 2, 1)
    assert second.accepted == 0 and 1 <= second.duplicates == second.deals_read < 3
    assert (third.deals_read, third.accepted, third.duplicates) == (3, 0, 3)
    assert first.watermark == second.watermark == third.watermark
    assert (
        await sources.count(
            "SELECT count(*) FROM ingest.conversions WHERE order_id IN "
            f"('{announced}', '{missed[0]}', '{missed[1]}')"
        )
        == 3
    )
    assert await sources.count("SELECT count(*) FROM ingest.conversions") == 3
    listed = await sources.ingest.stub.ListSources(
        ingest_pb2.ListSourcesRequest(site_id=SITE), metadata=token([SITE])
    )
    hub = next(s for s in listed.sources if s.source == common_pb2.CONVERSION_SOURCE_HUBSPOT)
    assert hub.webhooks_accepted == 1 and hub.last_sync_outcome.startswith("ok: 3 deals")
    assert hub.sync_watermark.seconds > 0


async def test_shopify_customers_redact_erases_the_customers_conversions(
    sources: Sources,
) -> None:
    order = shopify_order(6_100_001, email="redact.me@example.com", phone="+4915199999999")
    kept = shopify_order(6_100_002, email="someone.else@example.com", phone="+4915188888888")
    accepted = []
    for o in (order, kept):
        body, headers = shopify_webhook(SECRETS["shop-shopify"], o)
        accepted.append((await sources.post("shopify", body, headers)).json()["conversion_id"])
    redact = {
        "shop_id": 954889,
        "shop_domain": "demo-shop.myshopify.com",
        "customer": {"id": order["customer"]["id"], "email": "Redact.Me@example.com"},
        "orders_to_redact": [order["id"]],
    }
    body, headers = shopify_webhook(SECRETS["shop-shopify"], redact, topic="customers/redact")
    answer = await sources.post("shopify", body, headers)
    assert (answer.status_code, answer.json()["outcome"]) == (200, "erased")
    assert answer.json()["message"].startswith("1 conversion(s) erased by email, external_id")
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await get_conversion(sources, accepted[0])
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await get_conversion(sources, accepted[1])).conversion.order_id == str(kept["id"])
