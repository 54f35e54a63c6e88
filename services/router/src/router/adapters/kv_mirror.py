"""SiteMirror on the JetStream KV bucket `convhub-sites`: key site_id, value a serialized Site."""

from __future__ import annotations

import contextlib

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

from hubkit.bus import SITES_BUCKET, ensure_kv
from router.adapters import mappers
from router.domain.site import SiteConfig


class JetStreamSiteMirror:
    def __init__(self, js: JetStreamContext, bucket: str = SITES_BUCKET) -> None:
        self._js = js
        self._bucket = bucket
        self._kv: KeyValue | None = None

    async def _store(self) -> KeyValue:
        if self._kv is None:
            self._kv = await ensure_kv(self._js, self._bucket)
        return self._kv

    async def put(self, site: SiteConfig) -> None:
        await (await self._store()).put(site.site_id, mappers.site_to_bytes(site))

    async def delete(self, site_id: str) -> None:
        kv = await self._store()
        with contextlib.suppress(KeyNotFoundError):
            await kv.delete(site_id)

    async def revisions(self) -> dict[str, int]:
        kv = await self._store()
        try:
            keys = await kv.keys()
        except NoKeysError:
            return {}
        found: dict[str, int] = {}
        for key in keys:
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:  # deleted meanwhile
                continue
            revision = mappers.site_revision_of(entry.value or b"")
            found[key] = revision if revision is not None else -1  # -1: unreadable, rewrite it
        return found
