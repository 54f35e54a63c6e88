"""`make bench`: the figures of docs/architecture.md §7 on this machine, printed and written to
JSON.

Every figure runs against embedded PostgreSQL and NATS started here, with services as separate
processes where the figure is about a service. Each service's own benchmark module
(`<package>.bench`, with `async def run(seconds) -> dict`) is run when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path("bench-results.json")
SECRET = "bench-secret-that-is-long-enough-for-hs256"


def _conversion(ingest_pb2: Any, common_pb2: Any, order_id: str) -> Any:
    c = ingest_pb2.Conversion(
        site_id="bench",
        order_id=order_id,
        event_type="purchase",
        value="19.99",
        currency="EUR",
        user_data=ingest_pb2.UserData(
            email=f"{order_id}@example.org", phone="+4915112345678", client_ip="203.0.113.1"
        ),
        consent=common_pb2.Consent(ad_user_data=common_pb2.CONSENT_STATUS_GRANTED),
    )
    c.event_time.FromDatetime(datetime.now(UTC) - timedelta(minutes=1))
    return c


async def bench_ingest(
    seconds: float, database_url: str, nats_url: str, replicas: int = 1
) -> dict[str, float]:
    """IngestBatch of 500 against `replicas` ingest processes: conversions/s to ACCEPTED."""
    import grpc

    from convhub.common.v1 import common_pb2
    from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
    from hubkit.auth import Scope, issue_token
    from hubkit.embedded import free_port
    from hubkit.grpcx import auth_metadata, check_health

    env = {
        **os.environ,
        "CONVHUB_DATABASE_URL": database_url,
        "CONVHUB_NATS_URL": nats_url,
        "CONVHUB_JWT_SECRET": SECRET,
        "CONVHUB_SITE_RATE_PER_SECOND": "1000000",
        "CONVHUB_CALLER_RATE_PER_SECOND": "1000000",
        "CONVHUB_LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "ingest.migrate"], env=env, check=True)
    ports = [free_port() for _ in range(replicas)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ingest.main"], env={**env, "CONVHUB_GRPC_PORT": str(port)}
        )
        for port in ports
    ]
    targets = [f"127.0.0.1:{port}" for port in ports]
    try:
        for target in targets:
            for _ in range(300):
                try:
                    if await check_health(target, timeout=0.5) == "SERVING":
                        break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1)
        metadata = auth_metadata(
            issue_token(
                SECRET, subject="bench", sites=["*"], scopes=[Scope.INGEST], ttl_seconds=3600
            )
        )
        # Requests are built up front: the figure is the service's, not the client's.
        queue = [
            ingest_pb2.IngestBatchRequest(
                conversions=[
                    _conversion(ingest_pb2, common_pb2, f"o-{replicas}-{b}-{i}") for i in range(500)
                ]
            )
            for b in range(int(seconds * 40 * replicas) + 8)
        ]
        accepted = 0
        latencies: list[float] = []
        channels = [grpc.aio.insecure_channel(t) for t in targets]
        stubs = [ingest_pb2_grpc.IngestServiceStub(c) for c in channels]
        for stub in stubs:
            await stub.IngestBatch(queue.pop(), metadata=metadata)  # warm up
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def client(stub: Any) -> None:
            nonlocal accepted
            while queue and time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await stub.IngestBatch(queue.pop(), metadata=metadata)
                latencies.append(time.perf_counter() - t0)
                accepted += sum(
                    r.status == ingest_pb2.INGEST_STATUS_ACCEPTED for r in response.results
                )

        await asyncio.gather(*(client(stubs[i % replicas]) for i in range(4 * replicas)))
        elapsed = time.perf_counter() - started
        for channel in channels:
            await channel.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
    suffix = "" if replicas == 1 else f"_{replicas}_replicas"
    return {
        f"ingest_batch500_conversions_per_s{suffix}": round(accepted / elapsed),
        f"ingest_batch500_p99_call_ms{suffix}": round(_p(latencies, 0.99) * 1000, 1),
    }


async def bench_dedupe(database_url: str, rounds: int = 400) -> dict[str, float]:
    """The dedupe claim per conversion (the unique-key INSERT ... ON CONFLICT), p99."""
    from hubkit.db import make_engine
    from hubkit.db.migrations import upgrade
    from ingest.adapters.orm import SCHEMA
    from ingest.adapters.sql_store import SqlConversionStore
    from ingest.adapters.system import new_conversion_id
    from ingest.domain.model import DEFAULT_POLICY, ConsentStatus, ConversionInput
    from ingest.domain.preparation import prepare
    from ingest.domain.validation import Limits
    from ingest.migrate import MIGRATIONS

    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    engine = make_engine(database_url)
    store = SqlConversionStore(engine)
    now = datetime.now(UTC)

    def prepared(order_id: str) -> Any:
        c = ConversionInput(
            site_id="dedupe",
            order_id=order_id,
            event_type="purchase",
            event_time=now,
            ad_user_data=ConsentStatus.GRANTED,
        )
        return prepare(c, DEFAULT_POLICY, now, Limits(), conversion_id=new_conversion_id())

    single: list[float] = []
    per_item_in_batch: list[float] = []
    for r in range(rounds):
        p = prepared(f"d-{r % 100}")  # one in four is a duplicate of an earlier one
        t0 = time.perf_counter()
        await store.store([p])
        single.append(time.perf_counter() - t0)
    for r in range(40):
        batch = [prepared(f"b-{r}-{i}") for i in range(500)]
        t0 = time.perf_counter()
        await store.store(batch)
        per_item_in_batch.append((time.perf_counter() - t0) / 500)
    await engine.dispose()
    return {
        "dedupe_p99_ms_single": round(_p(single, 0.99) * 1000, 3),
        "dedupe_p99_ms_per_conversion_batched": round(_p(per_item_in_batch, 0.99) * 1000, 3),
    }


async def bench_end_to_end(seconds: float) -> dict[str, float]:
    """The whole stack as `make run` starts it: accepted → platform ack latency at 500/s, the
    sustained delivered rate, and each service's memory at steady state."""
    import tempfile

    import grpc

    from convhub.common.v1 import common_pb2
    from convhub.events.v1 import events_pb2
    from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
    from convhub_cli.demo import _conversion
    from convhub_cli.stackfile import StackInfo
    from hubkit.auth import Scope, issue_token
    from hubkit.bus import connect
    from hubkit.grpcx import auth_metadata

    workdir = Path(tempfile.mkdtemp(prefix="convhub-bench-"))
    up = subprocess.Popen(
        [str(Path(sys.executable).parent / "convhub"), "up", "--no-demo"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack_file = workdir / ".run" / "stack.json"
    try:
        for _ in range(600):
            info = StackInfo.load(stack_file)
            if info is not None:  # written once every service is healthy and configured
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the stack did not come up")
        metadata = auth_metadata(
            issue_token(
                info.jwt_secret, subject="bench", sites=["*"], scopes=list(Scope), ttl_seconds=3600
            )
        )
        confirmed: dict[str, float] = {}
        nc = await connect(info.nats_url, name="bench")

        async def on_delivery(msg: Any) -> None:
            now = time.perf_counter()
            for item in events_pb2.DeliveryUpdatedBatch.FromString(msg.data).items:
                if item.status == common_pb2.DELIVERY_STATUS_CONFIRMED:
                    confirmed.setdefault(item.conversion_id, now)

        await nc.subscribe("convhub.delivery.>", cb=on_delivery)
        accepted_at: dict[str, float] = {}
        async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            counter = iter(range(10**9))

            async def send(n: int) -> None:
                batch = [_conversion("demo-direct", next(counter)) for _ in range(n)]
                results = (
                    await stub.IngestBatch(
                        ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata
                    )
                ).results
                now = time.perf_counter()
                for r in results:
                    accepted_at[r.conversion_id] = now

            # 1. Latency at a steady 500 conversions/s (50 every 100 ms).
            started = time.perf_counter()
            tick = 0
            while time.perf_counter() - started < seconds:
                await send(50)
                tick += 1
                await asyncio.sleep(max(0.0, started + tick * 0.1 - time.perf_counter()))
            steady = set(accepted_at)
            await _settle(lambda: steady <= set(confirmed), 30)
            latencies = [confirmed[c] - accepted_at[c] for c in steady if c in confirmed]
            rss = _service_rss(up.pid)  # steady state: after a while at 500/s
            # 2. Sustained: as fast as ingest takes batches of 500, for `seconds`.
            confirmed_before = len(confirmed)
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                await asyncio.gather(*(send(500) for _ in range(2)))
            burst = set(accepted_at) - steady
            await _settle(lambda: burst <= set(confirmed), 120)
            elapsed = max(confirmed[c] for c in burst) - started
        await nc.close()
    finally:
        up.send_signal(2)
        up.wait(60)
    return {
        "accepted_to_meta_ack_p50_ms_at_500_per_s": round(_p(latencies, 0.5) * 1000, 1),
        "accepted_to_meta_ack_p95_ms_at_500_per_s": round(_p(latencies, 0.95) * 1000, 1),
        "sustained_delivered_conversions_per_s": round(
            (len(confirmed) - confirmed_before) / elapsed
        ),
        **{f"rss_mib_{name}": mib for name, mib in rss.items()},
    }


def _service_rss(up_pid: int) -> dict[str, float]:
    import psutil

    rss: dict[str, float] = {}
    for child in psutil.Process(up_pid).children():
        cmdline = child.cmdline()
        if len(cmdline) >= 3 and cmdline[1] == "-m" and cmdline[2].endswith(".main"):
            rss[cmdline[2].removesuffix(".main")] = round(child.memory_info().rss / 2**20, 1)
    return rss


async def _settle(done: Any, within: float) -> None:
    deadline = time.perf_counter() + within
    while not done() and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)


def _p(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


async def run_all(seconds: float) -> dict[str, Any]:
    from hubkit.embedded import EmbeddedNats, EmbeddedPostgres

    results: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "seconds": seconds}
    with EmbeddedPostgres() as pg, EmbeddedNats() as nats:
        if importlib.util.find_spec("ingest"):
            results["ingest"] = await bench_ingest(seconds, pg.create_database("bench"), nats.url)
            # Replicas are how ingest scales (the unique-key claim makes them safe together).
            results["ingest"] |= await bench_ingest(
                seconds, pg.create_database("bench2"), nats.url, replicas=2
            )
            results["dedupe"] = await bench_dedupe(pg.create_database("dedupe"))
    if importlib.util.find_spec("ingest") and importlib.util.find_spec("dispatch_meta"):
        results["end_to_end"] = await bench_end_to_end(seconds)
    packages = ("ingest", "router", "dispatch_meta", "dispatch_google", "dispatch_tiktok")
    for package in (*packages, "attribution"):
        if importlib.util.find_spec(package) and importlib.util.find_spec(f"{package}.bench"):
            module = importlib.import_module(f"{package}.bench")
            results.setdefault(package, {}).update(await module.run(seconds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="convhub-bench")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    results = asyncio.run(run_all(args.seconds))
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
