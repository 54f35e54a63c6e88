"""Keeps the KV bucket other services read in step with the stored site configurations."""

from __future__ import annotations

import logging
import time

from hubkit.worker import Periodic
from router.ports import SiteMirror, UnitOfWorkFactory

log = logging.getLogger(__name__)


class SiteMirroring:
    """Copies each committed revision to the KV bucket, then marks it mirrored.

    The database says what is still to copy, so a crash between commit and copy only delays
    it. The site's row stays locked while its revision is copied: replicas never overwrite a
    newer revision with an older one. A full comparison at start (and every `resync_interval`)
    repairs a bucket that was lost or edited by hand.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        mirror: SiteMirror,
        *,
        interval: float = 10.0,
        resync_interval: float = 300.0,
    ) -> None:
        self._uow = uow
        self._mirror = mirror
        self._resync_interval = resync_interval
        self._next_resync = 0.0  # at start, then every resync_interval
        # NATS or the database away: the database still knows what to copy, the loop retries.
        self._loop = Periodic("site-mirror", self._round, interval=interval)

    def wake(self) -> None:
        self._loop.wake()

    async def sync_pending(self) -> int:
        copied = 0
        while True:
            async with self._uow() as uow:
                records = await uow.sites.unmirrored(50)
                if not records:
                    return copied
                for record in records:
                    if record.config is None:
                        await self._mirror.delete(record.site_id)
                    else:
                        await self._mirror.put(record.config)
                    await uow.sites.mark_mirrored(record.site_id, record.revision)
                await uow.commit()
            copied += len(records)

    async def resync(self) -> int:
        """Queue every site whose bucket entry differs from the database; returns how many.

        The copies themselves go through `sync_pending`, under the row lock, so a resync
        racing with a new revision can never put back an older one.
        """
        in_bucket = await self._mirror.revisions()
        async with self._uow() as uow:
            records = await uow.sites.all_records()
            stale = [
                r.site_id
                for r in records
                if (r.config is None and r.site_id in in_bucket)
                or (r.config is not None and in_bucket.get(r.site_id) != r.revision)
            ]
            if stale:
                await uow.sites.mark_unmirrored(stale)
                await uow.commit()
        # Keys the database does not know are reported, never deleted: a router pointed at the
        # wrong (or an empty) database must not wipe the configuration every service reads.
        unknown = sorted(in_bucket.keys() - {r.site_id for r in records})
        if unknown:
            log.warning(
                "KV bucket holds %d site(s) this router's database does not know: %s",
                len(unknown),
                ", ".join(unknown[:20]),
            )
        if stale:
            log.info("site mirror: %d KV entr(y/ies) to repair", len(stale))
        return len(stale)

    async def _round(self) -> None:
        if time.monotonic() >= self._next_resync:
            await self.resync()
            self._next_resync = time.monotonic() + self._resync_interval
        await self.sync_pending()

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
