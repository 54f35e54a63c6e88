"""The scheduled jobs (Kubernetes CronJobs call RunJob through `convhub attribution jobs run`).
Each is safe to run twice and to run late: it recomputes from stored facts or replaces by key,
and watermarks move only after the work they cover is committed. A run over every site takes
them one at a time: one site failing never stops the others (tenant isolation)."""

from __future__ import annotations

import enum
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from attribution.app.attribute import Attribute, SettingsOf
from attribution.app.spend import SpendSyncFailed, SyncSpend
from attribution.domain.model import StoredConversion

log = logging.getLogger(__name__)


class Job(enum.StrEnum):
    ROLLUP = "rollup"
    SPEND_SYNC = "spend_sync"
    RECALCULATE = "recalculate"
    RETRY_UNATTRIBUTED = "retry_unattributed"
    RECONCILE = "reconcile"
    EXPORT = "export"


# Each job's window when RunJob gives none: days back from today.
DEFAULT_DAYS = {Job.SPEND_SYNC: 7, Job.RECALCULATE: 3, Job.RECONCILE: 2}
# Writes commit within this; a watermark stays this far behind now so none is passed over.
SETTLE = timedelta(seconds=5)
# Journeys a job reads at once (half the database pool); credits commit 500 at a time.
READERS = 5


@dataclass(frozen=True)
class JobRun:
    job: Job
    scope: str  # a site, or "*"
    started_at: datetime
    seconds: float
    outcome: str
    counts: dict[str, int]


class JobStore(Protocol):
    async def record_run(
        self,
        job: str,
        scope: str,
        started_at: datetime,
        seconds: float,
        outcome: str,
        counts: dict[str, int],
    ) -> None: ...

    async def mark(self, job: str, site_id: str) -> datetime | None: ...

    async def set_mark(self, job: str, site_id: str, at: datetime) -> None: ...

    async def sites(self) -> list[str]: ...

    async def days_attributed_since(self, site_id: str, since: datetime | None) -> list[date]: ...

    async def roll_up(self, site_id: str, days: Sequence[date]) -> int: ...

    async def unattributed(self, site_id: str, since: datetime) -> list[StoredConversion]: ...

    async def known(self, conversion_ids: Sequence[str]) -> set[str]: ...


class Conversions(Protocol):
    async def conversions_in(
        self, site_id: str, start: datetime | None, end: datetime | None, event_types: Sequence[str]
    ) -> list[StoredConversion]: ...


class AcceptedConversions(Protocol):
    """What ingest accepted (over its ListConversions and GetConversion RPCs)."""

    def ids(self, site_id: str, since: datetime, until: datetime) -> AsyncIterator[list[str]]:
        """Pages of the ids of the site's conversions received in [since, until)."""
        ...

    async def get(self, conversion_id: str) -> StoredConversion | None: ...


class ResultsExport(Protocol):
    async def export(self, site_id: str, after: datetime | None, until: datetime) -> int:
        """Write the credits of the conversions (re)attributed in (after, until] as one file
        for the site and window, atomically; answers the rows written (0: no file)."""
        ...


Handler = Callable[[str, int, datetime], Awaitable[Counter[str]]]


