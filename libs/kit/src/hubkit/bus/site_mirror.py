"""`SiteMirror`: what a service needs of every site's configuration, from the JetStream KV
bucket `convhub-sites` that the router keeps current (one decoded value per site)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError
from nats.js import JetStreamContext

from convhub.router.v1 import router_pb2
from hubkit.bus.streams import SITES_BUCKET, ensure_kv
from hubkit.worker import Periodic

log = logging.getLogger(__name__)

T = TypeVar("T")


class SiteMirror(Generic[T]):
    """An in-memory copy kept current by a KV watch: reads never touch the network. `parse`
    turns a site's `convhub.router.v1.Site` into what the service keeps; a site without a
    configuration reads as `default`."""

    def __init__(
        self,
        js: JetStreamContext,
        parse: Callable[[router_pb2.Site], T],
        default: T,
        *,
        name: str = "site-mirror",
    ) -> None:
        self._js = js
        self._parse = parse
        self._default = default
        self._values: dict[str, T] = {}
        # One watch at a time; if it ends or fails, a new one follows a second later (it replays
        # the bucket). A watch never ends by itself, so stop() cancels it.
        self._loop = Periodic(name, self._watch, interval=1.0, stop_timeout=0)
        self.ready = asyncio.Event()  # set once the bucket's current contents are loaded

    def get(self, site_id: str) -> T:
        return self._values.get(site_id, self._default)

    def site_ids(self) -> list[str]:
        """Every site that has a configuration."""
        return sorted(self._values)

    async def start(self, within: float = 30.0) -> None:
        """Returns once the bucket's current contents are loaded, so the service never reports
        SERVING while it would apply defaults to a site that has its own settings."""
        await self._loop.start()
        try:
            await asyncio.wait_for(self.ready.wait(), within)
        except TimeoutError:
            await self.stop()
            message = f"site settings not loaded from {SITES_BUCKET} in {within}s"
            raise RuntimeError(message) from None

    async def _watch(self) -> None:
        kv = await ensure_kv(self._js, SITES_BUCKET)
        await self._follow(await kv.watchall())
        log.warning("site configuration watch ended; watching again")

    async def _follow(self, watcher: Any) -> None:
        async for entry in watcher:
            if entry is None:  # the watch has replayed the bucket's current contents
                self.ready.set()
                continue
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                self._values.pop(entry.key, None)
                continue
            try:
                self._values[entry.key] = self._parse(router_pb2.Site.FromString(entry.value))
            except DecodeError:
                log.error("undecodable site configuration for %s: keeping defaults", entry.key)

    async def stop(self) -> None:
        await self._loop.stop()
