"""ReceiveWebhook, ReadAnnouncedDeals and SyncHubSpot on in-memory fakes of their ports, over a
real IngestConversions: each delivery handled once, each order or deal one conversion, a failing
HubSpot waited out without losing an event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from convhub_sim.sources import (
    hubspot_deal_event,
    hubspot_webhook,
    shopify_order,
    shopify_webhook,
    woocommerce_order,
    woocommerce_webhook,
)
from hubkit.errors import FailedPrecondition, Unavailable
from hubkit.resilience import Backoff
from ingest.app.hubspot import HubSpotDeals, ReadAnnouncedDeals, SyncHubSpot
from ingest.app.ingestion import IngestConversions
from ingest.app.webhooks import ReceiveWebhook, WebhookRequest
from ingest.domain.hubspot import Deal, DealEvent
from ingest.domain.model import (
    Claim,
    ConversionInput,
    HubSpotSettings,
    Outcome,
    PreparedConversion,
    ShopifySettings,
    SitePolicy,
    SourceSettings,
    WooCommerceSettings,
)
from ingest.ports import (
    CrmUnavailable,
    DealPage,
    Delivery,
    PendingDeal,
    SecretUnavailable,
    SyncBusy,
)

from .fakes import FakeMetrics, FakePolicies, FakeStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
SITE = "shop-1"
PORTAL = 4_455_667
SHOPIFY = "CONVERSION_SOURCE_SHOPIFY"
WOO = "CONVERSION_SOURCE_WOOCOMMERCE"
HUBSPOT = "CONVERSION_SOURCE_HUBSPOT"
SHOPIFY_SECRET = "shpss_test_secret"
WOO_SECRET = "wc_test_secret"
HUBSPOT_APP_SECRET = "hs-app-secret"
TOKEN = "pat-eu1-test-token"
SHOP_DOMAIN = "demo-shop.myshopify.com"
HUBSPOT_URL = (
    "https://ingest.example/webhooks/hubspot/shop-1?from=https%3A%2F%2Fapp.hubspot.com%2Fx"
)
POLICY = SitePolicy(
    sources=SourceSettings(
        shopify=ShopifySettings(secret_ref="shopify-secret", shop_domain=SHOP_DOMAIN),
        woocommerce=WooCommerceSettings(secret_ref="woo-secret"),
        hubspot=HubSpotSettings(
            app_secret_ref="hs-app",
            access_token_ref="hs-token",
            portal_id=PORTAL,
            default_currency="EUR",
        ),
    )
)


# --- fakes ---------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class SourceStore(FakeStore):
    """FakeStore that also claims each source object (order, deal) for the first conversion it
    was reported as, in the same call, as the SQL store does."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[tuple[str, str, str], str] = {}

    async def store(self, batch: Sequence[PreparedConversion]) -> list[Claim]:
        claims = await super().store(batch)
        for p, claim in zip(batch, claims, strict=True):
            if p.input.source_ref:
                key = (p.site_id, p.input.source, p.input.source_ref)
                self.objects.setdefault(key, claim.conversion_id)
        return claims


@dataclass
class Pending:
    deal_id: str
    attempts: int
    next_attempt_at: datetime


