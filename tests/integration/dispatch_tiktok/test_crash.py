"""kill -9 of `python -m dispatch_tiktok.main` mid-batch: nothing lost, none counted twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub_sim.tiktok import TikTokSimulator
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
    sim: TikTokSimulator,
    credentials_dir: Path,
    tmp_path: Path,
) -> Iterator[ServiceProcess]:
    env = dispatcher_env(
        database_url,
        nats_url,
        credentials_dir,
        batch=BATCH,
        CONVHUB_TIKTOK_API_URL=sim.url,
    )
    svc = ServiceProcess("dispatch_tiktok", env, tmp_path / "log")  # as Kubernetes runs it
    yield svc
    svc.stop()


def in_flight(sim: TikTokSimulator) -> bool:
    return any(r.status == 0 for r in sim.platform_requests())


async def test_kill_9_mid_batch_loses_nothing_and_tiktok_counts_each_event_once(
    service: ServiceProcess, sim: TikTokSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    sim.slow(0.4)  # every request takes a while: the kill lands while one is at TikTok
    total = 1500
    await service.start()
    await publish_requests(js, Platform.TIKTOK, requests("k", total), per_message=250)
    await wait_for(lambda: len(sim.processed()) >= 3 * BATCH and in_flight(sim), what="mid-batch")
    service.kill()
    assert len(sim.processed()) < total, "the kill must land before everything was delivered"

    await service.start()  # a new process, same ledger, same durable consumer
    await wait_for(lambda: len(sim.processed()) == total, within=40, what="all delivered")
    await wait_for(lambda: _confirmed(engine, total), within=20, what="ledger settled")
    keys = [(e.pixel, e.event, e.event_id) for e in sim.processed()]
    assert len(keys) == len(set(keys)) == total
    assert {k[2] for k in keys} == {f"evt-k{i}" for i in range(total)}
    # Only what was in flight at the kill went again, under the same key: TikTok deduped it.
    assert len(sim.duplicates()) <= 2 * BATCH


async def _confirmed(engine: AsyncEngine, total: int) -> bool:
    return await statuses(engine) == {"confirmed": total}
