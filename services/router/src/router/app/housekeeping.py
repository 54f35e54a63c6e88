"""Retention: routed decisions are deleted after the retention period (the sGTM dispatcher's
ledger prunes its own history).

The retention must outlast every way a conversion can come back (the conversions stream keeps
messages 7 days), so a redelivery always finds its decision; the default is 30 days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
        self._interval = interval
        self._batch = batch  # short transactions: no long locks on busy tables
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def purge_once(self) -> int:
        """Delete everything past retention, batch by batch; returns how many rows."""
        if self._days <= 0:
            return 0
        total = 0
        while not self._stopping.is_set():
            async with self._uow() as uow:
                gone = await uow.decisions.purge(self._days, self._batch)
                await uow.commit()
            total += gone
            if gone == 0:
                break
        if total:
            log.info("housekeeping deleted %d row(s) older than %d days", total, self._days)
        return total

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.purge_once()
            except Exception:
                log.exception("housekeeping failed; trying again later")
            await asyncio.sleep(self._interval)