class FakeLedger:
    def __init__(self, store: SourceStore) -> None:
        self._store = store
        self.deliveries: dict[tuple[str, str, str], Delivery] = {}
        self.refusals: list[tuple[str, str, datetime]] = []
        self.pending: dict[tuple[str, str], Pending] = {}  # (site, event id)

    async def delivery(self, site_id: str, source: str, delivery_id: str) -> Delivery | None:
        return self.deliveries.get((site_id, source, delivery_id))

    async def record(
        self, site_id: str, source: str, deliveries: dict[str, Delivery], at: datetime
    ) -> None:
        for delivery_id, d in deliveries.items():
            self.deliveries[(site_id, source, delivery_id)] = d

    async def refused(self, site_id: str, source: str, at: datetime) -> None:
        self.refusals.append((site_id, source, at))

    async def known_objects(self, site_id: str, source: str, refs: Sequence[str]) -> dict[str, str]:
        objects = self._store.objects
        return {r: objects[(site_id, source, r)] for r in refs if (site_id, source, r) in objects}

    async def add_pending(
        self, site_id: str, events: Sequence[DealEvent], at: datetime
    ) -> list[str]:
        new = []
        for e in events:
            if (site_id, HUBSPOT, e.event_id) in self.deliveries:
                continue
            self.deliveries[(site_id, HUBSPOT, e.event_id)] = Delivery("pending")
            self.pending[(site_id, e.event_id)] = Pending(e.deal_id, 0, at)
            new.append(e.event_id)
        return new

    async def due_pending(self, now: datetime, limit: int) -> list[PendingDeal]:
        due = sorted(
            (p.next_attempt_at, site_id, event_id, p)
            for (site_id, event_id), p in self.pending.items()
            if p.next_attempt_at <= now
        )
        return [PendingDeal(s, e, p.deal_id, p.attempts) for _, s, e, p in due[:limit]]

    async def finish_pending(
        self, site_id: str, outcomes: dict[str, Delivery], at: datetime
    ) -> None:
        for event_id in outcomes:
            del self.pending[(site_id, event_id)]
        await self.record(site_id, HUBSPOT, outcomes, at)

    async def postpone_pending(
        self, site_id: str, event_ids: Sequence[str], until: datetime
    ) -> None:
        for event_id in event_ids:
            p = self.pending[(site_id, event_id)]
            p.attempts += 1
            p.next_attempt_at = until


class FakeSyncState:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log
        self.watermarks: dict[tuple[str, str], datetime] = {}
        self.leased: set[tuple[str, str]] = set()
        self.outcomes: list[str] = []

    async def begin(
        self, site_id: str, source: str, now: datetime, lease: timedelta
    ) -> datetime | None:
        if (site_id, source) in self.leased:
            raise SyncBusy(f"a {source} sync of site {site_id!r} is already running")
        self.leased.add((site_id, source))
        self.log.append(("begin", self.watermarks.get((site_id, source))))
        return self.watermarks.get((site_id, source))

    async def advance(self, site_id: str, source: str, watermark: datetime) -> None:
        self.log.append(("advance", watermark))
        old = self.watermarks.get((site_id, source))
        self.watermarks[(site_id, source)] = max(old, watermark) if old else watermark

    async def end(self, site_id: str, source: str, outcome: str, at: datetime) -> None:
        self.log.append(("end", outcome))
        self.outcomes.append(outcome)
        self.leased.discard((site_id, source))


class FakeSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.reads: list[str] = []

    def read(self, ref: str) -> str:
        self.reads.append(ref)
        if not self.values.get(ref):
            raise SecretUnavailable(f"credentials {ref!r} are not available")
        return self.values[ref]


class FakeCrm:
    """HubSpot's deal reads: batch read by id, and search by stage and modification time,
    oldest change first, `page_size` a page, `after` the offset."""

    def __init__(self, log: list[tuple[str, Any]], page_size: int = 2) -> None:
        self.log = log
        self.page_size = page_size
        self.deals: dict[str, Deal] = {}
        self.read_failures: list[CrmUnavailable] = []
        self.search_failures: dict[str, list[CrmUnavailable]] = {}  # by `after`
        self.reads: list[list[str]] = []
        self.searches: list[tuple[datetime, tuple[str, ...], str]] = []

    def add(self, *deals: Deal) -> None:
        self.deals |= {d.deal_id: d for d in deals}

    async def read_deals(self, token: str, deal_ids: Sequence[str]) -> list[Deal]:
        assert token == TOKEN
        self.reads.append(list(deal_ids))
        if self.read_failures:
            raise self.read_failures.pop(0)
        return [self.deals[i] for i in deal_ids if i in self.deals]

    async def search_deals(
        self, token: str, *, modified_since: datetime, stages: Sequence[str], after: str
    ) -> DealPage:
        assert token == TOKEN
        self.searches.append((modified_since, tuple(stages), after))
        self.log.append(("search", after))
        failures = self.search_failures.get(after)
        if failures:
            raise failures.pop(0)
        matching = sorted(
            (
                d
                for d in self.deals.values()
                if d.properties.get("dealstage") in stages
                and d.modified_at is not None
                and d.modified_at >= modified_since
            ),
            key=lambda d: (d.modified_at, d.deal_id),
        )
        start = int(after or 0)
        end = start + self.page_size
        return DealPage(matching[start:end], str(end) if end < len(matching) else "")


