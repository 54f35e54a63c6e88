"""`python -m router.main`: the router service, run until SIGTERM, then drained in order."""

from __future__ import annotations

import asyncio

from convhub.router.v1 import router_pb2_grpc
from hubkit.config import load
from hubkit.service import ServiceRuntime, run
from router.adapters.grpc_api import SERVICE_NAME
from router.bootstrap import build, http_client
from router.config import Settings


async def main(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM (or `stop`, for tests that run the service in-process)."""
    settings = settings or load(Settings)
    async with ServiceRuntime(settings) as rt:
        app = build(settings, rt.engine, rt.js, http_client(settings))
        rt.on_close(app.sgtm.adapter.close)
        await app.declare()
        rt.server.add(
            router_pb2_grpc.add_RouterServiceServicer_to_server, app.servicer, SERVICE_NAME
        )
        app.sgtm.servicer.register(rt.server)  # DispatchService for the sGTM deliveries
        for worker in app.workers():
            rt.add_worker(worker)  # type: ignore[arg-type]
        await rt.serve(stop)


if __name__ == "__main__":
    run(main)
