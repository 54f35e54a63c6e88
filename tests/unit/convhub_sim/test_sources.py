"""Conversion sources: the signed webhook senders (signatures recomputed here, independently of
convhub_sim.sources) and the HubSpot CRM API simulator a deal sync reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from convhub_sim import REGISTRY
from convhub_sim.__main__ import load
from convhub_sim.base import Fault
from convhub_sim.sources import (
    HubSpotSimulator,
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
    woocommerce_order,
    woocommerce_webhook,
)

TOKEN = "pat-test-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SEARCH = "/crm/v3/objects/deals/search"


def b64_hmac(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


# --- senders -------------------------------------------------------------------------------------


def test_shopify_signature_headers_and_order_shape() -> None:
    order = shopify_order(
        5_912_345_678_901,
        total_price="59.00",
        created_at="2026-11-30T13:00:00+01:00",
        note_attributes=[{"name": "gclid", "value": "Cj0-test"}],
        order_number=1001,
    )
    body, headers = shopify_webhook("shp-secret", order, topic="orders/create")
    assert headers["X-Shopify-Hmac-Sha256"] == b64_hmac("shp-secret", body)
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-API-Version"] == "2025-10"
    assert headers["X-Shopify-Shop-Domain"] == "demo-shop.myshopify.com"
    assert headers["X-Shopify-Triggered-At"] == "2026-11-30T12:00:00.000000000Z"
    assert len(headers["X-Shopify-Webhook-Id"]) == 36 and headers["X-Shopify-Event-Id"]
    sent = json.loads(body)
    assert sent == order
    assert sent["name"] == "#1001" and sent["order_number"] == 1001
    assert sent["admin_graphql_api_id"] == "gid://shopify/Order/5912345678901"
    assert sent["total_price"] == "59.00" and sent["subtotal_price"] == "59.00"
    assert sent["total_tax"] == "9.42"  # 19 % VAT included in 59.00
    assert sent["landing_site"].startswith("/products/") and "gclid=" in sent["landing_site"]
    assert sent["client_details"]["browser_ip"] == sent["browser_ip"] == "203.0.113.7"
    assert sent["note_attributes"] == [{"name": "gclid", "value": "Cj0-test"}]
    assert sent["customer"]["default_address"]["country_code"] == "DE"
    assert sent["billing_address"]["province_code"] == "BE"
    assert sent["line_items"][0]["price"] == "59.00" and sent["cancelled_at"] is None
    # The same customer keeps its id from order to order.
    assert shopify_order(2)["customer"]["id"] == sent["customer"]["id"]


def test_a_shopify_retry_is_byte_identical_and_a_new_delivery_is_not() -> None:
    order = shopify_order(7, created_at="2026-11-30T13:00:00+01:00")
    first = shopify_webhook("k", order, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    retry = shopify_webhook("k", order, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert first == retry  # body and every header
    other = shopify_webhook("k", order)
    assert other[0] == first[0]
    assert other[1]["X-Shopify-Webhook-Id"] != first[1]["X-Shopify-Webhook-Id"]
    assert other[1]["X-Shopify-Event-Id"] == first[1]["X-Shopify-Event-Id"]  # the same event


def test_woocommerce_signature_headers_php_encoding_and_attribution() -> None:
    order = woocommerce_order(
        4321,
        total="89.50",
        landing_url="https://shop.example/?fbclid=IwAR-test",
        date_created_gmt="2026-11-30T12:00:00",
    )
    body, headers = woocommerce_webhook("wc-secret", order, topic="order.created")
    assert headers["X-WC-Webhook-Signature"] == b64_hmac("wc-secret", body)
    assert headers["X-WC-Webhook-Topic"] == "order.created"
    assert headers["X-WC-Webhook-Resource"] == "order"
    assert headers["X-WC-Webhook-Event"] == "created"
    assert headers["X-WC-Webhook-ID"] == "7"
    assert headers["X-WC-Webhook-Source"] == "https://shop.example/"
    assert len(headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert headers["User-Agent"].startswith("WooCommerce/")
    # PHP's json_encode: "/" escaped, non-ASCII as \u escapes; still the same JSON.
    assert b"https:\\/\\/shop.example\\/" in body and b"\\u00df" in body
    assert json.loads(body) == order
    meta = {m["key"]: m["value"] for m in order["meta_data"]}
    assert meta["_wc_order_attribution_session_entry"] == "https://shop.example/?fbclid=IwAR-test"
    assert meta["_wc_order_attribution_referrer"] == "https://l.facebook.com/"
    assert meta["_wc_order_attribution_source_type"] == "referral"
    assert order["date_created_gmt"] == "2026-11-30T12:00:00"
    assert order["date_created"] == "2026-11-30T13:00:00"  # site time, no offset
    assert order["date_paid_gmt"] == "2026-11-30T12:00:04"
    assert order["order_key"].startswith("wc_order_") and len(order["order_key"]) == 22
    assert order["billing"]["email"] and order["customer_ip_address"] == "198.51.100.23"
    assert woocommerce_order(1, status="pending")["date_paid_gmt"] is None
    organic = woocommerce_order(2, landing_url="https://shop.example/?gclid=x", referrer="")
    kinds = {m["key"]: m["value"] for m in organic["meta_data"]}
    assert kinds["_wc_order_attribution_source_type"] == "typein"
    assert "_wc_order_attribution_referrer" not in kinds
    # A re-sent delivery (same id) is the same bytes.
    assert woocommerce_webhook("wc-secret", order, topic="order.created", delivery_id="d1") == (
        woocommerce_webhook("wc-secret", order, topic="order.created", delivery_id="d1")
    )


def test_hubspot_v3_and_v1_signatures_over_the_decoded_uri() -> None:
    event = hubspot_deal_event(10_001, portal_id=4_400_123, event_id=9, occurred_at_ms=1_000)
    assert event == {
        "eventId": 9,
        "subscriptionId": 42,
        "portalId": 4_400_123,
        "appId": 1_234_567,
        "occurredAt": 1_000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": 10_001,
        "propertyName": "dealstage",
        "propertyValue": "closedwon",
        "changeSource": "CRM_UI",
    }
    url = "https://hooks.example.com/hubspot/deals?source=hub%3Aspot&next=%2Fdone%2C1"
    body, headers = hubspot_webhook("app-secret", [event], url=url, timestamp_ms=1_796_000_000_000)
    assert json.loads(body) == [event]
    assert headers["X-HubSpot-Request-Timestamp"] == "1796000000000"
    # HubSpot decodes the escapes it lists (":", "/", "," here) before signing.
    uri = "https://hooks.example.com/hubspot/deals?source=hub:spot&next=/done,1"
    assert unquote(url) == uri
    signed = b"POST" + uri.encode() + body + b"1796000000000"
    assert headers["X-HubSpot-Signature-v3"] == b64_hmac("app-secret", signed)
    assert headers["X-HubSpot-Signature-Version"] == "v1"
    assert headers["X-HubSpot-Signature"] == hashlib.sha256(b"app-secret" + body).hexdigest()
    stamped = hubspot_webhook("s", [event], url="https://x.example/")[1]
    assert abs(int(stamped["X-HubSpot-Request-Timestamp"]) - time.time() * 1000) < 60_000


# --- the HubSpot CRM API -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_796_040_000.0  # 2026-11-30T12:00:00Z

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sim() -> AsyncIterator[HubSpotSimulator]:
    simulator = HubSpotSimulator(access_token=TOKEN, clock=Clock())
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http(sim: HubSpotSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, headers=AUTH) as client:
        yield client


def tick(sim: HubSpotSimulator, seconds: float = 1.0) -> None:
    assert isinstance(sim.clock, Clock)
    sim.clock.now += seconds


def seed_deals(sim: HubSpotSimulator, count: int) -> list[str]:
    """`count` deals, one a second, the stage cycling through three; then the first ones are
    modified last, so modification order is not creation order."""
    stages = ("closedwon", "appointmentscheduled", "closedlost")
    ids = []
    for i in range(count):
        ids.append(sim.add_deal(f"{100 + i}.00", stage=stages[i % 3]))
        tick(sim)
    for deal_id in ids[:5]:
        sim.set_stage(deal_id, "closedwon")
        tick(sim)
    return ids


async def test_search_pages_250_deals_by_hs_lastmodifieddate(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    ids = seed_deals(sim, 250)
    body: dict[str, Any] = {
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["amount", "dealstage"],
        "limit": 100,
    }
    pages, seen, after = [], [], None
    while True:
        response = await http.post(SEARCH, json=body if after is None else {**body, "after": after})
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == 250
        pages.append(page)
        seen += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    assert [len(p["results"]) for p in pages] == [100, 100, 50]
    assert [p["paging"]["next"]["after"] for p in pages[:2]] == ["100", "200"]
    assert "paging" not in pages[2]
    assert sorted(r["id"] for r in seen) == sorted(ids)  # every deal once
    stamps = [r["properties"]["hs_lastmodifieddate"] for r in seen]
    assert stamps == sorted(stamps) and len(set(stamps)) == 250
    assert [r["id"] for r in seen[-5:]] == ids[:5]  # modified last
    first = seen[0]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(first["properties"]) == {
        "amount",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
    assert first["properties"]["hs_object_id"] == first["id"] == ids[5]
    assert first["archived"] is False and first["updatedAt"].endswith("Z")
    assert first["properties"]["createdate"] == "2026-11-30T12:00:05.000Z"


async def test_gte_on_hs_lastmodifieddate_as_epoch_ms_or_iso(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    ids = seed_deals(sim, 20)
    cutoff = datetime(2026, 11, 30, 12, 0, 15, tzinfo=UTC)
    for value in (str(int(cutoff.timestamp() * 1000)), "2026-11-30T12:00:15.000Z"):
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": value}
                    ]
                }
            ],
            "limit": 200,
        }
        response = await http.post(SEARCH, json=body)
        assert response.status_code == 200, response.text
        found = [r["id"] for r in response.json()["results"]]
        # Deals 16-20 were made at 12:00:15-19; deals 1-5 were modified at 12:00:20-24.
        assert sorted(found) == sorted(ids[15:] + ids[:5])
        assert all(r["properties"]["hs_lastmodifieddate"] >= "2026-11-30T12:00:15.000Z"
                   for r in response.json()["results"])  # fmt: skip


async def test_in_filter_on_dealstage_and_or_between_groups(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    ids = seed_deals(sim, 12)
    stage_in = {
        "propertyName": "dealstage",
        "operator": "IN",
        "values": ["closedwon", "closedlost"],
    }
    response = await http.post(SEARCH, json={"filterGroups": [{"filters": [stage_in]}]})
    page = response.json()
    # 7 won (4 made so, 3 moved there) and 3 lost; 2 left in appointmentscheduled.
    assert page["total"] == 10 and "paging" not in page  # exactly the default limit of 10
    stages = [r["properties"]["dealstage"] for r in page["results"]]
    assert sorted(stages) == ["closedlost"] * 3 + ["closedwon"] * 7
    # Two groups are ORed; filters inside one group are ANDed.
    either = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": ids[0]}]},
            {
                "filters": [
                    {
                        "propertyName": "dealstage",
                        "operator": "EQ",
                        "value": "appointmentscheduled",
                    },
                    {"propertyName": "amount", "operator": "GT", "value": "105"},
                ]
            },
        ],
        "sorts": ["-hs_object_id"],
    }
    found = [r["id"] for r in (await http.post(SEARCH, json=either)).json()["results"]]
    assert found == [ids[10], ids[7], ids[0]]


async def test_search_limits_answer_400_validation_error(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    refused: list[dict[str, Any]] = [
        {"limit": 201},
        {"after": "10000"},
        {"filterGroups": [{"filters": []}] * 6},
        {"filterGroups": [{"filters": [{"propertyName": "amount", "operator": "LIKE"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": "closedate", "operator": "GT",
                                        "value": "yesterday"}]}]},
    ]  # fmt: skip
    for body in refused:
        response = await http.post(SEARCH, json=body)
        assert response.status_code == 400, body
        error = response.json()
        assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
        assert error["correlationId"] == response.headers["X-HubSpot-Correlation-Id"]
    broken = await http.post(SEARCH, content=b"{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and "Invalid input JSON" in broken.json()["message"]
    assert (await http.post(SEARCH, json={"limit": 200})).status_code == 200
    assert (await http.post(SEARCH, json={"after": "9999"})).status_code == 200


async def test_missing_or_wrong_token_answers_401(sim: HubSpotSimulator) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        for headers in ({}, {"Authorization": "Bearer pat-wrong"}, {"Authorization": TOKEN}):
            response = await client.post(SEARCH, json={}, headers=headers)
            assert response.status_code == 401
            error = response.json()
            assert set(error) == {"status", "message", "correlationId", "category"}
            assert error["status"] == "error" and error["category"] == "INVALID_AUTHENTICATION"
            assert error["message"].startswith("Authentication credentials not found.")
            assert response.headers["X-HubSpot-Auth-Failure"] == "401 Unauthorized"
    assert sim.platform_requests()[-1].status == 401


async def test_secondly_rate_limit_and_scripted_faults(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    sim.rate_limit_per_second = 2
    answers = [(await http.post(SEARCH, json={})).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    limited = (await http.post(SEARCH, json={})).json()
    assert limited["errorType"] == "RATE_LIMIT" and limited["policyName"] == "SECONDLY"
    assert limited["status"] == "error" and limited["correlationId"]
    assert limited["message"] == "You have reached your secondly limit."
    tick(sim)  # the next wall-clock second
    assert (await http.post(SEARCH, json={})).status_code == 200
    sim.rate_limit_per_second = None
    # Scripted faults (base class) hit every API route, HubSpot bodies filled in.
    sim.fail_next(1, Fault(status=503))
    sim.throttle(1, policy="TEN_SECONDLY_ROLLING")
    down = await http.post("/crm/v3/objects/contacts/batch/read", json={"inputs": []})
    assert down.status_code == 503 and down.json()["message"] == "internal error"
    rolling = await http.post("/crm/v4/associations/deals/contacts/batch/read", json={})
    assert rolling.status_code == 429
    assert rolling.json()["message"] == "You have reached your ten_secondly_rolling limit."
    async with httpx.AsyncClient(base_url=sim.url) as control:
        knob = await control.post("/_sim/hubspot/faults", json={"kind": "server_error"})
        assert knob.status_code == 200 and knob.json()["queued"] == 1
        assert (await http.post(SEARCH, json={})).status_code == 502
        bad = await control.post("/_sim/hubspot/faults", json={"kind": "set_stage", "deal_id": "1"})
        assert bad.status_code == 400
        await control.post("/_sim/reset")
    assert (await http.post(SEARCH, json={})).status_code == 200


async def test_batch_reads_and_associations_find_the_contact_and_its_gclid(
    sim: HubSpotSimulator, http: httpx.AsyncClient
) -> None:
    other = sim.add_contact("other@example.com", firstname="Otto")
    buyer = sim.add_contact(
        "anna@example.com", phone="+4915112345678", firstname="Anna", gclid="Cj0KCQ-test"
    )
    deal = sim.add_deal("129.90", stage="closedwon", contact_ids=[buyer])
    lonely = sim.add_deal("10.00", stage="qualifiedtobuy")

    assoc = await http.post(
        "/crm/v4/associations/deals/contacts/batch/read",
        json={"inputs": [{"id": deal}, {"id": lonely}]},
    )
    assert assoc.status_code == 207  # the lonely deal has no contact
    answer = assoc.json()
    assert answer["status"] == "COMPLETE" and answer["numErrors"] == 1
    assert answer["results"] == [
        {
            "from": {"id": deal},
            "to": [
                {
                    "toObjectId": int(buyer),
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}
                    ],
                }
            ],
        }
    ]
    assert answer["errors"][0]["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert answer["errors"][0]["context"]["fromObjectId"] == [lonely]

    contact_ids = [str(to["toObjectId"]) for to in answer["results"][0]["to"]]
    contacts = await http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"properties": ["email", "phone", "hs_google_click_id"],
              "inputs": [{"id": i} for i in contact_ids]},
    )  # fmt: skip
    assert contacts.status_code == 200
    read = contacts.json()
    assert read["status"] == "COMPLETE" and read["startedAt"].endswith("Z")
    assert [r["id"] for r in read["results"]] == [buyer] != [other]
    props = read["results"][0]["properties"]
    assert props["hs_google_click_id"] == "Cj0KCQ-test"
    assert props["email"] == "anna@example.com" and props["phone"] == "+4915112345678"
    assert props["hs_object_id"] == buyer and props["lastmodifieddate"].endswith("Z")

    deals = await http.post(
        "/crm/v3/objects/deals/batch/read",
        json={
            "properties": ["amount", "deal_currency_code", "dealstage", "closedate"],
            "inputs": [{"id": deal}, {"id": "999"}],
        },
    )
    assert deals.status_code == 207
    read = deals.json()
    assert read["results"][0]["properties"]["amount"] == "129.90"
    assert read["results"][0]["properties"]["deal_currency_code"] == "EUR"
    assert read["results"][0]["properties"]["closedate"]  # set on entering closedwon
    assert read["errors"] == [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some DEAL objects, they may be deleted or not exist."
            " Check that ids are valid.",
            "context": {"ids": ["999"]},
        }
    ]
    by_email = await http.post(
        "/crm/v3/objects/contacts/batch/read",
        json={"idProperty": "email", "inputs": [{"id": "ANNA@example.com"}]},
    )
    assert [r["id"] for r in by_email.json()["results"]] == [buyer]
    too_many = {"inputs": [{"id": str(i)} for i in range(101)]}
    assert (await http.post("/crm/v3/objects/deals/batch/read", json=too_many)).status_code == 400
    # HAS_PROPERTY: the contacts with a click id.
    has_gclid = {
        "filterGroups": [
            {"filters": [{"propertyName": "hs_google_click_id", "operator": "HAS_PROPERTY"}]}
        ]
    }
    found = await http.post("/crm/v3/objects/contacts/search", json=has_gclid)
    assert [r["id"] for r in found.json()["results"]] == [buyer]
    assert set(found.json()["results"][0]["properties"]) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


async def test_registered_and_runnable_like_the_other_simulators() -> None:
    assert REGISTRY["hubspot"] == (
        "convhub_sim.sources:HubSpotSimulator",
        {"CONVHUB_HUBSPOT_API_URL": ""},
    )
    simulator = load("hubspot")()
    assert isinstance(simulator, HubSpotSimulator) and simulator.name == "hubspot"
    assert simulator.access_token == "pat-demo"
    async with simulator, httpx.AsyncClient(base_url=simulator.url) as client:
        response = await client.post(SEARCH, json={}, headers={"Authorization": "Bearer pat-demo"})
    assert response.status_code == 200 and response.json() == {"total": 0, "results": []}
