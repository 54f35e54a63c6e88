"""kill -9 of `python -m dispatch_meta.main` mid-batch: nothing lost, nothing counted twice."""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub_sim.meta import MetaSimulator
from hubkit.dispatch import Platform
from hubkit.dispatch.testing import dispatch_request, publish_requests
from tests.support import ServiceProcess, dispatcher_env, wait_for

from .conftest import statuses

pytestmark = pytest.mark.slow
BATCH = 100


def service_env(
    database_url: str, nats_url: str, graph_url: str, credentials_dir: Path
) -> dict[str, str]:
    return dispatcher_env(
        database_url,
        nats_url,
        credentials_dir,
        batch=BATCH,
        CONVHUB_META_GRAPH_URL=graph_url,
        CONVHUB_DISPATCH_RETRY_SCHEDULE="0.1,0.2,0.4,0.8,1.6",
        CONVHUB_DISPATCH_DRAIN_SECONDS="3",
    )


class Service(ServiceProcess):
    """The dispatcher as Kubernetes runs it, with the exit code of a signal."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__("dispatch_meta", env, log)

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(15)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def service(
    engine: AsyncEngine,  # migrated
    database_url: str,
    nats_url: str,
    sim: MetaSimulator,
    credentials_dir: Path,
    tmp_path: Path,
) -> Iterator[Service]:
    svc = Service(service_env(database_url, nats_url, sim.url, credentials_dir), tmp_path / "log")
    yield svc
    svc.close()


def in_flight(sim: MetaSimulator) -> bool:
    """A request is at Meta and not answered yet."""
    return any(r.status == 0 for r in sim.platform_requests())


async def test_kill_9_mid_batch_loses_nothing_and_meta_counts_each_event_once(
    service: Service, sim: MetaSimulator, engine: AsyncEngine, js: JetStreamContext
) -> None:
    sim.slow(0.4)  # every request takes a while: the kill lands while one is at Meta
    digest = hashlib.sha256(b"someone@example.com").hexdigest()
    user = common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))
    total = 1500
    requests = [
        dispatch_request(f"k{i}", user_data=user, action_source=7, value="19.99", currency="EUR")
        for i in range(total)
    ]

    await service.start()
    await publish_requests(js, Platform.META, requests, per_message=250)
    await wait_for(lambda: len(sim.processed()) >= 3 * BATCH and in_flight(sim), what="mid-batch")
    assert service.signal(signal.SIGKILL) == -signal.SIGKILL
    killed_at = len(sim.processed())
    assert killed_at < total, "the kill must land before everything was delivered"

    await service.start()  # a new process, same ledger, same durable consumer
    await wait_for(lambda: len(sim.processed()) == total, within=40, what="all delivered")

    async def confirmed() -> bool:
        return await statuses(engine) == {"confirmed": total}

    await wait_for(confirmed, within=20, what="ledger settled")
    keys = [(e.pixel_id, e.event_name, e.event_id) for e in sim.processed()]
    assert len(keys) == len(set(keys)) == total
    assert {k[2] for k in keys} == {f"evt-k{i}" for i in range(total)}
    # Only what was in flight at the kill may have been sent again, under the same key, and
    # Meta's dedupe discarded it.
    again = sim.duplicates()
    assert len(again) <= 2 * BATCH
    assert {(e.event_name, e.event_id) for e in again} <= {(k[1], k[2]) for k in keys}

    # SIGTERM is the graceful path: drain and exit cleanly.
    assert service.signal(signal.SIGTERM) == 0
