"""Retention: routed decisions are deleted after the retention period (the sGTM dispatcher's
ledger prunes its own history).

The retention must outlast every way a conversion can come back (the conversions stream keeps
messages 7 days), so a redelivery always finds its decision; the default is 30 days.
"""

from __future__ import annotations

import logging

from hubkit.worker import Periodic
from router.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        retention_days: int = 30,
        interval: float = 3600.0,
        batch: int = 5000,
    ) -> None:
        self._uow = uow
        self._days = retention_days
        self._batch = batch  # short transactions: no long locks on busy tables
        self._loop = Periodic("housekeeping", self._round, interval=interval)

    async def purge_once(self) -> int:
        """Delete everything past retention, batch by batch; returns how many rows."""
        if self._days <= 0:
            return 0
        total = 0
        while not self._loop.stopping:  # stop() waits for the batch in hand only
            async with self._uow() as uow:
                gone = await uow.decisions.purge(self._days, self._batch)
                await uow.commit()
            total += gone
            if gone == 0:
                break
        if total:
            log.info("housekeeping deleted %d row(s) older than %d days", total, self._days)
        return total

    async def _round(self) -> None:
        await self.purge_once()

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
