"""Webhook throughput for `make bench`: signed Shopify order webhooks POSTed to an ingest process
as fast as it answers, counted to 202 (committed with their outbox rows).

Runs on its own embedded PostgreSQL and NATS; ingest runs as Kubernetes runs it, a process of
its own. Bodies and signatures are built before the clock starts: the figure is ingest's.
`python -m ingest.bench [seconds]` prints it alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from convhub.router.v1 import router_pb2
from convhub_sim.sources import shopify_order, shopify_webhook
from hubkit.bus import SITES_BUCKET, connect, ensure_kv
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from hubkit.grpcx import check_health

SITE, SECRET = "bench-shop", "bench-shopify-secret"
CLIENTS = 32  # Shopify sends many shops' webhooks at once; each client waits for its answer


async def run(seconds: float) -> dict[str, Any]:
    with EmbeddedPostgres() as pg, EmbeddedNats() as nats, tempfile.TemporaryDirectory() as creds:
        (Path(creds) / "shopify").write_text(SECRET)
        nc = await connect(nats.url, name="bench")
        site = router_pb2.Site(
            site_id=SITE,
            revision=1,
            sources=router_pb2.Sources(shopify=router_pb2.ShopifySource(secret_ref="shopify")),
        )
        await (await ensure_kv(nc.jetstream(), SITES_BUCKET)).put(SITE, site.SerializeToString())
        await nc.close()
        database_url = pg.create_database("webhooks")
        port, grpc_port = free_port(), free_port()
        env = {
            **os.environ,
            "CONVHUB_DATABASE_URL": database_url,
            "CONVHUB_NATS_URL": nats.url,
            "CONVHUB_GRPC_PORT": str(grpc_port),
            "CONVHUB_WEBHOOK_PORT": str(port),
            "CONVHUB_CREDENTIALS_DIR": creds,
            "CONVHUB_DEV_NO_AUTH": "1",
            "CONVHUB_SITE_RATE_PER_SECOND": "1000000",
            "CONVHUB_CALLER_RATE_PER_SECOND": "1000000",
            "CONVHUB_LOG_LEVEL": "WARNING",
            "OTEL_SDK_DISABLED": "true",
        }
        subprocess.run([sys.executable, "-m", "ingest.migrate"], env=env, check=True)
        proc = subprocess.Popen([sys.executable, "-m", "ingest.main"], env=env)
        try:
            await _serving(f"127.0.0.1:{grpc_port}")
            return await _load(f"http://127.0.0.1:{port}/webhooks/shopify/{SITE}", seconds)
        finally:
            proc.terminate()
            proc.wait(30)


async def _serving(target: str) -> None:
    for _ in range(600):
        try:
            if await check_health(target, timeout=0.5) == "SERVING":
                return
        except Exception:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("ingest did not start")


async def _load(url: str, seconds: float) -> dict[str, Any]:
    # About what 2 cores can take in `seconds`, plus a margin; built before the clock starts.
    webhooks = [
        shopify_webhook(SECRET, shopify_order(10_000_000 + n), webhook_id=f"bench-{n}")
        for n in range(int(seconds * 1500) + 200)
    ]
    latencies: list[float] = []
    accepted = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as http:
        for body, headers in webhooks[-20:]:  # warm-up: connections, caches, first JIT paths
            async with http.post(url, data=body, headers=headers) as r:
                assert r.status == 202, await r.text()
        del webhooks[-20:]
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def client() -> None:
            nonlocal accepted
            while webhooks and time.perf_counter() < deadline:
                body, headers = webhooks.pop()
                t0 = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status == 202:
                        accepted += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "webhooks_shopify_per_s": round(accepted / elapsed),
        "webhook_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "webhook_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "webhooks_sent": len(latencies),
        "clients": CLIENTS,
    }


if __name__ == "__main__":
    print(asyncio.run(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)))
