"""`convhub sources` and `convhub sources sync hubspot` from a subfolder of a running stack
(`checkout`): sites configured through `convhub sites upsert`, a signed Shopify webhook through
ingest's receiver, deals in the HubSpot CRM simulator pulled by the sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from convhub_cli.stackfile import StackInfo
from convhub_sim.sources import HubSpotSimulator, shopify_order, shopify_webhook
from tests.support import wait_for

from .conftest import HUBSPOT_TOKEN, convhub, one_line

PORTAL = 62515
SHOPIFY_SECRET = "shpss-cli-test-secret"


def site(site_id: str, *, shopify: bool = False, token_ref: str = "hs-token") -> dict[str, Any]:
    sources: dict[str, Any] = {
        "hubspot": {
            "app_secret_ref": "hs-app",
            "access_token_ref": token_ref,
            "portal_id": PORTAL,
            "default_currency": "EUR",
        }
    }
    if shopify:
        sources["shopify"] = {"secret_ref": "shop-secret"}
    return {"site_id": site_id, "attribution_mode": "ATTRIBUTION_MODE_DIRECT", "sources": sources}


async def configure(checkout: Path, credentials: Path, *sites: dict[str, Any]) -> None:
    """Store the secrets (not the missing token of a site naming "hs-missing"), upsert the sites
    through the router, and wait until ingest lists each one's sources as configured."""
    for ref, value in {
        "hs-app": "hs-app-secret",
        "hs-token": HUBSPOT_TOKEN,
        "shop-secret": SHOPIFY_SECRET,
    }.items():
        (credentials / ref).write_text(value)
    for number, s in enumerate(sites):
        path = checkout / f"site-{number}.json"
        path.write_text(json.dumps(s))
        code, _, err = await convhub("sites", "upsert", "--file", str(path), cwd=checkout)
        assert code == 0, err

    async def all_configured() -> bool:
        code, out, _ = await convhub("sources", "--json", cwd=checkout)
        listed = json.loads(out).get("sources", []) if code == 0 else []
        return {s["site_id"] for s in sites} <= {e["site_id"] for e in listed if e["configured"]}

    await wait_for(all_configured, within=20, what="ingest sees the sites' sources", interval=0.2)


def rows(out: str) -> list[list[str]]:
    """The table's lines split on runs of two or more spaces (cells hold single spaces)."""
    return [
        [cell.strip() for cell in line.split("  ") if cell.strip()] for line in out.splitlines()
    ]


async def test_sources_shows_a_webhook_and_the_sync_pulls_a_won_deal(
    checkout: Path, credentials: Path, hubspot: HubSpotSimulator
) -> None:
    await configure(checkout, credentials, site("shop", shopify=True))
    code, out, err = await convhub("sources", cwd=checkout)
    assert code == 0, err
    table = rows(out)
    assert table[0] == [
        "SITE", "SOURCE", "CONFIGURED", "LAST WEBHOOK", "ACCEPTED", "DUPLICATE", "IGNORED",
        "REJECTED", "REFUSED", "PENDING", "WATERMARK", "LAST SYNC",
    ]  # fmt: skip
    assert table[1:] == [
        ["shop", "SHOPIFY", "yes", "never", "0", "0", "0", "0", "0", "-", "-", "-"],
        ["shop", "HUBSPOT", "yes", "never", "0", "0", "0", "0", "0", "0", "-", "never"],
    ]

    # A signed Shopify orders/paid webhook, as Shopify sends it, to the URL the stack names.
    webhooks = StackInfo.load(checkout.parent / ".run" / "stack.json")
    assert webhooks is not None and webhooks.webhooks
    body, headers = shopify_webhook(SHOPIFY_SECRET, shopify_order(5_550_000_001))
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{webhooks.webhooks}/shopify/shop", content=body, headers=headers)
    assert (answer.status_code, answer.json()["outcome"]) == (202, "accepted")
    code, out, _ = await convhub("sources", "--site", "shop", cwd=checkout)
    shopify = rows(out)[1]
    assert shopify[:2] == ["shop", "SHOPIFY"] and shopify[3].endswith(("s ago", "just now"))
    assert shopify[4:9] == ["1", "0", "0", "0", "0"]

    # Two won deals in HubSpot (one with a contact), pulled by the sync; a second run finds
    # them again as duplicates.
    contact = hubspot.add_contact("lea@example.com", gclid="Cj0KCQcli")
    hubspot.add_deal("1490.00", contact_ids=[contact])
    hubspot.add_deal("99.00")
    code, out, err = await convhub("sources", "sync", "hubspot", cwd=checkout)
    assert code == 0, err
    header, row = rows(out)
    assert header == [
        "SITE", "DEALS READ", "ACCEPTED", "DUPLICATES", "REJECTED", "PAGES", "WATERMARK",
    ]  # fmt: skip
    assert row[:6] == ["shop", "2", "2", "0", "0", "1"] and row[6].endswith("Z")
    code, out, err = await convhub(
        "sources", "sync", "hubspot", "--site", "shop", "--backfill-days", "1", "--json",
        cwd=checkout,
    )  # fmt: skip
    assert code == 0, err
    (again,) = json.loads(out)["syncs"]
    assert again["site_id"] == "shop" and again["duplicates"] == "2" and "accepted" not in again
    assert json.loads(out)["failed"] == []
    code, out, _ = await convhub("sources", "--site", "shop", cwd=checkout)
    synced = rows(out)[2]
    assert synced[:2] == ["shop", "HUBSPOT"] and synced[10] == row[6]
    assert synced[11].endswith("ok: 2 deals, 2 duplicate")


async def test_a_failed_sync_is_named_and_exits_1(checkout: Path, credentials: Path) -> None:
    await configure(checkout, credentials, site("good"), site("no-token", token_ref="hs-missing"))
    # Every site with HubSpot configured: the good one synced, the other named, exit 1.
    code, out, err = await convhub("sources", "sync", "hubspot", cwd=checkout)
    assert code == 1
    assert [r[0] for r in rows(out)] == ["SITE", "good"]
    assert "Traceback" not in err
    first, failure = err.strip().splitlines()
    assert first == "convhub: HubSpot sync failed for 1 of 2 sites"
    assert failure.startswith("  no-token: FAILED_PRECONDITION:") and "hs-missing" in failure

    # One site: the service's answer as one line.
    code, _, err = await convhub("sources", "sync", "hubspot", "--site", "elsewhere", cwd=checkout)
    assert code == 1 and one_line(err) == (
        "convhub: ingest: FAILED_PRECONDITION: site 'elsewhere' has no HubSpot access token"
        " configured"
    )
    code, out, err = await convhub("sources", "sync", "hubspot", "--json", cwd=checkout)
    shown = json.loads(out)
    assert code == 1 and [s["site_id"] for s in shown["syncs"]] == ["good"]
    assert [(f["site_id"], f["code"]) for f in shown["failed"]] == [
        ("no-token", "FAILED_PRECONDITION")
    ]
