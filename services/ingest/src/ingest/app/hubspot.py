"""HubSpot deals into conversions: the reader of deals that webhook events announced, and the
pull sync for the ones the webhooks missed. Both read through the CRM port and ingest through
`ingest_from_source`, so a deal is one conversion however many times it is seen."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hubkit.errors import FailedPrecondition, Unavailable
from hubkit.resilience import Backoff
from ingest.app.ingestion import Ingest
from ingest.app.webhooks import WebhookReply, ingest_from_source
from ingest.domain.hubspot import Deal, deal_to_conversion
from ingest.domain.model import ConversionInput, HubSpotSettings
from ingest.domain.sources import HUBSPOT, NotAConversion, Unreadable
from ingest.ports import (
    CrmUnavailable,
    DealPage,
    Delivery,
    HubSpotCrm,
    Secrets,
    SecretUnavailable,
    SitePolicies,
    SourceLedger,
    SyncState,
)

log = logging.getLogger(__name__)
READ_CHUNK = 100  # HubSpot's batch read takes at most 100 ids


class HubSpotDeals:
    """Maps deals to conversions and ingests them: what the reader and the sync share."""

    def __init__(self, ingest: Ingest, ledger: SourceLedger) -> None:
        self._ingest = ingest
        self._ledger = ledger

    async def ingest(
        self, site_id: str, deals: Sequence[Deal], settings: HubSpotSettings
    ) -> dict[str, WebhookReply]:
        """What became of each deal, by deal id."""
        replies: dict[str, WebhookReply] = {}
        conversions: list[ConversionInput] = []
        for deal in deals:
            mapped = deal_to_conversion(site_id, deal, settings)
            if isinstance(mapped, NotAConversion):
                replies[deal.deal_id] = WebhookReply(200, "ignored", mapped.reason)
            elif isinstance(mapped, Unreadable):
                replies[deal.deal_id] = WebhookReply(200, "rejected", errors=mapped.errors)
            else:
                conversions.append(mapped)
        if conversions:
            replies |= await ingest_from_source(
                self._ingest, self._ledger, site_id, HUBSPOT, conversions
            )
        return replies


class ReadAnnouncedDeals:
    """Reads the deals pending webhook events name, ingests them, then forgets the events.
    HubSpot throttling or failing postpones the events; nothing is dropped but deals that no
    longer exist."""

    def __init__(
        self,
        deals: HubSpotDeals,
        ledger: SourceLedger,
        crm: HubSpotCrm,
        secrets: Secrets,
        policies: SitePolicies,
        *,
        clock: Callable[[], datetime],
        backoff: Backoff | None = None,
        batch: int = 500,
    ) -> None:
        self._deals = deals
        self._ledger = ledger
        self._crm = crm
        self._secrets = secrets
        self._policies = policies
        self._clock = clock
        self._backoff = backoff or Backoff(schedule=(5, 15, 60, 300), max_delay=3600)
        self._batch = batch

    async def run_once(self) -> int:
        """Handle the events due now; answers how many were finished."""
        due = await self._ledger.due_pending(self._clock(), self._batch)
        by_site: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for p in due:
            by_site[p.site_id].append((p.event_id, p.deal_id, p.attempts))
        finished = 0
        for site_id, events in by_site.items():
            finished += await self._site(site_id, events)
        return finished

    async def _site(self, site_id: str, events: list[tuple[str, str, int]]) -> int:
        settings = self._policies.get(site_id).sources.hubspot
        attempts = max(a for _, _, a in events) + 1
        try:
            token = self._secrets.read(settings.access_token_ref)
            deals: list[Deal] = []
            ids = sorted({deal_id for _, deal_id, _ in events})
            for start in range(0, len(ids), READ_CHUNK):
                deals += await self._crm.read_deals(token, ids[start : start + READ_CHUNK])
        except (SecretUnavailable, CrmUnavailable) as exc:
            server = exc.retry_after if isinstance(exc, CrmUnavailable) else None
            wait = self._backoff.delay(attempts, server)
            log.warning(
                "hubspot deals not read yet",
                extra={"site_id": site_id, "error": str(exc), "retry_in_s": round(wait, 1)},
            )
            until = self._clock() + timedelta(seconds=wait)
            await self._ledger.postpone_pending(site_id, [e for e, _, _ in events], until)
            return 0
        replies = await self._deals.ingest(site_id, deals, settings)
        gone = WebhookReply(200, "ignored", "the deal no longer exists")
        outcomes = {
            event_id: Delivery(r.outcome, r.conversion_id)
            for event_id, deal_id, _ in events
            for r in (replies.get(deal_id, gone),)
        }
        await self._ledger.finish_pending(site_id, outcomes, self._clock())
        return len(outcomes)


@dataclass(frozen=True)
class SyncResult:
    deals_read: int
    counts: Counter[str]  # outcome -> deals
    pages: int
    watermark: datetime | None


class SyncHubSpot:
    """Reads won deals modified since the watermark, page by page, oldest change first, and
    advances the watermark after each committed page: a run stopped halfway resumes there."""

    PAGE_RETRIES = 8

    def __init__(
        self,
        deals: HubSpotDeals,
        state: SyncState,
        crm: HubSpotCrm,
        secrets: Secrets,
        policies: SitePolicies,
        *,
        clock: Callable[[], datetime],
        first_sync_days: int = 30,
        lease: timedelta = timedelta(minutes=15),
        search_cap: int = 10_000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff: Backoff | None = None,
    ) -> None:
        self._deals = deals
        self._state = state
        self._crm = crm
        self._secrets = secrets
        self._policies = policies
        self._clock = clock
        self._first = timedelta(days=first_sync_days)
        self._lease = lease
        self._cap = search_cap  # HubSpot's search pages end at 10,000 results
        self._sleep = sleep
        self._backoff = backoff or Backoff(schedule=(1, 2, 4, 8, 16), max_delay=60)

    async def __call__(self, site_id: str, backfill: timedelta = timedelta(0)) -> SyncResult:
        settings = self._policies.get(site_id).sources.hubspot
        if not settings.access_token_ref:
            raise FailedPrecondition(f"site {site_id!r} has no HubSpot access token configured")
        try:
            token = self._secrets.read(settings.access_token_ref)
        except SecretUnavailable as exc:
            raise FailedPrecondition(str(exc)) from None
        now = self._clock()
        watermark = await self._state.begin(site_id, HUBSPOT, now, self._lease)
        outcome = "failed"
        counts: Counter[str] = Counter()
        read = pages = 0
        try:
            since = (watermark or now - self._first) - backfill
            after = ""
            while True:
                page = await self._page(token, since, settings, after)
                pages += 1
                read += len(page.deals)
                replies = await self._deals.ingest(site_id, page.deals, settings)
                counts.update(r.outcome for r in replies.values())
                changed = [d.modified_at for d in page.deals if d.modified_at is not None]
                if changed and (watermark is None or max(changed) > watermark):
                    watermark = max(changed)
                    await self._state.advance(site_id, HUBSPOT, watermark)
                if not page.after:
                    break
                after = page.after
                if int(after) + READ_CHUNK > self._cap and watermark is not None:
                    # Past HubSpot's search cap: search again from the watermark.
                    since, after = watermark, ""
            outcome = f"ok: {read} deals, " + ", ".join(
                f"{n} {o}" for o, n in sorted(counts.items())
            )
        except Unavailable as exc:
            outcome = f"failed: {exc}"
            raise
        finally:
            await self._state.end(site_id, HUBSPOT, outcome, self._clock())
        return SyncResult(read, counts, pages, watermark)

    async def _page(
        self, token: str, since: datetime, settings: HubSpotSettings, after: str
    ) -> DealPage:
        """One search page; a throttled or failing HubSpot is waited out, a few times."""
        for attempt in range(1, self.PAGE_RETRIES + 1):
            try:
                return await self._crm.search_deals(
                    token, modified_since=since, stages=settings.won_stages, after=after
                )
            except CrmUnavailable as exc:
                if attempt == self.PAGE_RETRIES:
                    raise Unavailable(f"HubSpot kept failing: {exc}") from None
                wait = self._backoff.delay(attempt, exc.retry_after)
                log.warning("hubspot search waits", extra={"error": str(exc), "retry_in_s": wait})
                await self._sleep(wait)
        raise AssertionError("unreachable")
