"""kill -9 of `python -m dispatch_google.main` mid-batch: nothing lost, none counted twice, no
resend an adjustment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub_sim.google import GoogleSimulator
from hubkit.dispatch.testing import publish_requests
from hubkit.vocabulary import Platform
from tests.support import ServiceProcess, dispatcher_env, wait_for

from .conftest import requests, statuses

pytestmark = pytest.mark.slow
BATCH = 100


@pytest.fixture
def service(
    engine: AsyncEngine,  # migrated
    database_url: str,
    nats_url: str,
    sim: GoogleSimulator,
    credentials_dir: Path,
    tmp_path: Path,
) -> Iterator[ServiceProcess]:
    env = dispatcher_env(
        database_url,
        nats_url,
        credentials_dir,
        batch=BATCH,
        CONVHUB_GOOGLE_DATA_MANAGER_URL=sim.url,
        CONVHUB_GOOGLE_ADS_URL=sim.url,
        CONVHUB_GOOGLE_OAUTH_URL=f"{sim.url}/token",
        CONVHUB_GOOGLE_STATUS_DELAY_SECONDS="0.5",
    )
    svc = ServiceProcess("dispatch_google", env, tmp_path / "log")  # as Kubernetes runs it
    yield svc
    svc.stop()


def in_flight(sim: GoogleSimulator) -> bool:
    return any(r.status == 0 and r.path == "/v1/events:ingest" for r in sim.requests)


async def test_kill_9_mid_batch_loses_nothing_and_google_counts_each_event_once(
    service: ServiceProcess, sim: GoogleSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    sim.slow(0.4)  # every request takes a while: the kill lands while one is at Google
    total = 1500
    await service.start()
    await publish_requests(js, Platform.GOOGLE, requests("k", total), per_message=250)
    await wait_for(lambda: len(sim.conversions()) >= 3 * BATCH and in_flight(sim), what="mid-batch")
    service.kill()
    assert len(sim.conversions()) < total, "the kill must land before everything was delivered"

    await service.start()  # a new process, same ledger, same durable consumer
    await wait_for(lambda: len(sim.conversions()) == total, within=40, what="all delivered")
    await wait_for(lambda: _confirmed(engine, total), within=30, what="confirmed by statuses")
    ids = [e.transaction_id for e in sim.conversions()]
    assert sorted(ids) == sorted(f"order-k{i}" for i in range(total))
    # Only what was in flight at the kill went again, byte-identical: Google saw duplicates of
    # it, never an adjustment restating a conversion.
    assert len(sim.duplicates()) <= 2 * BATCH
    assert not sim.adjustments()


async def _confirmed(engine: AsyncEngine, total: int) -> bool:
    return await statuses(engine) == {"confirmed": total}
