"""Demo traffic for `make run`: a few conversions now and then, and where earlier ones went;
once, one signed webhook of each source (Shopify, WooCommerce, HubSpot) through ingest's
webhook receiver, and what became of each; and, once, a week of ad spend seeded into the Google,
Meta and TikTok simulators, read by attribution's spend sync, and the blended ROAS.

Its output is one summary line: rewritten in place on a terminal (the banner above stays put),
otherwise printed every `report_every` seconds. The webhooks' outcomes, the spend sync and the
ROAS are lines of their own.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import shutil
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

import grpc
import httpx

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli import sites as demo_config
from convhub_cli.stackfile import StackInfo
from convhub_sim.sources import (
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
    woocommerce_order,
    woocommerce_webhook,
)
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import Metadata, auth_metadata

DEMO_SITES = ("demo-direct", "demo-sgtm")


def start(
    info: StackInfo, stop: threading.Event, every: float = 3.0, report_every: float = 30.0
) -> threading.Thread:
    summary = Summary(stop, sys.stdout, report_every)
    thread = threading.Thread(
        target=lambda: asyncio.run(_loop(info, stop, every, summary)),
        name="demo-traffic",
        daemon=True,
    )
    thread.start()
    return thread


class Summary:
    """The demo's one line: totals so far, and where the last conversions checked went."""

    def __init__(self, stop: threading.Event, out: TextIO, report_every: float) -> None:
        self._stop, self._out, self._every = stop, out, report_every
        self._tty = out.isatty()
        self._next_line = 0.0
        self._shown = False  # on a terminal: the line is on screen, to redraw after a note
        self.sent = self.accepted = self.errors = 0
        self.last_error = ""
        self.outcomes: Counter[str] = Counter()

    def text(self) -> str:
        where = ", ".join(
            outcome if n == 1 else f"{outcome} x{n}" for outcome, n in sorted(self.outcomes.items())
        )
        text = (
            f"demo {datetime.now():%H:%M:%S}: {self.sent} sent, {self.accepted} accepted"
            f" | latest: {where or '-'}"
        )
        if self.errors:
            text += f" | {self.errors} errors, last {self.last_error}"
        return text

    def show(self) -> None:
        if self._stop.is_set():  # the stack is stopping: its own lines come now
            return
        if self._tty:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be rewritten
            self._out.write("\r\x1b[K" + self.text()[:width])
            self._out.flush()
            self._shown = True
        elif time.monotonic() >= self._next_line:
            self._next_line = time.monotonic() + self._every
            print("  " + self.text(), file=self._out, flush=True)

    def note(self, text: str) -> None:
        """A line of its own, kept: on a terminal above the summary line, drawn again below it."""
        if self._stop.is_set():
            return
        line = f"  demo {datetime.now():%H:%M:%S}: {text}"
        if self._tty:
            self._out.write("\r\x1b[K" + line + "\n")
            self._out.flush()
            if self._shown:
                self.show()
        else:
            print(line, file=self._out, flush=True)


def _conversion(site: str, n: int) -> ingest_pb2.Conversion:
    c = ingest_pb2.Conversion(
        site_id=site,
        order_id=f"demo-{datetime.now(UTC):%H%M%S}-{n}",
        event_type="purchase",
        value=f"{random.randint(5, 300)}.{random.randint(0, 99):02d}",
        currency="EUR",
        click_ids=common_pb2.ClickIds(gclid=f"Cj0KCQdemo{n:06d}", ttclid=f"E.C.P.demo{n}"),
        user_data=ingest_pb2.UserData(
            email=f"buyer{n}@example.org",
            phone="+49 151 1234 5678",
            client_ip="203.0.113.10",
            user_agent="Mozilla/5.0 demo",
        ),
        consent=common_pb2.Consent(
            ad_user_data=common_pb2.CONSENT_STATUS_GRANTED,
            ad_personalization=common_pb2.CONSENT_STATUS_GRANTED,
        ),
        page_url="https://shop.example/checkout/thanks",
        visitor_id=f"visitor-{n % 17}",
        source=common_pb2.CONVERSION_SOURCE_API,
    )
    c.event_time.GetCurrentTime()
    return c