class CountingIngest(IngestConversions):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[list[str]] = []  # source refs of each call

    async def __call__(self, inputs: Sequence[ConversionInput]) -> list[Outcome]:
        self.calls.append([c.source_ref for c in inputs])
        return await super().__call__(inputs)


@dataclass
class World:
    clock: Clock = field(default_factory=Clock)
    log: list[tuple[str, Any]] = field(default_factory=list)
    store: SourceStore = field(default_factory=SourceStore)
    secrets: FakeSecrets = field(
        default_factory=lambda: FakeSecrets(
            {
                "shopify-secret": SHOPIFY_SECRET,
                "woo-secret": WOO_SECRET,
                "hs-app": HUBSPOT_APP_SECRET,
                "hs-token": TOKEN,
            }
        )
    )
    sleeps: list[float] = field(default_factory=list)
    wakeups: int = 0

    def __post_init__(self) -> None:
        ids = itertools.count(1)
        self.policies = FakePolicies(**{SITE: POLICY})
        self.ledger = FakeLedger(self.store)
        self.state = FakeSyncState(self.log)
        self.crm = FakeCrm(self.log)
        self.ingest = CountingIngest(
            self.store,
            self.policies,
            FakeMetrics(),
            clock=self.clock,
            new_id=lambda: f"conv-{next(ids)}",
        )
        self.receive = ReceiveWebhook(
            self.ingest,
            self.policies,
            self.secrets,
            self.ledger,
            clock=self.clock,
            on_pending=self._wake,
        )
        deals = HubSpotDeals(self.ingest, self.ledger)
        self.reader = ReadAnnouncedDeals(
            deals,
            self.ledger,
            self.crm,
            self.secrets,
            self.policies,
            clock=self.clock,
            backoff=Backoff(schedule=(5, 15, 60, 300), jitter=0, max_delay=3600),
        )
        self.sync = SyncHubSpot(
            deals,
            self.state,
            self.crm,
            self.secrets,
            self.policies,
            clock=self.clock,
            sleep=self._sleep,
            backoff=Backoff(schedule=(1, 2, 4, 8, 16), jitter=0, max_delay=60),
        )

    def _wake(self) -> None:
        self.wakeups += 1

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.now += timedelta(seconds=seconds)


def request(
    source: str, body: bytes, headers: dict[str, str], *, site: str = SITE, uri: str = ""
) -> WebhookRequest:
    uri = uri or f"https://ingest.example/webhooks/{source}/{site}"
    return WebhookRequest(source, site, "POST", uri, headers, body)


def shopify(order_id: int = 5_001, *, webhook_id: str = "wh-1", **order: Any) -> WebhookRequest:
    order.setdefault("created_at", "2026-11-22T12:30:00+01:00")
    body, headers = shopify_webhook(
        SHOPIFY_SECRET, shopify_order(order_id, **order), webhook_id=webhook_id
    )
    return request("shopify", body, headers)


