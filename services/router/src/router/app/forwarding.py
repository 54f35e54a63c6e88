"""The sGTM forwarder: works the delivery ledger, never the routing consumer's time.

Deliveries are leased from the ledger (a crashed forwarder's lease expires and another picks
them up), grouped per sGTM host, posted in batches, and settled in one transaction with the
delivery-status messages they produce. Each host has a bounded number of requests in flight and
is not claimed for while at that bound: a slow or broken container holds up only its own
deliveries. A breaker per host stops calls to a failing container; its
deliveries wait, they are not failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hubkit.resilience import Backoff, BreakerState, CircuitBreaker
from router.domain.delivery import (
    DeliveryStatus,
    ErrorClass,
    Outcome,
    PreparedRequest,
    RequestResult,
    SgtmDelivery,
)
from router.domain.events import SgtmDeadLettered, SgtmDeliveriesUpdated
from router.domain.site import SgtmFormat, SgtmSettings
from router.ports import Clock, Metrics, SgtmSender, UnitOfWorkFactory, Wakeups

log = logging.getLogger(__name__)

DEFAULT_BATCH_EVENTS = {SgtmFormat.STAPE_DATA_CLIENT: 100, SgtmFormat.GA4_MP: 25}
_SETTLE_RETRY = Backoff(schedule=(0.2, 0.5, 1, 2, 5), max_delay=5)


@dataclass(frozen=True)
class ForwarderSettings:
    claim_limit: int = 500
    lease_seconds: float = 30.0
    poll_interval: float = 1.0
    max_in_flight_per_host: int = 4
    breaker_failures: int = 5
    breaker_reset_seconds: float = 60.0
    stop_grace_seconds: float = 10.0


class SgtmForwarder:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sender: SgtmSender,
        clock: Clock,
        wakeups: Wakeups,
        metrics: Metrics,
        *,
        backoff: Backoff,
        settings: ForwarderSettings | None = None,
        owner: str | None = None,
    ) -> None:
        self._uow = uow
        self._sender = sender
        self._clock = clock
        self._wakeups = wakeups
        self._metrics = metrics
        self._backoff = backoff
        self._s = settings or ForwarderSettings()
        self.owner = owner or f"router-{uuid.uuid4().hex[:12]}"
        self._breakers: dict[str, CircuitBreaker] = {}
        self._batch_limit: dict[str, int] = {}  # per host, lowered after a 413
        self._configs: OrderedDict[tuple[str, int], SgtmSettings | None] = OrderedDict()
        self._deliveries: set[asyncio.Task[None]] = set()
        # Per host: requests queued or in flight (+1 while a claim is being prepared). A host at
        # its limit is not claimed for, so a slow one never piles up work it cannot send.
        self._pending: Counter[str] = Counter()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._held: set[str] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -----------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._run(), name="sgtm-forwarder"),
            asyncio.create_task(self._renew_leases(), name="sgtm-lease-renewal"),
        ]

    async def stop(self) -> None:
        """Stop claiming; give in-flight requests the grace period, then leave them to the
        lease (their deliveries go out again from whoever claims them next)."""
        self._stopping.set()
        self._wake.set()
        if self._deliveries:
            _, pending = await asyncio.wait(
                list(self._deliveries), timeout=self._s.stop_grace_seconds
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def flush(self) -> None:
        """Wait until nothing is in flight (tests, benchmarks)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    def breaker(self, host: str) -> CircuitBreaker:
        if host not in self._breakers:

            def changed(old: BreakerState, new: BreakerState) -> None:
                log.warning("sGTM breaker for %s: %s -> %s", host, old.value, new.value)

            self._breakers[host] = CircuitBreaker(
                failure_threshold=self._s.breaker_failures,
                reset_timeout=self._s.breaker_reset_seconds,
                on_change=changed,
            )
        return self._breakers[host]

    # --- the claim loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                claimed = await self.run_once()
                failures = 0
            except Exception:  # the database away: nothing is lost, the ledger waits
                failures += 1
                log.exception("claiming sGTM deliveries failed")
                claimed = 0
                await self._sleep(_SETTLE_RETRY.delay(failures))
                continue
            if claimed < self._s.claim_limit:
                await self._sleep(self._s.poll_interval)

    async def run_once(self) -> int:
        """Claim due deliveries of hosts with room for more requests; one task per host."""
        limit = self._s.max_in_flight_per_host
        busy = {h for h, n in self._pending.items() if n >= limit}
        excluded = sorted(busy | {h for h, b in self._breakers.items() if b.retry_in() > 0})
        async with self._uow() as uow:
            rows = await uow.ledger.claim(
                self.owner, self._s.claim_limit, self._s.lease_seconds, excluded
            )
            await uow.commit()
        by_host: dict[str, list[SgtmDelivery]] = defaultdict(list)
        for row in rows:
            by_host[row.host].append(row)
            self._held.add(row.delivery_id)
        for host, deliveries in by_host.items():
            self._pending[host] += 1
            task = asyncio.create_task(self._deliver_host(host, deliveries), name=f"sgtm:{host}")
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return len(rows)

    def _request_done(self, host: str, count: int = 1) -> None:
        self._pending[host] -= count
        if self._pending[host] <= 0:
            del self._pending[host]
        self._wake.set()  # the host has room again

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _renew_leases(self) -> None:
        interval = max(self._s.lease_seconds / 3, 0.1)
        while True:
            await asyncio.sleep(interval)
            held = list(self._held)
            if not held:
                continue
            try:
                async with self._uow() as uow:
                    await uow.ledger.renew(self.owner, held, self._s.lease_seconds)
                    await uow.commit()
            except Exception as exc:
                log.warning("renewing sGTM delivery leases failed: %r", exc)

    # --- one host ------------------------------------------------------------------------------

    async def _deliver_host(self, host: str, deliveries: list[SgtmDelivery]) -> None:
        try:
            groups: dict[tuple[str, int], list[SgtmDelivery]] = defaultdict(list)
            for d in deliveries:
                groups[(d.site_id, d.config_revision)].append(d)
            for (site_id, revision), rows in groups.items():
                settings = await self._settings_for(site_id, revision)
                if settings is None or not settings.url:
                    reason = f"configuration revision {revision} of site {site_id} has no sGTM URL"
                    result = RequestResult(
                        tuple(d.delivery_id for d in rows),
                        ErrorClass.CONFIG,
                        error=reason,
                        sent=False,
                    )
                    await self._settle(self._outcomes(rows, result))
                    continue
                await self._deliver_group(host, settings, rows)
        except Exception:
            log.exception("delivering to sGTM host %s failed; its leases will expire", host)
        finally:
            self._held.difference_update(d.delivery_id for d in deliveries)
            self._request_done(host)

    async def _deliver_group(
        self, host: str, settings: SgtmSettings, rows: list[SgtmDelivery]
    ) -> None:
        max_events = settings.max_batch_events or DEFAULT_BATCH_EVENTS[settings.format]
        max_events = min(max_events, self._batch_limit.get(host, max_events))
        requests, rejected = self._sender.prepare(settings, rows, max_events)
        by_id = {d.delivery_id: d for d in rows}
        for result in rejected:
            await self._settle(self._outcomes([by_id[i] for i in result.delivery_ids], result))
        slots = self._slots.setdefault(host, asyncio.Semaphore(self._s.max_in_flight_per_host))
        self._pending[host] += len(requests)

        async def one(request: PreparedRequest) -> None:
            try:
                async with slots:  # bounds the requests to the host, not our own bookkeeping
                    result = await self._post(host, settings, request)
            finally:
                self._request_done(host)
            if result is not None:
                await self._record(host, result, by_id)

        await asyncio.gather(*(one(r) for r in requests))

    async def _post(
        self, host: str, settings: SgtmSettings, request: PreparedRequest
    ) -> RequestResult | None:
        """Send one request unless the host's breaker says wait (then None: postponed)."""
        breaker = self.breaker(host)
        if self._stopping.is_set() or not breaker.allow():
            # Not an attempt: the deliveries wait for the breaker (or the next forwarder).
            await self._postpone(request.delivery_ids, breaker.retry_in())
            return None
        result = await self._sender.post(settings, request)
        if result.error_class.retryable:
            breaker.record_failure()
        else:
            breaker.record_success()  # the container answered; its verdict is about our data
        return result

    async def _record(
        self, host: str, result: RequestResult, by_id: dict[str, SgtmDelivery]
    ) -> None:
        rows = [by_id[i] for i in result.delivery_ids]
        if result.too_large and len(rows) > 1:
            self._batch_limit[host] = max(1, len(rows) // 2)
            log.warning("sGTM host %s refused a %d-event body (413): halving", host, len(rows))
            await self._postpone(result.delivery_ids, 0.0)
            return
        await self._settle(self._outcomes(rows, result))

    def _outcomes(self, rows: Sequence[SgtmDelivery], result: RequestResult) -> list[Outcome]:
        ec = result.error_class
        outcomes = []
        delays: dict[int, float] = {}  # one delay per request, so its events retry together
        for d in rows:
            attempts = d.attempts + 1 if result.sent else d.attempts
            retry_in = None
            if ec is ErrorClass.NONE:
                status = DeliveryStatus.CONFIRMED
            elif ec.retryable and not self._backoff.exhausted(max(attempts, 1)):
                status = DeliveryStatus.PENDING
                if attempts not in delays:
                    delays[attempts] = self._backoff.delay(max(attempts, 1), result.retry_after)
                retry_in = delays[attempts]
            elif ec.retryable or ec is ErrorClass.CONFIG:
                status = DeliveryStatus.DEAD  # replayable once the container or config is fixed
            else:
                status = DeliveryStatus.FAILED
            outcomes.append(
                Outcome(
                    d,
                    status,
                    attempts,
                    ec,
                    result.error,
                    str(result.http_status) if result.http_status else "",
                    result.batch_id,
                    result.excerpt,
                    retry_in,
                )
            )
        return outcomes

    # --- recording -----------------------------------------------------------------------------

    async def _settle(self, outcomes: list[Outcome]) -> None:
        """Record outcomes and their status messages together, retrying while the database is
        away. Their leases are renewed meanwhile; only an outage longer than the lease lets
        another forwarder send them again (at least once, never lost)."""
        if not outcomes:
            return
        attempt = 0
        while True:
            try:
                recorded = await self._settle_once(outcomes)
                break
            except Exception as exc:
                attempt += 1
                if self._stopping.is_set() and attempt > 3:
                    log.error("could not record %d sGTM outcome(s): %r", len(outcomes), exc)
                    return
                log.warning("recording sGTM outcomes failed (%r); retrying", exc)
                await asyncio.sleep(_SETTLE_RETRY.delay(attempt))
        self._wakeups.outbox()
        self._report(recorded)

    async def _settle_once(self, outcomes: list[Outcome]) -> list[Outcome]:
        now = self._clock.now()
        async with self._uow() as uow:
            recorded = await uow.ledger.settle(self.owner, outcomes)
            by_site: dict[str, list[Outcome]] = defaultdict(list)
            for o in recorded:
                by_site[o.delivery.site_id].append(o)
            for site_id, site_outcomes in by_site.items():
                uow.events.add(SgtmDeliveriesUpdated(site_id, tuple(site_outcomes), now))
                given_up = tuple(
                    o
                    for o in site_outcomes
                    if o.status in (DeliveryStatus.DEAD, DeliveryStatus.FAILED)
                )
                if given_up:
                    uow.events.add(SgtmDeadLettered(site_id, given_up, now))
            await uow.commit()
        return recorded

    async def _postpone(self, delivery_ids: Sequence[str], seconds: float) -> None:
        try:
            async with self._uow() as uow:
                await uow.ledger.postpone(self.owner, delivery_ids, seconds)
                await uow.commit()
        except Exception as exc:  # the lease expires instead; same effect, a little later
            log.warning("postponing sGTM deliveries failed: %r", exc)

    def _report(self, outcomes: list[Outcome]) -> None:
        counts: dict[tuple[DeliveryStatus, ErrorClass], int] = defaultdict(int)
        for o in outcomes:
            counts[(o.status, o.error_class)] += 1
        for (status, ec), count in counts.items():
            self._metrics.sgtm_outcome(status.value, ec.value, count)
        given_up = [o for o in outcomes if o.status in (DeliveryStatus.DEAD, DeliveryStatus.FAILED)]
        if given_up:
            first = given_up[0]
            log.warning(
                "sGTM: gave up on %d deliver(y/ies) of %s (%s, %s): %s",
                len(given_up),
                first.delivery.host,
                first.status.value,
                first.error_class.value,
                first.error,
                extra={
                    "fields": {
                        "site_id": first.delivery.site_id,
                        "host": first.delivery.host,
                        "attempts": first.attempts,
                        "delivery_ids": [o.delivery.delivery_id for o in given_up[:10]],
                    }
                },
            )

    async def _settings_for(self, site_id: str, revision: int) -> SgtmSettings | None:
        """The sGTM settings of the revision a delivery was routed under (immutable: cached)."""
        key = (site_id, revision)
        if key in self._configs:
            self._configs.move_to_end(key)
            return self._configs[key]
        async with self._uow() as uow:
            config = await uow.sites.at_revision(site_id, revision)
        settings = config.sgtm if config is not None else None
        self._configs[key] = settings
        if len(self._configs) > 1024:
            self._configs.popitem(last=False)
        return settings
