"""`make bench` figures for dispatch-meta: dispatch throughput and accepted -> Meta ack latency.

Embedded PostgreSQL and NATS, the Meta simulator in this process answering at once, and the
dispatcher as its own process (`python -m dispatch_meta.main`), as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PIXEL = "1234567890"
RATE = 500  # events/s for the latency figure (DESIGN.md §7)


def _requests(prefix: str, count: int, at: datetime) -> list[Any]:
    import hashlib

    from convhub.common.v1 import common_pb2
    from hubkit.dispatch.testing import dispatch_request

    digest = hashlib.sha256(b"bench@example.com").hexdigest()
    user = common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))
    out = []
    for i in range(count):
        r = dispatch_request(
            f"{prefix}{i}",
            site_id="bench",
            account_id=PIXEL,
            credentials_ref="bench-meta",
            user_data=user,
            action_source=common_pb2.ACTION_SOURCE_SYSTEM_GENERATED,
            value="19.99",
            currency="EUR",
        )
        r.conversion.received_at.FromDatetime(at)
        out.append(r)
    return out


def _p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def _wait(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: {what} not reached in {within}s")
        await asyncio.sleep(0.02)


async def run(seconds: float) -> dict[str, float]:
    """Throughput over a backlog, then latency at 500 events/s for `seconds`."""
    from convhub_sim.meta import MetaSimulator
    from dispatch_meta.migrate import MIGRATIONS
    from hubkit.bus import connect
    from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ensure_stream
    from hubkit.dispatch import Platform
    from hubkit.dispatch.migrations import upgrade
    from hubkit.dispatch.testing import publish_requests
    from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, free_port
    from hubkit.grpcx import check_health

    backlog = int(min(max(2000 * seconds, 5000), 60_000))
    with (
        EmbeddedPostgres() as pg,
        EmbeddedNats() as nats,
        tempfile.TemporaryDirectory() as creds,
    ):
        database_url = pg.create_database("dispatch_meta_bench")
        await asyncio.to_thread(upgrade, database_url, MIGRATIONS, "dispatch_meta")
        token = json.dumps({"access_token": "bench-token"})
        await asyncio.to_thread(Path(creds, "bench-meta").write_text, token)
        sim = MetaSimulator()
        await sim.start()
        nc = await connect(nats.url, name="bench")
        js = nc.jetstream()
        for spec in (DISPATCH, DELIVERY, DEADLETTER):
            await ensure_stream(js, spec)
        port = free_port()
        env = {
            **os.environ,
            "CONVHUB_DATABASE_URL": database_url,
            "CONVHUB_NATS_URL": nats.url,
            "CONVHUB_GRPC_PORT": str(port),
            "CONVHUB_DEV_NO_AUTH": "1",
            "CONVHUB_CREDENTIALS_DIR": creds,
            "CONVHUB_META_GRAPH_URL": sim.url,
            "CONVHUB_LOG_LEVEL": "WARNING",
            "OTEL_SDK_DISABLED": "true",
        }
        # The backlog is in the stream before the dispatcher starts: the figure is its own.
        await publish_requests(
            js, Platform.META, _requests("t", backlog, datetime.now(UTC)), per_message=250
        )
        proc = subprocess.Popen([sys.executable, "-m", "dispatch_meta.main"], env=env)
        try:

            async def serving() -> bool:
                try:
                    return await check_health(f"127.0.0.1:{port}", timeout=0.5) == "SERVING"
                except Exception:
                    return False

            deadline = time.monotonic() + 60
            while not await serving():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bench: dispatch-meta did not start")
                await asyncio.sleep(0.05)
            started = time.perf_counter()
            await _wait(lambda: len(sim.received) >= backlog, 300, "backlog delivered")
            elapsed = time.perf_counter() - started
            requests_backlog = len(sim.platform_requests())

            # Latency: a steady 500 events/s, each stamped accepted when published.
            sim.received.clear()
            sent_at: dict[str, float] = {}
            tick, per_tick = 0.1, int(RATE * 0.1)
            ticks = max(1, int(seconds / tick))
            begin = time.perf_counter()
            for n in range(ticks):
                now = datetime.now(UTC)
                batch = _requests(f"l{n}-", per_tick, now)
                for r in batch:
                    sent_at[r.conversion.event_id] = now.timestamp()
                await publish_requests(js, Platform.META, batch, per_message=per_tick)
                await asyncio.sleep(max(0.0, begin + (n + 1) * tick - time.perf_counter()))
            await _wait(lambda: len(sim.received) >= len(sent_at), 60, "steady load delivered")
            latencies = [e.at - sent_at[e.event_id] for e in sim.received if e.event_id in sent_at]
            rss_mib = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
            await nc.close()
            await sim.stop()
    return {
        "dispatch_events_per_s": round(backlog / elapsed),
        "dispatch_backlog_events": backlog,
        "dispatch_backlog_requests": requests_backlog,
        "accepted_to_ack_p50_ms_at_500_per_s": round(_p(latencies, 0.50) * 1000, 1),
        "accepted_to_ack_p95_ms_at_500_per_s": round(_p(latencies, 0.95) * 1000, 1),
        "accepted_to_ack_p99_ms_at_500_per_s": round(_p(latencies, 0.99) * 1000, 1),
        "dispatch_meta_rss_mib": rss_mib,
    }


def _rss_mib(pid: int) -> float:
    """Resident memory of the dispatcher process (Linux), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)), indent=2))
