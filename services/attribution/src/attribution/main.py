"""Composition root of attribution: storage, the site settings mirror, the NATS inputs and
AttributionService, served until SIGTERM."""

from __future__ import annotations

import asyncio

from attribution.adapters.grpc_api import AttributionServicer
from attribution.adapters.nats_consumers import consumers
from attribution.adapters.sql_store import SqlAttributionStore
from attribution.app.attribute import Attribute, settings_from_site
from attribution.app.queries import Queries
from attribution.config import Settings
from attribution.domain.model import Settings as ModelSettings
from hubkit.bus.site_mirror import SiteMirror
from hubkit.config import load
from hubkit.service import ServiceRuntime, run


async def main(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    settings = settings or load(Settings)
    async with ServiceRuntime(settings) as rt:
        store = SqlAttributionStore(rt.engine)
        sites = SiteMirror(rt.js, settings_from_site, ModelSettings(), name="attribution-sites")
        attribute = Attribute(store, sites.get)
        queries = Queries(store, sites.get, attribute)
        AttributionServicer(store, queries).register(rt.server)
        rt.add_worker(sites)  # first: no conversion is credited under default settings
        for consumer in consumers(rt.js, store, attribute):
            rt.add_worker(consumer)
        await rt.serve(stop)


if __name__ == "__main__":
    run(main)