def woo(order_id: int = 4_711, *, delivery_id: str = "d-1", **order: Any) -> WebhookRequest:
    order.setdefault("date_created_gmt", "2026-11-22T11:00:00")
    body, headers = woocommerce_webhook(
        WOO_SECRET, woocommerce_order(order_id, **order), delivery_id=delivery_id
    )
    return request("woocommerce", body, headers)


def hubspot(events: list[dict[str, Any]], *, stamp_ms: int = NOW_MS) -> WebhookRequest:
    body, headers = hubspot_webhook(
        HUBSPOT_APP_SECRET, events, url=HUBSPOT_URL, timestamp_ms=stamp_ms
    )
    return request("hubspot", body, headers, uri=HUBSPOT_URL)


def won(deal_id: int, event_id: int, stage: str = "closedwon") -> dict[str, Any]:
    return hubspot_deal_event(deal_id, portal_id=PORTAL, stage=stage, event_id=event_id)


def crm_deal(deal_id: int, modified: datetime, stage: str = "closedwon") -> Deal:
    iso = modified.isoformat().replace("+00:00", "Z")
    return Deal(
        str(deal_id),
        {
            "amount": "2500.00",
            "deal_currency_code": "EUR",
            "dealstage": stage,
            "closedate": iso,
            "hs_lastmodifieddate": iso,
        },
        ({"email": f"buyer{deal_id}@example.com", "hs_google_click_id": "Gclid_hubspot_1"},),
        (str(100 + deal_id),),
    )


# --- ReceiveWebhook: shops -----------------------------------------------------------------------


async def test_a_shopify_webhook_is_ingested_once_per_delivery() -> None:
    w = World()
    first = await w.receive(shopify(5_001, webhook_id="wh-1"))
    assert (first.status, first.outcome) == (202, "accepted")
    assert first.conversion_id == "conv-1"
    assert first.body() == {"outcome": "accepted", "conversion_id": "conv-1"}
    assert [p.input.source_ref for p in w.store.stored] == ["5001"]
    assert w.ledger.deliveries[(SITE, SHOPIFY, "wh-1")] == Delivery("accepted", "conv-1")

    retry = await w.receive(shopify(5_001, webhook_id="wh-1"))
    assert (retry.status, retry.outcome, retry.conversion_id) == (202, "accepted", "conv-1")
    assert w.ingest.calls == [["5001"]]  # the retry never reached ingest
    assert len(w.store.stored) == 1


async def test_another_delivery_of_the_same_order_is_a_duplicate_of_its_conversion() -> None:
    w = World()
    first = await w.receive(shopify(5_002, webhook_id="wh-create"))
    # orders/paid after orders/create: a new delivery id, the same order.
    body, headers = shopify_webhook(
        SHOPIFY_SECRET,
        shopify_order(5_002, created_at="2026-11-22T12:30:00+01:00"),
        topic="orders/paid",
        webhook_id="wh-paid",
    )
    again = await w.receive(request("shopify", body, headers))
    assert (again.status, again.outcome) == (202, "duplicate")
    assert again.conversion_id == first.conversion_id != ""
    assert w.ledger.deliveries[(SITE, SHOPIFY, "wh-paid")] == Delivery(
        "duplicate", first.conversion_id
    )
    assert w.ingest.calls == [["5002"]] and len(w.store.stored) == 1


@pytest.mark.parametrize(
    "spoil",
    ["tampered body", "wrong secret", "no signature", "another shop"],
)
async def test_a_webhook_that_is_not_the_shops_is_refused_and_nothing_ingested(
    spoil: str,
) -> None:
    w = World()
    order = shopify_order(5_003, created_at="2026-11-22T12:30:00+01:00")
    secret = "not-the-secret" if spoil == "wrong secret" else SHOPIFY_SECRET
    domain = "evil-shop.myshopify.com" if spoil == "another shop" else SHOP_DOMAIN
    body, headers = shopify_webhook(secret, order, webhook_id="wh-x", shop_domain=domain)
    if spoil == "tampered body":
        body = body.replace(b'"129.90"', b'"0.01"')
    if spoil == "no signature":
        del headers["X-Shopify-Hmac-Sha256"]

    reply = await w.receive(request("shopify", body, headers))

    assert (reply.status, reply.outcome) == (401, "refused")
    assert SHOPIFY_SECRET not in reply.message
    assert w.ingest.calls == [] and w.store.stored == []
    assert w.ledger.refusals == [(SITE, SHOPIFY, NOW)]
    assert w.ledger.deliveries == {}