class Jobs:
    def __init__(
        self,
        store: JobStore,
        attribute: Attribute,
        settings_of: SettingsOf,
        conversions: Conversions,
        sync_spend: SyncSpend,
        accepted: AcceptedConversions,
        export: ResultsExport,
        *,
        clock: Callable[[], datetime],
        site_ids: Callable[[], list[str]] = list,
        settle: timedelta = SETTLE,
    ) -> None:
        self._settle = settle
        self._store = store
        self._attribute = attribute
        self._settings_of = settings_of
        self._conversions = conversions
        self._sync_spend = sync_spend
        self._accepted = accepted
        self._export = export
        self._clock = clock
        self._site_ids = site_ids  # configured sites (those with data come from the store)
        self._handlers: dict[Job, Handler] = {
            Job.ROLLUP: self._rollup,
            Job.SPEND_SYNC: self._spend_sync,
            Job.RECALCULATE: self._recalculate,
            Job.RETRY_UNATTRIBUTED: self._retry_unattributed,
            Job.RECONCILE: self._reconcile,
            Job.EXPORT: self._export_results,
        }

    async def run(self, job: Job, site_id: str = "", days: int = 0) -> JobRun:
        started, t0 = self._clock(), time.perf_counter()
        sites = [site_id] if site_id else sorted({*await self._store.sites(), *self._site_ids()})
        days = days or DEFAULT_DAYS.get(job, 0)
        counts: Counter[str] = Counter()
        failed: list[str] = []
        for site in sites:
            try:
                counts += await self._handlers[job](site, days, started)
            except Exception as exc:
                if isinstance(exc, SpendSyncFailed):
                    counts += exc.counts
                failed.append(f"{site}: {' '.join(str(exc).split())[:300]}")
                log.warning("job failed for a site", extra={"job": job.value, "site_id": site})
        counts["sites"] = len(sites)
        outcome = (
            "ok"
            if not failed
            else f"failed for {len(failed)} of {len(sites)} sites: " + ("; ".join(failed[:5]))
        )
        run = JobRun(job, site_id or "*", started, time.perf_counter() - t0, outcome, dict(counts))
        await self._store.record_run(
            job.value, run.scope, started, run.seconds, outcome, run.counts
        )
        return run

    async def _rollup(self, site: str, days: int, now: datetime) -> Counter[str]:
        """The days whose credits changed since the last run are recomputed whole."""
        since = await self._store.mark(Job.ROLLUP, site)
        changed = await self._store.days_attributed_since(
            site, since - self._settle if since else None
        )
        rows = await self._store.roll_up(site, changed)
        await self._store.set_mark(Job.ROLLUP, site, now)
        return Counter(days=len(changed), rows=rows)

    async def _spend_sync(self, site: str, days: int, now: datetime) -> Counter[str]:
        return await self._sync_spend(site, days)

    async def _credit_all(self, found: Sequence[StoredConversion]) -> None:
        await self._attribute.credit_many(found, readers=READERS)

    async def _recalculate(self, site: str, days: int, now: datetime) -> Counter[str]:
        found = await self._conversions.conversions_in(site, now - timedelta(days=days), None, ())
        await self._credit_all(found)
        return Counter(conversions=len(found))

    async def _retry_unattributed(self, site: str, days: int, now: datetime) -> Counter[str]:
        """Conversions no touch was found for, within the lookback: touchpoints arrive late."""
        window = timedelta(days=days) if days else self._settings_of(site).lookback
        found = await self._store.unattributed(site, now - window)
        await self._credit_all(found)
        still = len(await self._store.unattributed(site, now - window))
        return Counter(conversions=len(found), attributed=len(found) - still)

    async def _reconcile(self, site: str, days: int, now: datetime) -> Counter[str]:
        """Conversions ingest accepted but attribution never heard of (a lost or skipped
        ConversionAccepted) are fetched from ingest and credited."""
        counts: Counter[str] = Counter()
        async for page in self._accepted.ids(site, now - timedelta(days=days), now):
            counts["checked"] += len(page)
            missing = sorted(set(page) - await self._store.known(page))
            fetched = [await self._accepted.get(conversion_id) for conversion_id in missing]
            repaired = [c for c in fetched if c is not None]  # None: erased meanwhile
            await self._credit_all(repaired)
            counts["repaired"] += len(repaired)
        return counts

    async def _export_results(self, site: str, days: int, now: datetime) -> Counter[str]:
        after = await self._store.mark(Job.EXPORT, site)
        until = now - self._settle
        if after is not None and until <= after:
            return Counter()
        rows = await self._export.export(site, after, until)
        await self._store.set_mark(Job.EXPORT, site, until)
        return Counter(rows=rows, files=1 if rows else 0)
