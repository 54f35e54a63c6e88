"""The dispatcher worker: flushes lanes from the ledger, sends, settles, retries, drains.

The ledger is the queue. A flush claims a lane's due events under a lease, the adapter sends
them as one request, and the answer is settled in one transaction together with the
DeliveryUpdated / DeadLettered messages (outbox). A crash leaves claimed events leased; the lease
expires and they are sent again under the same platform dedupe key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine

from hubkit.db.outbox import stage
from hubkit.dispatch import events as messages
from hubkit.dispatch.accumulator import BatchAccumulator
from hubkit.dispatch.lanes import Account, AccountSnapshot
from hubkit.dispatch.ledger import Change, LedgerUnitOfWork, new_id
from hubkit.dispatch.metrics import DispatchMetrics
from hubkit.dispatch.model import (
    ErrorClass,
    Lane,
    PendingEvent,
    PlatformError,
    Prepared,
    Request,
    SendBatch,
    SendResult,
    Status,
)
from hubkit.dispatch.outcomes import BatchPlan, BreakerSignal, plan_batch
from hubkit.dispatch.ports import PlatformAdapter, Quota, ReportsLater, SharesQuota
from hubkit.dispatch.tables import LedgerTables
from hubkit.resilience import Backoff
from hubkit.telemetry import context_from_traceparent

log = logging.getLogger(__name__)
tracer = trace.get_tracer("hubkit.dispatch")

Part = tuple[Sequence[PendingEvent], SendResult]  # a request's events and its answer
RETENTION = timedelta(days=30)
CLAIM_RETRY = 1.0  # seconds an account waits after its claim failed (database unreachable)
_MAX_LINKS = 64


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Sends a platform's pending deliveries; one per process (a Worker of ServiceRuntime)."""

    def __init__(
        self,
        adapter: PlatformAdapter[Any],
        engine: AsyncEngine,
        tables: LedgerTables,
        *,
        on_staged: Callable[[], None] = lambda: None,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.adapter = adapter
        self.policy = adapter.policy
        self._engine = engine
        self._tables = tables
        self._on_staged = on_staged  # wakes the outbox relay
        self.owner = owner or f"{adapter.platform.value}-{uuid.uuid4().hex[:12]}"
        self._rng = rng or random.Random()
        self._acc: BatchAccumulator[Lane] = BatchAccumulator(
            self.policy.batch_size, self.policy.linger, self._limits
        )
        self._accounts: dict[str, Account] = {}
        # Quotas lanes share beyond their account's (SharesQuota), paced like accounts.
        self._quotas: dict[str, Account] = {}
        self._quota_of_lane: dict[Lane, Account | None] = {}
        self._reports = adapter if isinstance(adapter, ReportsLater) else None
        self._claiming: dict[Lane, int] = {}  # claims in flight per lane
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._keeper_wake = asyncio.Event()  # stop, or a resync wanted soon
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._keeper_task: asyncio.Task[None] | None = None
        self._resyncing: list[tuple[Lane, int, float, bool]] | None = None
        self._last_prune = 0.0
        self.metrics = DispatchMetrics(
            adapter.platform,
            lambda: [(s.account_id, s.breaker_state) for s in self.accounts()],
            lambda: self._acc.pending(),
        )

    # --- inputs ----------------------------------------------------------------------------

    def notify(
        self, lanes: Mapping[Lane, int], due_at: float | None = None, *, linger: bool = True
    ) -> None:
        """Events were committed as pending (intake, replay, lease expiry): count them in.

        Retries pass `linger=False`: they go out as soon as they are due."""
        at = time.time() if due_at is None else due_at
        for lane, count in lanes.items():
            self._acc.add(lane, count, at, linger=linger)
            if self._resyncing is not None:
                self._resyncing.append((lane, count, at, linger))
        self._wake.set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self._housekeep()  # leftovers of a previous process: expired leases, backlog
        self._loop_task = asyncio.create_task(self._run(), name="dispatch-loop")
        self._keeper_task = asyncio.create_task(self._keep(), name="dispatch-housekeeping")

    async def stop(self) -> None:
        """Graceful drain: no new requests; in-flight ones get `drain_seconds`, then go back."""
        self._stopping = True
        self._keeper_wake.set()
        self._wake.set()
        for task in (self._loop_task, self._keeper_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=self.policy.drain_seconds)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
                log.warning("drain: %d request(s) cut short, their events go back", len(late))
        try:
            async with self._uow() as uow:
                released = await uow.ledger.release(owner=self.owner, note="dispatcher stopped")
                await uow.commit()
            if released:
                log.info("drain: %d event(s) returned to pending", sum(released.values()))
        except Exception:  # their leases expire instead
            log.exception("drain: could not release leases")

    # --- introspection ---------------------------------------------------------------------

    def accounts(self) -> list[AccountSnapshot]:
        return [a.snapshot() for a in self._accounts.values()]

    def backlog(self, lane: Lane | None = None) -> int:
        return self._acc.pending(lane)

    # --- the loop --------------------------------------------------------------------------

    def _limits(self, lane: Lane) -> tuple[int, float]:
        limits = self.adapter.batch_limits(lane)
        return max(1, min(limits.size, self.policy.batch_size)), limits.linger

    def _account(self, account_id: str) -> Account:
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = Account.create(account_id, self.policy)
        return account

    def _quota(self, lane: Lane) -> Account | None:
        """The shared quota `lane` also draws on, if its adapter names one (looked up once)."""
        if lane in self._quota_of_lane:
            return self._quota_of_lane[lane]
        quota: Quota | None = None
        if isinstance(self.adapter, SharesQuota):
            try:
                quota = self.adapter.quota_of(lane)
            except Exception:  # unreadable credentials: the batch's prepare will say so
                log.warning("no quota for lane of %s", lane.account_id, exc_info=True)
                return None
        guard = None
        if quota is not None:
            guard = self._quotas.get(quota.key)
            if guard is None:
                rate = quota.requests_per_second
                policy = self.policy.with_overrides(
                    requests_per_second=rate,
                    burst=quota.burst,
                    min_requests_per_second=min(rate, self.policy.min_requests_per_second),
                    max_in_flight_per_account=1 << 30,  # in-flight limits are the accounts'
                )
                guard = self._quotas[quota.key] = Account.create(quota.key, policy)
        self._quota_of_lane[lane] = guard
        return guard

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            now = time.time()
            mono = time.monotonic()
            wakes: list[float] = []
            started = False
            for lane in self._acc.ready(now):
                size = self._limits(lane)[0]
                due = self._acc.due_count(lane, now)
                if lane in self._claiming and due < size:
                    continue  # beside a claim in flight only a full batch starts
                account = self._account(lane.account_id)
                blocked = account.blocked_for(mono)
                if blocked is None:
                    continue  # a finishing request wakes us
                quota = self._quota(lane)
                if quota is not None:
                    blocked = max(blocked, quota.blocked_for(mono) or 0.0)
                # The shared quota's token first: one taken for a request the account's own
                # bucket then holds back only makes the quota stricter, never overdrawn.
                if (
                    blocked > 0
                    or (quota is not None and not quota.bucket.try_acquire())
                    or not account.bucket.try_acquire()
                ):
                    wakes.append(now + max(blocked, 0.01))
                    continue
                # A size trigger must find a full batch in the ledger: counts can run ahead.
                lingered = self._acc.lingered(lane, now)
                take = max(1, min(size, due)) if lingered else size
                account.in_flight += 1  # reserved now, so the loop cannot overbook the account
                # The batch's events too: while it is claimed, the lane's next full batch may
                # start beside it (the ledger hands disjoint events to concurrent claims).
                self._acc.taken(lane, take)
                self._claiming[lane] = self._claiming.get(lane, 0) + 1
                self._spawn(self._flush(lane, account, take, 1 if lingered else take))
                started = True
            if started:
                self._wake.set()  # another batch may be ready beside those just started
            upcoming = self._acc.next_ready_at(now)
            if upcoming is not None:
                wakes.append(upcoming)
            timeout = max(0.0, min(wakes) - time.time()) if wakes else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            self._wake.set()
            if not t.cancelled() and t.exception() is not None:
                log.error("dispatch task failed", exc_info=t.exception())

        task.add_done_callback(done)

    async def _flush(self, lane: Lane, account: Account, size: int, minimum: int) -> None:
        """Claim a batch of `lane` and send it; `account.in_flight` and the batch's `size`
        events (counted out of the accumulator) were reserved by the loop."""
        try:
            batch_id = new_id()
            try:
                async with self._uow() as uow:
                    events = await uow.ledger.claim(
                        lane,
                        size,
                        owner=self.owner,
                        lease=self.policy.lease_seconds,
                        batch_id=batch_id,
                    )
                    if len(events) >= minimum:
                        await uow.commit()  # else roll back: not enough for a full batch yet
            except Exception:  # PostgreSQL away: nothing was claimed; try again shortly
                log.warning(
                    "claiming a batch failed; retrying in %.1fs", CLAIM_RETRY, exc_info=True
                )
                self._acc.add(lane, size, time.time(), linger=False)  # still to be sent
                account.pause(time.monotonic() + CLAIM_RETRY)
                return
            finally:
                self._claiming[lane] -= 1
                if not self._claiming[lane]:
                    del self._claiming[lane]
            if len(events) < minimum:
                self._acc.forget(lane)  # the count ran ahead of the ledger; resync for truth
                self._keeper_wake.set()
                return
            self._wake.set()  # the next batch of this lane (or another) may start meanwhile
            await self._send(account, lane, batch_id, events)
        finally:
            account.in_flight -= 1
            self._wake.set()

    async def _send(
        self, account: Account, lane: Lane, batch_id: str, events: Sequence[PendingEvent]
    ) -> None:
        with tracer.start_as_current_span(
            f"dispatch {self.adapter.platform.value} batch",
            links=_links(events),
            attributes={"batch.id": batch_id, "batch.size": len(events)},
        ):
            plan = await self._attempt(account, lane, batch_id, events)
        if plan is not None:
            for half in plan.split:
                if self._stopping:
                    break  # still leased to us: released as pending by stop()
                await self._send_child(account, lane, batch_id, half)

    async def _attempt(
        self, account: Account, lane: Lane, batch_id: str, events: Sequence[PendingEvent]
    ) -> BatchPlan | None:
        batch = SendBatch(batch_id, lane, events)
        started = utcnow()
        prepared = await self._prepare(batch, started)
        if prepared.requests and not account.breaker.allow():
            await self._give_back(lane, batch_id, events, "circuit breaker open")
            return None
        began = time.monotonic()
        parts, frozen = await self._exchange(lane, events, prepared)
        if self.adapter.tokens is not None and any(r.token_expired for _, r in parts):
            parts, frozen = await self._refresh_and_resend(lane, batch_id, parts, frozen, started)
        latency = time.monotonic() - began
        plan = plan_batch(parts, self.policy, utcnow(), self._rng, throttles=account.throttles)
        for signal in plan.breaker:
            if signal is BreakerSignal.SUCCESS:
                account.breaker.record_success()
            elif signal is BreakerSignal.FAILURE:
                account.breaker.record_failure()
        guards = [g for g in (account, self._quota(lane)) if g is not None]
        if plan.pause is not None:
            for guard in guards:
                guard.throttled(time.monotonic() + plan.pause)
        elif any(r.sent for _, r in parts):
            for guard in guards:
                guard.answered()
        for part_events, result in parts:
            if result.sent:
                self.metrics.request(result.http_status, len(part_events), latency)
        await self._settle(lane, batch_id, parts, plan, frozen, started, int(latency * 1000))
        return plan

    async def _prepare(self, batch: SendBatch, now: datetime) -> Prepared[Any]:
        try:
            return await self.adapter.prepare(batch, now)
        except Exception:
            log.exception("prepare failed for batch %s", batch.batch_id)
            return Prepared(error=PlatformError(ErrorClass.UNKNOWN, "", "internal error"))

    async def _exchange(
        self, lane: Lane, events: Sequence[PendingEvent], prepared: Prepared[Any]
    ) -> tuple[list[Part], dict[str, bytes]]:
        """Send the prepared requests and pair each answer with its events.

        One after another: the account's in-flight limit counts batches, so a batch cut into
        several requests must not put more than one at a time on the platform. Events refused
        locally, or carried by no request, become parts of their own."""
        by_id = {e.delivery_id: e for e in events}
        answers = [await self._call(lane, r) for r in prepared.requests]
        parts: list[Part] = []
        frozen: dict[str, bytes] = {}
        placed: set[str] = set()
        for request, result in zip(prepared.requests, answers, strict=True):
            carried = [by_id[i] for i in request.delivery_ids if i in by_id and i not in placed]
            placed.update(e.delivery_id for e in carried)
            parts.append((carried, result))
            frozen.update(request.frozen)
        refused = [by_id[i] for i in prepared.event_errors if i in by_id and i not in placed]
        if refused:
            placed.update(e.delivery_id for e in refused)
            parts.append((refused, SendResult(event_errors=prepared.event_errors, sent=False)))
        rest = [e for e in events if e.delivery_id not in placed]
        if rest:
            error = prepared.error or PlatformError(
                ErrorClass.UNKNOWN, "", "the adapter put this event in no request"
            )
            parts.append((rest, SendResult(error=error, sent=False)))
        return parts, frozen

    async def _call(self, lane: Lane, request: Request[Any]) -> SendResult:
        try:
            return await self.adapter.send(lane, request)
        except Exception:  # an adapter bug: whether the request went out is unknown
            log.exception("send failed for %d event(s)", len(request.delivery_ids))
            return SendResult(error=PlatformError(ErrorClass.UNKNOWN, "", "internal error"))

    async def _refresh_and_resend(
        self,
        lane: Lane,
        batch_id: str,
        parts: list[Part],
        frozen: dict[str, bytes],
        now: datetime,
    ) -> tuple[list[Part], dict[str, bytes]]:
        """The token expired: fetch a new one and send those events once more, uncharged.

        A token refused again right after its refresh is a transient failure (charged,
        retried along the backoff), never a failure of the events."""
        assert self.adapter.tokens is not None
        self.adapter.tokens.invalidate(lane.credentials_ref)
        kept = [(e, r) for e, r in parts if not r.token_expired]
        again = [e for events, r in parts if r.token_expired for e in events]
        log.info("access token of %s expired: refreshed, resending", lane.credentials_ref)
        prepared = await self._prepare(SendBatch(batch_id, lane, again), now)
        quota = self._quota(lane)
        if quota is not None and prepared.requests:
            await quota.bucket.acquire()  # the resend is a request like any other
        retried, frozen_again = await self._exchange(lane, again, prepared)
        for events, result in retried:
            if result.token_expired:
                error = PlatformError(
                    ErrorClass.TRANSIENT, "TOKEN_EXPIRED", "access token refused after a refresh"
                )
                result = SendResult(http_status=result.http_status, error=error, sent=False)
            kept.append((events, result))
        return kept, {**frozen, **frozen_again}

    async def _send_child(
        self, account: Account, lane: Lane, parent_id: str, half: Sequence[PendingEvent]
    ) -> None:
        child_id = new_id()
        async with self._uow() as uow:
            events = await uow.ledger.reclaim_for_child(
                parent_id, child_id, lane, half, lease=self.policy.lease_seconds
            )
            await uow.commit()
        if not events:
            return
        await self._pace(account, lane)  # children respect the rates like any request
        if account.breaker.retry_in() > 0:
            await self._give_back(lane, child_id, events, "circuit breaker open")
            return
        await self._send(account, lane, child_id, events)

    async def _pace(self, account: Account, lane: Lane) -> None:
        """Wait for a request slot outside the loop: the account's rate, and the shared quota's
        rate and throttle pause."""
        await account.bucket.acquire()
        quota = self._quota(lane)
        if quota is not None:
            await quota.bucket.acquire()
            paused = quota.paused_until - time.monotonic()
            if paused > 0:
                await asyncio.sleep(paused)

    async def _give_back(
        self, lane: Lane, batch_id: str, events: Sequence[PendingEvent], note: str
    ) -> None:
        async with self._uow() as uow:
            await uow.ledger.unclaim(batch_id, events, note)
            await uow.commit()
        self.notify({lane: len(events)})

    async def _settle(
        self,
        lane: Lane,
        batch_id: str,
        parts: Sequence[Part],
        plan: BatchPlan,
        frozen: Mapping[str, bytes],
        started: datetime,
        latency_ms: int,
    ) -> None:
        backoff = Backoff(schedule=(0.2, 0.5, 1, 2, 5), max_delay=5)
        attempt = 0
        while True:
            try:
                changes = await self._record(
                    lane, batch_id, parts, plan, frozen, started, latency_ms
                )
                break
            except Exception:
                attempt += 1
                # Not recorded: the lease expires and the events go out again (same dedupe key).
                if self._stopping or attempt > 8:
                    log.exception("could not record batch %s; its lease will expire", batch_id)
                    return
                log.warning("recording batch %s failed, retrying", batch_id, exc_info=True)
                await asyncio.sleep(backoff.delay(attempt))
        self._on_staged()
        self._count(changes)
        retries: dict[float, dict[Lane, int]] = {}
        for o in plan.outcomes:
            if o.status is Status.PENDING and o.retry_at is not None:
                at = o.retry_at.timestamp()
                retries.setdefault(at, {lane: 0})[lane] += 1
        for at, lanes in retries.items():
            self.notify(lanes, at, linger=False)

    async def _record(
        self,
        lane: Lane,
        batch_id: str,
        parts: Sequence[Part],
        plan: BatchPlan,
        frozen: Mapping[str, bytes],
        started: datetime,
        latency_ms: int,
    ) -> list[Change]:
        excerpt = next((r.excerpt for _, r in parts if r.error is not None), "")
        report_due_at = None
        if self._reports is not None and any(
            r.sent and r.request_id and r.accepted_status is Status.SENT for _, r in parts
        ):
            report_due_at = utcnow() + timedelta(seconds=self._reports.status_delay)
        async with self._uow() as uow:
            changes = await uow.ledger.settle(
                batch_id,
                lane,
                parts,
                plan,
                frozen=frozen,
                started_at=started,
                latency_ms=latency_ms,
                report_due_at=report_due_at,
            )
            now = utcnow()
            platform = self.adapter.platform
            outgoing = messages.delivery_updates(platform, changes, now=now, excerpt=excerpt)
            outgoing += messages.dead_letters(platform, changes, now=now)
            await stage(uow.session, self._tables.outbox, outgoing)
            await uow.commit()
        return changes

    def _count(self, changes: Sequence[Change]) -> None:
        now = utcnow()
        tally: Counter[tuple[str, str]] = Counter()
        for c in changes:
            tally[(c.status.value, c.error.error_class.name.lower() if c.error else "none")] += 1
            if c.status is Status.CONFIRMED and c.received_at is not None:
                self.metrics.delivered((now - c.received_at).total_seconds())
        for (status, error_class), count in tally.items():
            self.metrics.outcome(status, error_class, count)

    # --- housekeeping ----------------------------------------------------------------------

    async def _keep(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._keeper_wake.wait(), self.policy.resync_seconds)
            self._keeper_wake.clear()
            if self._stopping:
                return
            try:
                await self._housekeep()
            except Exception:
                log.warning("dispatch housekeeping failed", exc_info=True)

    async def _housekeep(self) -> None:
        """Expired leases back to pending, the accumulator reconciled, old history pruned."""
        self._resyncing = []
        try:
            async with self._uow() as uow:
                released = await uow.ledger.release(note="lease expired: the dispatcher stopped")
                summary = await uow.ledger.due_summary()
                if time.time() - self._last_prune > 3600:
                    await uow.ledger.prune(utcnow() - RETENTION)
                    self._last_prune = time.time()
                await uow.commit()
            if released:
                log.info("%d event(s) with expired leases back to pending", sum(released.values()))
            for lane in list(self._acc.lanes()):
                if lane not in summary:
                    self._acc.forget(lane)
            for lane, entries in summary.items():
                self._acc.replace(lane, [(at.timestamp(), n) for at, n in entries])
            for lane, count, at, linger in self._resyncing:  # arrived meanwhile: count again
                self._acc.add(lane, count, at, linger=linger)
        finally:
            self._resyncing = None
        self._wake.set()

    def _uow(self) -> LedgerUnitOfWork:
        return LedgerUnitOfWork(self._engine, self._tables)


def _links(events: Sequence[PendingEvent]) -> list[trace.Link]:
    links = []
    for event in events[:_MAX_LINKS]:
        parent = event.request.trace.traceparent if event.request is not None else ""
        if parent:
            span = trace.get_current_span(context_from_traceparent(parent))
            links.append(trace.Link(span.get_span_context()))
    return links