async def test_an_unknown_or_unconfigured_source_is_not_found() -> None:
    w = World()
    body, headers = shopify_webhook(SHOPIFY_SECRET, shopify_order(5_004))
    unknown = await w.receive(request("magento", body, headers))
    assert (unknown.status, unknown.outcome) == (404, "unknown_source")
    other_site = await w.receive(request("shopify", body, headers, site="shop-2"))
    assert (other_site.status, other_site.outcome) == (404, "not_configured")
    assert w.secrets.reads == [] and w.ledger.refusals == [] and w.ingest.calls == []


async def test_a_missing_secret_is_unavailable_so_the_shop_retries() -> None:
    w = World()
    del w.secrets.values["shopify-secret"]
    reply = await w.receive(shopify(5_005))
    assert (reply.status, reply.outcome) == (503, "unavailable")
    assert w.ledger.deliveries == {} and w.ledger.refusals == [] and w.ingest.calls == []


async def test_an_unpaid_order_is_acknowledged_ignored_and_recorded() -> None:
    w = World()
    reply = await w.receive(shopify(5_006, webhook_id="wh-pending", financial_status="pending"))
    assert (reply.status, reply.outcome, reply.conversion_id) == (200, "ignored", "")
    assert "not paid" in reply.message
    assert w.ledger.deliveries[(SITE, SHOPIFY, "wh-pending")] == Delivery("ignored", "")
    assert w.ingest.calls == [] and w.store.stored == []
    retry = await w.receive(shopify(5_006, webhook_id="wh-pending", financial_status="pending"))
    assert (retry.status, retry.outcome) == (200, "ignored")
    # Paid later: a new delivery, now a purchase.
    paid = await w.receive(shopify(5_006, webhook_id="wh-paid"))
    assert (paid.status, paid.outcome) == (202, "accepted")


async def test_a_topic_without_an_order_or_a_body_that_is_not_json() -> None:
    w = World()
    body, headers = shopify_webhook(SHOPIFY_SECRET, {"id": 1}, topic="customers/create")
    reply = await w.receive(request("shopify", body, headers))
    assert (reply.status, reply.outcome) == (200, "ignored")

    body = b"<xml/>"
    signature = base64.b64encode(
        hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
    }
    unreadable = await w.receive(request("shopify", body, headers))
    assert (unreadable.status, unreadable.outcome) == (200, "rejected")
    assert unreadable.body()["errors"][0]["code"] == "INVALID_FORMAT"
    assert w.ingest.calls == []
    # No delivery id header: the body's digest stands in, so a retry is still recognised.
    assert [k[2][:7] for k in w.ledger.deliveries if k[1] == SHOPIFY][-1] == "sha256:"


async def test_woocommerce_ping_paid_unpaid_and_invalid_orders() -> None:
    w = World()
    ping = await w.receive(request("woocommerce", b"webhook_id=7", {}))
    assert (ping.status, ping.outcome) == (200, "ping")

    paid = await w.receive(woo(4_711, delivery_id="d-1"))
    assert (paid.status, paid.outcome, paid.conversion_id) == (202, "accepted", "conv-1")
    assert w.store.stored[0].input.source == WOO

    on_hold = await w.receive(woo(4_712, delivery_id="d-2", status="on-hold"))
    assert (on_hold.status, on_hold.outcome) == (200, "ignored")

    invalid = await w.receive(woo(4_713, delivery_id="d-3", currency="ZZZ"))
    assert (invalid.status, invalid.outcome) == (200, "rejected")
    assert [e.field for e in invalid.errors] == ["currency"]
    assert w.ledger.deliveries[(SITE, WOO, "d-3")] == Delivery("rejected", "")

    unsigned = await w.receive(request("woocommerce", b'{"id": 1}', {}))
    assert (unsigned.status, unsigned.outcome) == (401, "refused")
    assert len(w.store.stored) == 1


