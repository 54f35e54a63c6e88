"""PostgreSQL restarting under IngestBatch load: callers see UNAVAILABLE with a retry delay (which
gRPC clients retry), never INTERNAL, and the service logs one line for it, no traceback."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import grpc
import pytest

from convhub.ingest.v1 import ingest_pb2
from hubkit import grpcx
from hubkit.db.migrations import upgrade
from hubkit.embedded import EmbeddedPostgres
from hubkit.outages import OutageLog
from ingest.adapters.orm import SCHEMA
from ingest.migrate import MIGRATIONS
from tests.support import wait_for

from .conftest import ingest_settings, start_ingest, token
from .test_service import conversion

pytestmark = pytest.mark.slow

OK = grpc.StatusCode.OK
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
CLIENTS = 4
BATCH = 20


async def test_a_postgresql_restart_under_load_answers_only_unavailable(
    own_postgres: EmbeddedPostgres,
    nats_url: str,
    js,  # type: ignore[no-untyped-def]  # streams cleaned up after the test
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database_url = own_postgres.create_database("outage")
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    running = await start_ingest(ingest_settings(database_url, nats_url, site_rate_per_second=1e9))
    monkeypatch.setattr(grpcx, "_outages", OutageLog(logging.getLogger("hubkit.grpcx")))
    codes: Counter[grpc.StatusCode] = Counter()
    retry_after: set[str] = set()
    stop = asyncio.Event()

    async def client(n: int) -> None:
        sent = 0
        while not stop.is_set():
            request = ingest_pb2.IngestBatchRequest(
                conversions=[conversion(f"c{n}-{sent}-{k}") for k in range(BATCH)]
            )
            sent += 1
            try:
                await running.stub.IngestBatch(request, metadata=token(["shop-1"]), timeout=30)
                codes[OK] += 1
            except grpc.aio.AioRpcError as err:
                codes[err.code()] += 1
                if err.code() != UNAVAILABLE:
                    continue
                # As a client told to: wait the delay it was given (shortened: a test).
                retry_after.add(dict(err.trailing_metadata() or ())["retry-after-ms"])
                await asyncio.sleep(0.05)

    with caplog.at_level(logging.WARNING):
        clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
        try:
            await wait_for(lambda: codes[OK] >= 10, within=60, what="load flowing")
            await asyncio.to_thread(own_postgres.stop)  # fast shutdown: sessions cut mid-batch
            await wait_for(lambda: codes[UNAVAILABLE] >= 5, within=60, what="UNAVAILABLE seen")
            await asyncio.to_thread(own_postgres.start)
            recovered = codes[OK]
            await wait_for(lambda: codes[OK] >= recovered + 10, within=60, what="recovery")
        finally:
            stop.set()
            await asyncio.gather(*clients)
            running.stop.set()
            await running.task

    assert set(codes) == {OK, UNAVAILABLE}, codes
    assert retry_after == {"1000"}
    rpc_lines = [
        r for r in caplog.records if r.name == "hubkit.grpcx" and r.levelno >= logging.WARNING
    ]
    assert rpc_lines, "the outage is logged"
    for line in rpc_lines:
        assert line.levelno == logging.WARNING and line.exc_info is None, line.getMessage()
        assert "PostgreSQL unavailable in /convhub.ingest.v1.IngestService/" in line.getMessage()
    # A handful of lines for many failed calls: one per 5 s at most.
    assert len(rpc_lines) < codes[UNAVAILABLE]
