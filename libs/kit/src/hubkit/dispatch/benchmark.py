"""`make bench` for any dispatcher: its own process on embedded PostgreSQL and NATS, a backlog
drained into a platform simulator (events/s), then a steady 500 events/s (accepted -> platform
ack latency), as production runs it. A dispatcher's `bench.py` supplies the requests and the
simulator; the measuring is the same for every destination."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from convhub.events.v1 import events_pb2
from hubkit.vocabulary import Platform

RATE = 500  # events/s for the latency figure (docs/architecture.md §7)


class Received(Protocol):
    @property
    def event_id(self) -> str: ...

    @property
    def at(self) -> float:
        """Wall clock, when the simulator accepted it."""
        ...


@dataclass
class DispatcherStack:
    js: Any
    proc: subprocess.Popen[bytes]
    serving_at: float  # wall clock when the dispatcher's health first said SERVING


def percentile(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def wait_until(predicate: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: {what} not reached in {within}s")
        await asyncio.sleep(0.02)


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux), 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


@asynccontextmanager
async def dispatcher_process(
    package: str,
    platform: Platform,
    backlog: Sequence[events_pb2.DispatchRequested],
    *,
    env: Mapping[str, str],
    credentials: Mapping[str, str],
) -> AsyncIterator[DispatcherStack]:
    """Embedded PostgreSQL and NATS, `backlog` in the dispatch stream, then `python -m
    <package>.main` (its schema = package name) with `env` and a credentials directory holding
    `credentials` (reference -> file content); yielded once SERVING, stopped on exit."""
    from hubkit.bus import connect
    from hubkit.bus.streams import DEADLETTER, DELIVERY, DISPATCH, ensure_stream
    from hubkit.dispatch.migrations import upgrade
    from hubkit.dispatch.testing import publish_requests
    from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, free_port
    from hubkit.grpcx import check_health

    with (
        EmbeddedPostgres() as pg,
        EmbeddedNats() as nats,
        tempfile.TemporaryDirectory() as creds,
    ):
        database_url = pg.create_database(f"{package}_bench")
        await asyncio.to_thread(upgrade, database_url, package)
        for ref, content in credentials.items():
            await asyncio.to_thread(Path(creds, ref).write_text, content)
        nc = await connect(nats.url, name="bench")
        js = nc.jetstream()
        for spec in (DISPATCH, DELIVERY, DEADLETTER):
            await ensure_stream(js, spec)
        port = free_port()
        full_env = {
            **os.environ,
            "CONVHUB_DATABASE_URL": database_url,
            "CONVHUB_NATS_URL": nats.url,
            "CONVHUB_GRPC_PORT": str(port),
            "CONVHUB_DEV_NO_AUTH": "1",
            "CONVHUB_CREDENTIALS_DIR": creds,
            "CONVHUB_LOG_LEVEL": "WARNING",
            "OTEL_SDK_DISABLED": "true",
            **env,
        }
        # The backlog is in the stream before the dispatcher starts: the figure is its own.
        await publish_requests(js, platform, backlog, per_message=250)
        proc = subprocess.Popen([sys.executable, "-m", f"{package}.main"], env=full_env)
        try:

            async def serving() -> bool:
                try:
                    return await check_health(f"127.0.0.1:{port}", timeout=0.5) == "SERVING"
                except Exception:
                    return False

            deadline = time.monotonic() + 60
            while not await serving():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bench: {package} did not start")
                await asyncio.sleep(0.05)
            yield DispatcherStack(js, proc, time.time())
        finally:
            proc.terminate()
            proc.wait(30)
            await nc.close()


async def throughput_and_latency(
    stack: DispatcherStack,
    platform: Platform,
    received: Callable[[], Sequence[Received]],
    clear: Callable[[], None],
    make_requests: Callable[[str, int, datetime], list[events_pb2.DispatchRequested]],
    backlog: int,
    seconds: float,
) -> dict[str, float]:
    """The backlog (already published) drained, then RATE events/s for `seconds`, each stamped
    accepted when published; `received` is what the simulator accepted so far."""
    from hubkit.dispatch.testing import publish_requests

    started = time.perf_counter()
    await wait_until(lambda: len(received()) >= backlog, 300, "backlog delivered")
    elapsed = time.perf_counter() - started
    clear()
    sent_at: dict[str, float] = {}
    tick = 0.1
    per_tick = int(RATE * tick)
    begin = time.perf_counter()
    for n in range(max(1, int(seconds / tick))):
        now = datetime.now(UTC)
        batch = make_requests(f"l{n}-", per_tick, now)
        for r in batch:
            sent_at[r.conversion.event_id] = now.timestamp()
        await publish_requests(stack.js, platform, batch, per_message=per_tick)
        await asyncio.sleep(max(0.0, begin + (n + 1) * tick - time.perf_counter()))
    await wait_until(lambda: len(received()) >= len(sent_at), 60, "steady load delivered")
    latencies = [e.at - sent_at[e.event_id] for e in received() if e.event_id in sent_at]
    return {
        "events_per_s": round(backlog / elapsed),
        "backlog_events": backlog,
        "ack_p50_ms_at_500_per_s": round(percentile(latencies, 0.50) * 1000, 1),
        "ack_p95_ms_at_500_per_s": round(percentile(latencies, 0.95) * 1000, 1),
        "ack_p99_ms_at_500_per_s": round(percentile(latencies, 0.99) * 1000, 1),
        "rss_mib": rss_mib(stack.proc.pid),
    }


def main(run: Callable[[float], Any]) -> None:
    """`python -m <package>.bench [seconds]`."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(json.dumps(asyncio.run(run(seconds)), indent=2))