# --- ReceiveWebhook: HubSpot ---------------------------------------------------------------------


async def test_a_hubspot_webhook_queues_its_won_deal_events_once() -> None:
    w = World()
    events = [won(10_001, 1), won(10_002, 2), won(10_003, 3, stage="closedlost")]
    reply = await w.receive(hubspot(events))
    assert (reply.status, reply.outcome) == (202, "pending")
    assert reply.message == "2 deal event(s) queued, 0 already seen, 1 not about a won deal"
    assert {k: p.deal_id for k, p in w.ledger.pending.items()} == {
        (SITE, "1"): "10001",
        (SITE, "2"): "10002",
    }
    assert w.ledger.deliveries[(SITE, HUBSPOT, "1")] == Delivery("pending")
    assert w.wakeups == 1

    retry = await w.receive(hubspot(events))
    assert (retry.status, retry.outcome) == (202, "pending")
    assert retry.message.startswith("0 deal event(s) queued, 2 already seen")
    assert len(w.ledger.pending) == 2 and w.wakeups == 1
    assert w.ingest.calls == []  # deals are read later, by ReadAnnouncedDeals

    nothing = await w.receive(hubspot([won(10_003, 4, stage="closedlost")]))
    assert (nothing.status, nothing.outcome) == (200, "ignored")


async def test_a_hubspot_webhook_of_another_account_or_too_old_is_refused() -> None:
    w = World()
    theirs = hubspot_deal_event(10_001, portal_id=999, event_id=1)
    reply = await w.receive(hubspot([won(10_002, 2), theirs]))
    assert (reply.status, reply.outcome) == (403, "refused")
    assert w.ledger.pending == {} and w.ledger.refusals == [(SITE, HUBSPOT, NOW)]

    stale = await w.receive(hubspot([won(10_002, 2)], stamp_ms=NOW_MS - 6 * 60 * 1000))
    assert (stale.status, stale.outcome) == (401, "refused")
    assert w.ledger.pending == {} and len(w.ledger.refusals) == 2


# --- ReadAnnouncedDeals --------------------------------------------------------------------------