async def _loop(info: StackInfo, stop: threading.Event, every: float, summary: Summary) -> None:
    metadata = auth_metadata(
        issue_token(
            info.jwt_secret, subject="demo", sites=["*"], scopes=list(Scope), ttl_seconds=24 * 3600
        )
    )
    # demo-sgtm is configured only when its simulator runs (`convhub up --simulators`).
    sites = [s for s in DEMO_SITES if s != "demo-sgtm" or "sgtm" in info.simulators]
    counter = itertools.count(1)
    previous: list[str] = []
    journeys = _Journeys(info.services.get("attribution"), metadata)
    async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
        stub = ingest_pb2_grpc.IngestServiceStub(channel)
        if info.webhooks:  # alongside the traffic: HubSpot's deal is read a moment later
            webhooks = asyncio.create_task(_webhooks(info, stub, metadata, summary))
            webhooks.add_done_callback(lambda t: t.cancelled() or t.exception())
        if "attribution" in info.services:  # alongside too: ROAS once revenue has come in
            roas = asyncio.create_task(_spend_and_roas(info, metadata, summary))
            roas.add_done_callback(lambda t: t.cancelled() or t.exception())
        while not stop.is_set():
            try:
                if previous:
                    summary.outcomes = await _outcomes(stub, previous, metadata)
                batch = [_conversion(site, next(counter)) for site in sites for _ in range(3)]
                await journeys.before(batch)
                response = await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata
                )
                previous = [r.conversion_id for r in response.results if r.conversion_id]
                summary.sent += len(batch)
                summary.accepted += len(previous)
            except grpc.aio.AioRpcError as exc:
                summary.errors += 1
                summary.last_error = f"{exc.code().name}: {exc.details()}"
            summary.show()
            await asyncio.sleep(every)


