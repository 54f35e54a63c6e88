"""Nothing accepted is lost: ingest killed with SIGKILL between commit and publish, NATS down."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import grpc
import pytest
from sqlalchemy import create_engine, text

from convhub.events.v1 import events_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from hubkit.bus import connect
from hubkit.db import sync_url
from hubkit.embedded import EmbeddedNats, free_port
from tests.support import ServiceProcess, wait_for

from .conftest import SECRET, token
from .test_service import ACCEPTED, conversion

pytestmark = pytest.mark.slow


class IngestProcess(ServiceProcess):
    def __init__(self, database_url: str, nats_url: str) -> None:
        super().__init__(
            "ingest",
            {
                **os.environ,
                "CONVHUB_DATABASE_URL": database_url,
                "CONVHUB_NATS_URL": nats_url,
                "CONVHUB_GRPC_PORT": str(free_port()),
                "CONVHUB_JWT_SECRET": SECRET,
                "OTEL_SERVICE_NAME": "ingest",
            },
        )

    async def start(self) -> ingest_pb2_grpc.IngestServiceStub:  # type: ignore[override]
        await super().start()
        return ingest_pb2_grpc.IngestServiceStub(grpc.aio.insecure_channel(self.address))


async def published_ids(nats_url: str, expected: int) -> Counter[str]:
    """How often each conversion id appears in the accepted stream, once `expected` are there."""
    nc = await connect(nats_url, name="crash-test")
    js = nc.jetstream()

    async def counted() -> Counter[str] | None:
        counts: Counter[str] = Counter()
        info = await js.stream_info("CONVHUB_CONVERSIONS")
        # An empty stream may report first_seq 0 (after a restart): sequence 0 is no message.
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            batch = events_pb2.ConversionAcceptedBatch.FromString(
                (await js.get_msg("CONVHUB_CONVERSIONS", seq)).data
            )
            counts.update(i.conversion.conversion_id for i in batch.items)
        return counts if len(counts) >= expected else None

    try:  # up to a minute: a restarted relay retries with backoff
        return await wait_for(counted, within=60, what=f"{expected} conversions published")
    finally:
        await nc.close()


async def ingest_batches(  # type: ignore[no-untyped-def]
    stub, prefix: str, batches: int, size: int = 50, accepted: list[str] | None = None
) -> list[str]:
    """Send batches one after the other; `accepted` collects every id answered ACCEPTED."""
    accepted = [] if accepted is None else accepted
    for b in range(batches):
        request = ingest_pb2.IngestBatchRequest(
            conversions=[conversion(f"{prefix}-{b}-{i}") for i in range(size)]
        )
        response = await stub.IngestBatch(request, metadata=token(["shop-1"]))
        accepted += [r.conversion_id for r in response.results if r.status == ACCEPTED]
    return accepted


async def test_killed_between_commit_and_publish_publishes_after_restart(
    migrated_db: str, own_nats: EmbeddedNats
) -> None:
    service = IngestProcess(migrated_db, own_nats.url)
    try:
        stub = await service.start()
        # From now on the relay cannot publish: rows wait in the outbox.
        await asyncio.to_thread(own_nats.kill)
        accepted = await ingest_batches(stub, "down", batches=4)
        assert len(accepted) == 200  # ACCEPTED = committed, NATS or not
        service.kill()
        await asyncio.to_thread(own_nats.start)
        await service.start()
        counts = await published_ids(own_nats.url, expected=200)
    finally:
        service.stop()
    assert set(counts) == set(accepted)
    assert max(counts.values()) == 1


async def test_killed_under_load_loses_nothing_and_duplicates_nothing(
    migrated_db: str, own_nats: EmbeddedNats
) -> None:
    service = IngestProcess(migrated_db, own_nats.url)
    acknowledged: list[str] = []
    try:
        stub = await service.start()
        load = asyncio.create_task(
            ingest_batches(stub, "load", batches=1000, size=20, accepted=acknowledged)
        )
        await wait_for(lambda: len(acknowledged) >= 200, what="200 acknowledged")
        service.kill()  # mid-load: batches committed, in flight, and waiting in the outbox
        with pytest.raises(grpc.aio.AioRpcError):
            await load
        stub = await service.start()
        await ingest_batches(stub, "after", batches=2, size=20, accepted=acknowledged)
        committed = await asyncio.to_thread(count_conversions, migrated_db)
        counts = await published_ids(own_nats.url, expected=committed)
    finally:
        service.stop()
    # Every committed conversion (acknowledged or caught in flight) is published exactly once.
    assert set(acknowledged) <= set(counts)
    assert len(counts) == committed
    assert max(counts.values()) == 1


def count_conversions(database_url: str) -> int:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM ingest.conversions")).scalar_one()
    engine.dispose()
    return int(n)
