"""SitePolicies from the JetStream KV bucket `convhub-sites`, which the router keeps current."""

from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext

from convhub.router.v1 import router_pb2
from hubkit.bus import SITES_BUCKET, ensure_kv
from hubkit.worker import Periodic
from ingest.adapters.mappers import site_policy
from ingest.domain.model import DEFAULT_POLICY, SitePolicy

log = logging.getLogger(__name__)


class KvSitePolicies:
    """An in-memory copy kept current by a KV watch: reads never touch the network."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._policies: dict[str, SitePolicy] = {}
        # One watch at a time; if it ends or fails, a new one follows a second later (it replays
        # the bucket). A watch never ends by itself, so stop() cancels it.
        self._loop = Periodic("site-policies", self._watch, interval=1.0, stop_timeout=0)
        self.ready = asyncio.Event()  # set once the bucket's current contents are loaded

    def get(self, site_id: str) -> SitePolicy:
        return self._policies.get(site_id, DEFAULT_POLICY)

    async def start(self, within: float = 30.0) -> None:
        """Returns once the bucket's current contents are loaded, so the service never reports
        SERVING while it would apply default consent rules to a site that has stricter ones."""
        await self._loop.start()
        try:
            await asyncio.wait_for(self.ready.wait(), within)
        except TimeoutError:
            await self.stop()
            raise RuntimeError(
                f"site policies not loaded from {SITES_BUCKET} in {within}s"
            ) from None

    async def _watch(self) -> None:
        kv = await ensure_kv(self._js, SITES_BUCKET)
        await self._follow(await kv.watchall())
        log.warning("site policy watch ended; watching again")

    async def _follow(self, watcher) -> None:  # type: ignore[no-untyped-def]
        async for entry in watcher:
            if entry is None:  # the watch has replayed the bucket's current contents
                self.ready.set()
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self._policies.pop(entry.key, None)
                continue
            try:
                self._policies[entry.key] = site_policy(router_pb2.Site.FromString(entry.value))
            except DecodeError:
                log.error("undecodable site configuration for %s: keeping defaults", entry.key)

    async def stop(self) -> None:
        await self._loop.stop()