async def _outcomes(
    stub: ingest_pb2_grpc.IngestServiceStub, ids: list[str], metadata: tuple[tuple[str, str], ...]
) -> Counter[str]:
    """Where a sample of `ids` stands: "META SENT", "GOOGLE CONFIRMED", "parked (...)", ..."""
    outcomes: Counter[str] = Counter()
    for conversion_id in ids[:: max(1, len(ids) // 2)]:
        got = await stub.GetConversion(
            ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
        )
        routing = got.routing
        if not routing.routed:
            outcomes["not routed yet"] += 1
        elif routing.parked:
            outcomes[f"parked ({common_pb2.ParkReason.Name(routing.parked_reason)})"] += 1
        elif not got.deliveries:
            outcomes["routed"] += 1
        else:
            for d in got.deliveries:
                platform = common_pb2.Platform.Name(d.destination.platform)[len("PLATFORM_") :]
                status = common_pb2.DeliveryStatus.Name(d.status)[len("DELIVERY_STATUS_") :]
                outcomes[f"{platform} {status}".lower()] += 1
    return outcomes


# Each demo visitor's ad interactions before it converts, so attribution shows real numbers. The
# paid campaigns are those whose spend the demo seeds (DEMO_SPEND): ROAS per campaign has both.
_CHANNELS = [
    ("paid_search", "google", "cpc", "brand-search"),
    ("paid_search", "google", "cpc", "generic-search"),
    ("paid_social", "facebook", "paid_social", "retargeting"),
    ("paid_social", "facebook", "paid_social", "prospecting"),
    ("paid_social", "tiktok", "paid_social", "spring-launch"),
    ("email", "newsletter", "email", "weekly"),
    ("organic_search", "google", "organic", ""),
    ("display", "programmatic", "display", "awareness"),
]


class _Journeys:
    """Records touchpoints for the demo conversions' visitors on the attribution service."""

    def __init__(self, address: str | None, metadata: tuple[tuple[str, str], ...]) -> None:
        self._address = address
        self._metadata = metadata

    async def before(self, conversions: list[ingest_pb2.Conversion]) -> None:
        if self._address is None:
            return
        from convhub.attribution.v1 import attribution_pb2, attribution_pb2_grpc

        by_site: dict[str, list[common_pb2.Touchpoint]] = {}
        now = datetime.now(UTC)
        for c in conversions:
            for i in range(random.randint(0, 3)):
                channel, source, medium, campaign = random.choice(_CHANNELS)
                touch = common_pb2.Touchpoint(
                    site_id=c.site_id,
                    visitor_id=c.visitor_id,
                    channel=channel,
                    source=source,
                    medium=medium,
                    campaign=campaign,
                )
                touch.occurred_at.FromDatetime(now - timedelta(days=random.uniform(0.1, 20)))
                touch.touchpoint_id = f"{c.order_id}-t{i}"
                by_site.setdefault(c.site_id, []).append(touch)
        async with grpc.aio.insecure_channel(self._address) as channel:
            stub = attribution_pb2_grpc.AttributionServiceStub(channel)
            for site, touches in by_site.items():
                await stub.RecordTouchpoints(
                    attribution_pb2.RecordTouchpointsRequest(site_id=site, touchpoints=touches),
                    metadata=self._metadata,
                )


# --- webhooks: one of each source, signed as the platform signs it ------------------------------


async def _webhooks(
    info: StackInfo,
    stub: ingest_pb2_grpc.IngestServiceStub,
    metadata: Metadata,
    summary: Summary,
) -> None:
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            await _shop_webhooks(info.webhooks, http, summary)
            if "hubspot" in info.simulators:
                await _hubspot(info, http, stub, metadata, summary)
            else:
                summary.note("hubspot webhook: not sent (no HubSpot simulator in this stack)")
    except Exception as exc:  # the demo's own trouble: a note, and the traffic goes on
        summary.note(f"webhooks: stopped by {type(exc).__name__}: {exc}")


async def _shop_webhooks(base: str, http: httpx.AsyncClient, summary: Summary) -> None:
    site, stamp = demo_config.DEMO_DIRECT, int(time.time())
    secrets = demo_config.DEMO_SOURCE_SECRETS
    gclid = f"Cj0KCQdemoShopify{stamp}"
    order = shopify_order(
        5_550_000_000_000 + stamp % 10**9, landing_site=f"/products/linen-shirt?gclid={gclid}"
    )
    body, headers = shopify_webhook(
        secrets["demo-shopify"], order, shop_domain=demo_config.DEMO_SHOP_DOMAIN
    )
    reply = await _post(http, f"{base}/shopify/{site}", body, headers)
    summary.note(
        f"shopify webhook (orders/paid, order {order['id']}, gclid in landing_site): {reply}"
    )
    woo = woocommerce_order(stamp % 10**6)
    body, headers = woocommerce_webhook(secrets["demo-woocommerce"], woo)
    reply = await _post(http, f"{base}/woocommerce/{site}", body, headers)
    summary.note(
        f"woocommerce webhook (order.updated, order {woo['id']} {woo['status']}, fbclid in"
        f" its order attribution): {reply}"
    )


async def _hubspot(
    info: StackInfo,
    http: httpx.AsyncClient,
    stub: ingest_pb2_grpc.IngestServiceStub,
    metadata: Metadata,
    summary: Summary,
) -> None:
    """A contact with a Google click id and a won deal in the HubSpot simulator, then the
    signed deal-stage event: ingest queues it, reads the deal from the CRM API and ingests it."""
    site, stamp = demo_config.DEMO_DIRECT, int(time.time())
    knobs = f"{info.simulators['hubspot']}/_sim/hubspot"
    contact = await _created(
        http,
        knobs,
        "contacts",
        {
            "kind": "add_contact",
            "email": "lea.hoffmann@example.com",
            "firstname": "Lea",
            "lastname": "Hoffmann",
            "gclid": f"Cj0KCQdemoHubSpot{stamp}",
        },
    )
    deal = await _created(
        http,
        knobs,
        "deals",
        {
            "kind": "add_deal",
            "amount": "1490.00",
            "currency": "EUR",
            "stage": "closedwon",
            "contact_ids": [contact],
            "dealname": "Demo annual plan",
        },
    )
    before = await _hubspot_counts(stub, metadata, site)
    url = f"{info.webhooks}/hubspot/{site}"  # HubSpot signs the URL it calls: exactly this one
    event = hubspot_deal_event(int(deal), portal_id=demo_config.DEMO_HUBSPOT_PORTAL)
    body, headers = hubspot_webhook(
        demo_config.DEMO_SOURCE_SECRETS["demo-hubspot-app"], [event], url=url
    )
    started = time.monotonic()
    reply = await _post(http, url, body, headers)
    summary.note(
        f"hubspot webhook (deal {deal} closedwon, contact {contact} with a gclid): {reply}"
    )
    deadline = started + 30
    while time.monotonic() < deadline:
        now = await _hubspot_counts(stub, metadata, site)
        grew = {k: n - before.get(k, 0) for k, n in now.items() if k != "pending"}
        if now.get("pending", 0) == 0 and any(grew.values()):
            outcome = ", ".join(k for k, n in grew.items() if n)
            summary.note(
                f"hubspot deal {deal}: read from the CRM API, {outcome}"
                f" {time.monotonic() - started:.1f} s after its webhook (`convhub sources`)"
            )
            return
        await asyncio.sleep(0.5)
    summary.note(f"hubspot deal {deal}: still pending after 30 s (`convhub sources` shows it)")


class _Reply:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        try:
            self.body: dict[str, Any] = response.json()
        except ValueError:
            self.body = {}

    def __str__(self) -> str:
        text = f"{self.status} {self.body.get('outcome', '?')}"
        if self.body.get("conversion_id"):
            text += f", conversion {self.body['conversion_id']}"
        if self.body.get("message"):
            text += f" ({self.body['message']})"
        return text


async def _post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> _Reply:
    """POST as the platform does; retried while ingest does not know the site's sources yet
    (its copy of the site configuration follows the router's within a moment) or is busy."""
    deadline = time.monotonic() + 15
    while True:
        try:
            reply = _Reply(await http.post(url, content=body, headers=headers))
        except httpx.TransportError:
            if time.monotonic() >= deadline:
                raise
        else:
            if reply.status not in (404, 429, 503) or time.monotonic() >= deadline:
                return reply
        await asyncio.sleep(0.5)


async def _created(http: httpx.AsyncClient, knobs: str, kind: str, knob: dict[str, Any]) -> str:
    """Turn one of the HubSpot simulator's knobs; the id of the object it created."""
    before = set((await http.get(f"{knobs}/objects")).raise_for_status().json()[kind])
    (await http.post(f"{knobs}/faults", json=knob)).raise_for_status()
    after = set((await http.get(f"{knobs}/objects")).raise_for_status().json()[kind])
    return str(max(after - before, key=int))


async def _hubspot_counts(
    stub: ingest_pb2_grpc.IngestServiceStub, metadata: Metadata, site: str
) -> dict[str, int]:
    """The site's HubSpot webhooks of the last 7 days by outcome, and its pending events."""
    listed = await stub.ListSources(ingest_pb2.ListSourcesRequest(site_id=site), metadata=metadata)
    for s in listed.sources:
        if s.source == common_pb2.CONVERSION_SOURCE_HUBSPOT:
            return {
                "accepted": s.webhooks_accepted,
                "duplicate": s.webhooks_duplicate,
                "ignored": s.webhooks_ignored,
                "rejected": s.webhooks_rejected,
                "pending": s.pending,
            }
    return {}


# --- spend and ROAS: a week of spend in the simulators, synced, and the blended ROAS ------------

# platform -> (the demo site's ad account, its currency, each campaign's daily spend). TikTok's
# account is in USD: the site reports in EUR, so its spend is converted at each day's rate.
DEMO_SPEND = {
    "google": (
        demo_config.DEMO_GOOGLE_CUSTOMER,
        "EUR",
        {"brand-search": "42.50", "generic-search": "65.00"},
    ),
    "meta": (
        demo_config.DEMO_META_AD_ACCOUNT,
        "EUR",
        {"retargeting": "38.00", "prospecting": "55.00"},
    ),
    "tiktok": (demo_config.DEMO_TIKTOK_ADVERTISER, "USD", {"spring-launch": "30.00"}),
}
DEMO_DAYS = 7
USD_IN_EUR = "0.92"
ROAS_AFTER = 15.0  # seconds of demo traffic before the ROAS line: revenue to set spend against


def seeded_spend(today: date) -> dict[str, dict[str, Any]]:
    """Each simulated platform's seed_spend knob: the last DEMO_DAYS days (today included), each
    campaign's daily amount varied by the day so the week does not look flat."""
    knobs = {}
    for platform, (account, currency, campaigns) in DEMO_SPEND.items():
        rows = [
            {
                "campaign": campaign,
                "date": (today - timedelta(days=back)).isoformat(),
                "amount": str(_varied(Decimal(daily), back)),
            }
            for campaign, daily in campaigns.items()
            for back in range(DEMO_DAYS)
        ]
        knobs[platform] = {
            "kind": "seed_spend",
            "account_id": account,
            "rows": rows,
            "currency": currency,
        }
    return knobs


def _varied(daily: Decimal, back: int) -> Decimal:
    """85 % to 115 % of `daily`, by the day, in cents."""
    return (daily * (Decimal("0.85") + Decimal(back % 4) / 10)).quantize(Decimal("0.01"))


async def _spend_and_roas(info: StackInfo, metadata: Metadata, summary: Summary) -> None:
    try:
        await _spend(info, metadata, summary)
    except Exception as exc:  # the demo's own trouble: a note, and the traffic goes on
        summary.note(f"spend and ROAS: stopped by {type(exc).__name__}: {exc}")


async def _spend(info: StackInfo, metadata: Metadata, summary: Summary) -> None:
    from convhub.attribution.v1 import attribution_pb2 as apb
    from convhub.attribution.v1 import attribution_pb2_grpc

    started = time.monotonic()
    site, today = demo_config.DEMO_DIRECT, datetime.now(UTC).date()
    simulated = [p for p in DEMO_SPEND if p in info.simulators]
    async with httpx.AsyncClient(timeout=10) as http:
        for platform, knob in seeded_spend(today).items():
            if platform in simulated:
                url = f"{info.simulators[platform]}/_sim/{platform}/faults"
                (await http.post(url, json=knob)).raise_for_status()
    async with grpc.aio.insecure_channel(info.services["attribution"]) as channel:
        stub = attribution_pb2_grpc.AttributionServiceStub(channel)
        # USD into EUR for every day the sync or a ROAS query may touch.
        rates = [
            apb.ExchangeRate(
                date=(today - timedelta(days=back)).isoformat(),
                currency="USD",
                rate=common_pb2.Decimal(value=USD_IN_EUR),
            )
            for back in range(-1, DEMO_DAYS + 1)
        ]
        await stub.RecordExchangeRates(
            apb.RecordExchangeRatesRequest(site_id=site, rates=rates), metadata=metadata
        )
        # attribution learns the site's ad accounts from the router a moment after start-up.
        deadline = time.monotonic() + 20
        while True:
            answer = await stub.RunJob(
                apb.RunJobRequest(job=apb.JOB_SPEND_SYNC, site_id=site, days=DEMO_DAYS),
                metadata=metadata,
                timeout=600,
            )
            run = answer.run
            if run.counts.get("accounts", 0) >= len(DEMO_SPEND) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        outcome = " ".join(run.outcome.split())
        summary.note(
            f"spend sync of {site}: {outcome}, {run.counts.get('rows', 0)} rows from"
            f" {run.counts.get('accounts', 0)} ad accounts"
            f" ({', '.join(simulated) or 'no'} simulators; `convhub attribution jobs`)"
        )
        await asyncio.sleep(max(0.0, ROAS_AFTER - (time.monotonic() - started)))
        range_ = common_pb2.TimeRange()
        range_.start.FromDatetime(datetime.now(UTC) - timedelta(days=DEMO_DAYS))
        roas = await stub.GetRoas(
            apb.GetRoasRequest(
                site_id=site,
                model=apb.ATTRIBUTION_MODEL_LAST_CLICK,
                time_range=range_,
                group_by=apb.GROUP_BY_CAMPAIGN,
            ),
            metadata=metadata,
        )
    summary.note(roas_line(roas, site))


def roas_line(roas: Any, site: str) -> str:
    """The demo's ROAS line from a GetRoasResponse."""
    total, currency = roas.total, roas.currency
    blended = f"{Decimal(total.roas.value):.2f}" if total.HasField("roas") else "- (no spend)"
    return (
        f"ROAS of {site}, last click, {DEMO_DAYS} days: spend"
        f" {Decimal(total.spend.value or 0):.2f} {currency}, attributed revenue"
        f" {Decimal(total.revenue.value or 0):.2f} {currency}, blended ROAS {blended}"
        f" (`convhub attribution roas --site {site} --by campaign`)"
    )