async def test_announced_deals_wait_out_a_failing_crm_and_are_ingested_once() -> None:
    w = World()
    w.crm.add(crm_deal(10_001, NOW - timedelta(hours=1)), crm_deal(10_002, NOW))
    creation = {
        "eventId": 3,
        "portalId": PORTAL,
        "subscriptionType": "deal.creation",
        "objectId": 10_001,
    }
    # Events 1 and 3 name the same deal; deal 10009 no longer exists.
    await w.receive(hubspot([won(10_001, 1), won(10_002, 2), creation, won(10_009, 4)]))
    assert len(w.ledger.pending) == 4
    w.crm.read_failures = [CrmUnavailable("429 throttled", 2.0), CrmUnavailable("502", 2.0)]

    assert await w.reader.run_once() == 0
    assert [p.attempts for p in w.ledger.pending.values()] == [1] * 4
    assert {p.next_attempt_at for p in w.ledger.pending.values()} == {NOW + timedelta(seconds=5)}
    assert w.ingest.calls == []
    assert w.ledger.deliveries[(SITE, HUBSPOT, "1")] == Delivery("pending")

    assert await w.reader.run_once() == 0  # not due yet: HubSpot is not asked
    assert len(w.crm.reads) == 1

    w.clock.now += timedelta(seconds=5)
    assert await w.reader.run_once() == 0
    assert [p.attempts for p in w.ledger.pending.values()] == [2] * 4
    due = {p.next_attempt_at for p in w.ledger.pending.values()}
    assert due == {NOW + timedelta(seconds=5 + 15)}

    w.clock.now = NOW + timedelta(seconds=20)
    assert await w.reader.run_once() == 4
    assert w.crm.reads[-1] == ["10001", "10002", "10009"]
    assert w.ledger.pending == {}
    assert sorted(p.input.source_ref for p in w.store.stored) == ["10001", "10002"]
    assert len(w.ingest.calls) == 1
    outcomes = {k[2]: d for k, d in w.ledger.deliveries.items() if k[1] == HUBSPOT}
    by_deal = {p.input.source_ref: p.conversion_id for p in w.store.stored}
    assert outcomes == {
        "1": Delivery("accepted", by_deal["10001"]),
        "2": Delivery("accepted", by_deal["10002"]),
        "3": Delivery("accepted", by_deal["10001"]),
        "4": Delivery("ignored", ""),
    }
    assert await w.reader.run_once() == 0

    # HubSpot announces deal 10001 again (a later stage change back to won).
    await w.receive(hubspot([won(10_001, 5)]))
    assert await w.reader.run_once() == 1
    assert w.ledger.deliveries[(SITE, HUBSPOT, "5")] == Delivery("duplicate", by_deal["10001"])
    assert len(w.ingest.calls) == 1 and len(w.store.stored) == 2


async def test_an_unreadable_token_postpones_events_and_a_lost_deal_is_ignored() -> None:
    w = World()
    w.crm.add(crm_deal(10_001, NOW, stage="closedlost"))
    await w.receive(hubspot([won(10_001, 1)]))
    del w.secrets.values["hs-token"]
    assert await w.reader.run_once() == 0
    assert w.ledger.pending[(SITE, "1")].attempts == 1 and w.crm.reads == []

    w.secrets.values["hs-token"] = TOKEN
    w.clock.now += timedelta(minutes=1)
    assert await w.reader.run_once() == 1
    delivery = w.ledger.deliveries[(SITE, HUBSPOT, "1")]
    assert delivery == Delivery("ignored", "")  # lost again by the time it was read
    assert w.store.stored == []


# --- SyncHubSpot ---------------------------------------------------------------------------------


def six_won_deals(w: World) -> list[Deal]:
    deals = [crm_deal(20_000 + i, NOW - timedelta(hours=6 - i)) for i in range(6)]
    w.crm.add(*deals, crm_deal(29_999, NOW - timedelta(hours=2), stage="closedlost"))
    return deals


async def test_the_sync_pages_through_won_deals_and_advances_the_watermark_each_page() -> None:
    w = World()
    deals = six_won_deals(w)
    modified = [d.modified_at for d in deals]

    result = await w.sync(SITE)

    assert (result.pages, result.deals_read, dict(result.counts)) == (3, 6, {"accepted": 6})
    assert result.watermark == modified[5]
    assert w.log == [
        ("begin", None),
        ("search", ""),
        ("advance", modified[1]),
        ("search", "2"),
        ("advance", modified[3]),
        ("search", "4"),
        ("advance", modified[5]),
        ("end", "ok: 6 deals, 6 accepted"),
    ]
    assert w.crm.searches[0][:2] == (NOW - timedelta(days=30), ("closedwon",))
    assert len(w.store.stored) == 6 and w.state.leased == set()

    # A second run starts at the watermark: what it reads again is a duplicate, nothing new.
    w.log.clear()
    again = await w.sync(SITE)
    assert w.crm.searches[-1][0] == modified[5]
    assert (again.pages, again.deals_read, dict(again.counts)) == (1, 1, {"duplicate": 1})
    assert again.watermark == modified[5]
    assert [e for e, _ in w.log] == ["begin", "search", "end"]
    assert len(w.store.stored) == 6 and len(w.ingest.calls) == 3

    # A deal won since then is the third run's one new conversion.
    w.crm.add(crm_deal(20_100, NOW))
    third = await w.sync(SITE)
    assert dict(third.counts) == {"duplicate": 1, "accepted": 1}
    assert third.watermark == NOW and len(w.store.stored) == 7


