"""Release of parked conversions: once a site's configuration can route them, they go, once."""

from __future__ import annotations

import logging

from hubkit.worker import Periodic
from router.app.routing import record_metrics, stage_outputs
from router.domain.routing import decide
from router.ports import Clock, Metrics, UnitOfWorkFactory, Wakeups

log = logging.getLogger(__name__)


class ParkedReleaser:
    """Re-decides parked conversions of sites whose configuration changed since they parked.

    Woken by every site change, and also on a timer: a conversion parked by a transaction that
    raced with the configuration change is picked up by the next pass, never forgotten.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        wakeups: Wakeups,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        interval: float = 5.0,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._wakeups = wakeups
        self._metrics = metrics
        self._batch_size = batch_size
        # The database away: the parked rows wait, the loop retries.
        self._loop = Periodic("parked-releaser", self._round, interval=interval)

    def wake(self) -> None:
        self._loop.wake()

    async def release_all(self) -> int:
        """One pass over every site that may have releasable conversions; returns how many."""
        released = 0
        while True:
            async with self._uow() as uow:
                sites = await uow.decisions.sites_to_recheck(100)
            if not sites:
                return released
            for site_id in sites:
                released += await self.release_site(site_id)

    async def release_site(self, site_id: str) -> int:
        released = 0
        while True:
            async with self._uow() as uow:
                record = await uow.sites.get(site_id)
                if record is None:
                    return released
                parked = await uow.decisions.take_parked(site_id, record.revision, self._batch_size)
                if not parked:
                    return released
                decisions = [decide(record.config, c) for c in parked]
                routed = [d for d in decisions if not d.parked]
                still = [d.conversion_id for d in decisions if d.parked]
                if routed:
                    await uow.decisions.release(routed)
                stage_outputs(uow, site_id, routed, self._clock.now())
                if still:
                    await uow.decisions.recheck(still, record.revision)
                await uow.commit()
            if routed:
                self._wakeups.outbox()
                record_metrics(self._metrics, site_id, routed)
                self._metrics.released(site_id, len(routed))
                log.info(
                    "released %d parked conversion(s) of site %s under revision %d",
                    len(routed),
                    site_id,
                    record.revision,
                    extra={"fields": {"site_id": site_id, "count": len(routed)}},
                )
            released += len(routed)

    async def _round(self) -> None:
        await self.release_all()

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
