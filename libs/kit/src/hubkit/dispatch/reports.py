"""`RequestReports`: asks a platform that reports later (`ReportsLater`, Google Data Manager)
about each accepted request until its report is final, then applies it to the request's
SENT events and announces them (DeliveryUpdated, DeadLettered).

The first ask comes `status_delay` seconds after acceptance, the next ones back off (doubling,
at most `MAX_INTERVAL` apart); a request with no final report `GIVE_UP` after it was sent is
recorded as UNAVAILABLE and its events stay SENT. Replicas share the work: a batch being asked
about is held, so another replica skips it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.bus.publisher import Outgoing
from hubkit.db.outbox import stage
from hubkit.dispatch import events as messages
from hubkit.dispatch.dispatcher import utcnow
from hubkit.dispatch.ledger import LedgerUnitOfWork
from hubkit.dispatch.ledger_reports import DueReport
from hubkit.dispatch.metrics import DispatchMetrics
from hubkit.dispatch.model import ErrorClass, Platform, PlatformError, RequestReport
from hubkit.dispatch.ports import ReportsLater
from hubkit.dispatch.tables import LedgerTables
from hubkit.worker import Periodic

log = logging.getLogger(__name__)

MAX_INTERVAL = timedelta(hours=6)
GIVE_UP = timedelta(days=7)  # Google keeps request statuses for days; poll within them
PER_ROUND = 20  # asks per round, one after another: status calls have a quota too
# Seconds the batches of a round are hidden from other replicas: the round's asks one after
# another, each at worst a token fetch and a status call timing out. An answer recorded late
# is dropped if another replica's came first (record_report checks the ask count).
HOLD = PER_ROUND * 60.0


MIN_INTERVAL = 0.1  # seconds: a zero status delay must not make the worker spin


def next_ask(delay: float, checks: int, now: datetime) -> datetime:
    """When to ask again after the `checks`+1-th ask: `delay`, then doubling, capped."""
    wait = timedelta(seconds=max(delay, MIN_INTERVAL) * 2 ** min(checks, 20))
    return now + min(wait, max(MAX_INTERVAL, timedelta(seconds=delay)))


class RequestReports:
    def __init__(
        self,
        platform: Platform,
        adapter: ReportsLater,
        engine: AsyncEngine,
        tables: LedgerTables,
        *,
        metrics: DispatchMetrics,
        retry_horizon: float,
        on_staged: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._platform = platform
        self._adapter = adapter
        self._engine = engine
        self._tables = tables
        self._metrics = metrics
        self._on_staged = on_staged
        self._horizon = timedelta(seconds=retry_horizon)
        self._now = clock or utcnow
        interval = min(5.0, max(0.2, adapter.status_delay / 2))
        self._periodic = Periodic("dispatch-reports", self.run_once, interval=interval)

    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> float | None:
        """One round: ask about the due batches; 0 when more are due at once."""
        async with LedgerUnitOfWork(self._engine, self._tables) as uow:
            due = await uow.ledger.due_reports(PER_ROUND, hold=HOLD)
            await uow.commit()
        for item in due:
            if self._periodic.stopping:
                break  # the hold lapses and another round asks
            await self._handle(item)
        return 0 if len(due) == PER_ROUND else None

    async def _handle(self, item: DueReport) -> None:
        now = self._now()
        report = await self._ask(item)
        if not report.final and item.sent_at is not None and now - item.sent_at > GIVE_UP:
            report = RequestReport(state="UNAVAILABLE", final=True)
        next_at = next_ask(self._adapter.status_delay, item.checks, now)
        async with LedgerUnitOfWork(self._engine, self._tables) as uow:
            changes = await uow.ledger.record_report(
                item.batch_id, report, checks=item.checks, next_at=next_at, horizon=self._horizon
            )
            if changes is None:
                return  # another replica asked too and recorded its answer first
            outgoing: list[Outgoing] = []
            if changes:
                outgoing = messages.delivery_updates(
                    self._platform, changes, now=now, excerpt=report.excerpt
                )
                outgoing += messages.dead_letters(self._platform, changes, now=now)
                await stage(uow.session, self._tables.outbox, outgoing)
            await uow.commit()
        if outgoing:
            self._on_staged()
        if report.final:
            self._metrics.report(report.state, report.error_counts)
            log.info(
                "batch %s: platform report %s (%d event(s) settled)",
                item.batch_id,
                report.state,
                len(changes),
            )

    async def _ask(self, item: DueReport) -> RequestReport:
        try:
            return await self._adapter.request_status(item.lane, item.request_id)
        except Exception:  # an adapter bug: ask again later
            log.exception("asking for the report on batch %s failed", item.batch_id)
            error = PlatformError(ErrorClass.UNKNOWN, "", "internal error")
            return RequestReport(unavailable=error)