async def test_a_failing_crm_is_waited_out_and_the_sync_completes() -> None:
    w = World()
    six_won_deals(w)
    w.crm.search_failures["2"] = [CrmUnavailable("429", 0.5), CrmUnavailable("502", 10.0)]

    result = await w.sync(SITE)

    # Backoff 1 s then 2 s, a longer Retry-After wins: 1.0, then 10.0.
    assert w.sleeps == [1.0, 10.0]
    assert [a for _, _, a in w.crm.searches] == ["", "2", "2", "2", "4"]
    assert (result.pages, dict(result.counts)) == (3, {"accepted": 6})
    assert w.state.outcomes == ["ok: 6 deals, 6 accepted"]


async def test_a_crm_failing_page_retries_times_fails_the_run_which_resumes_later() -> None:
    w = World()
    deals = six_won_deals(w)
    retries = SyncHubSpot.PAGE_RETRIES
    w.crm.search_failures["2"] = [CrmUnavailable("503", 0.0) for _ in range(retries)]

    with pytest.raises(Unavailable, match="HubSpot kept failing"):
        await w.sync(SITE)

    assert len(w.sleeps) == retries - 1
    assert len([a for _, _, a in w.crm.searches if a == "2"]) == retries
    assert w.state.outcomes[-1].startswith("failed: HubSpot kept failing")
    assert w.state.leased == set()  # the lease is given back
    assert w.state.watermarks[(SITE, HUBSPOT)] == deals[1].modified_at  # page 1 is committed
    assert len(w.store.stored) == 2

    resumed = await w.sync(SITE)
    assert w.crm.searches[-3][0] == deals[1].modified_at
    assert dict(resumed.counts) == {"duplicate": 1, "accepted": 4}
    assert len(w.store.stored) == 6


async def test_a_busy_sync_propagates_and_touches_nothing() -> None:
    w = World()
    six_won_deals(w)
    w.state.leased.add((SITE, HUBSPOT))
    with pytest.raises(SyncBusy):
        await w.sync(SITE)
    assert w.crm.searches == [] and w.state.outcomes == [] and w.store.stored == []
    assert (SITE, HUBSPOT) in w.state.leased  # the other run's lease is not released


async def test_a_sync_without_a_token_is_a_failed_precondition() -> None:
    w = World()
    with pytest.raises(FailedPrecondition):
        await w.sync("shop-2")  # no HubSpot source at all
    del w.secrets.values["hs-token"]
    with pytest.raises(FailedPrecondition, match="hs-token"):
        await w.sync(SITE)
    assert w.log == []


async def test_past_the_search_cap_the_sync_searches_again_from_the_watermark() -> None:
    w = World()
    deals = six_won_deals(w)
    modified = [d.modified_at for d in deals]
    # The cap check counts a 100-deal chunk ahead: offset 4 + 100 is past a cap of 103.
    sync = SyncHubSpot(
        HubSpotDeals(w.ingest, w.ledger),
        w.state,
        w.crm,
        w.secrets,
        w.policies,
        clock=w.clock,
        search_cap=103,
        sleep=w._sleep,
    )
    result = await sync(SITE)
    assert [(since, after) for since, _, after in w.crm.searches] == [
        (NOW - timedelta(days=30), ""),
        (NOW - timedelta(days=30), "2"),
        (modified[3], ""),
        (modified[3], "2"),
    ]
    assert dict(result.counts) == {"accepted": 6, "duplicate": 1}
    assert (result.pages, result.watermark, len(w.store.stored)) == (4, modified[5], 6)
