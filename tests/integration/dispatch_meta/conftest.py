"""Fixtures of dispatch-meta's integration tests: the Meta simulator, a migrated ledger, and the
dispatch machinery wired to the real Meta adapter (short retry numbers so tests stay fast)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub_sim.meta import MetaSimulator
from dispatch_meta.adapters.credentials import MetaCredentialFiles
from dispatch_meta.adapters.graph_client import GraphEventsClient
from dispatch_meta.app.platform import META_POLICY, MetaPlatform
from hubkit.dispatch import CredentialStore
from hubkit.dispatch.testing import (
    DispatchHarness,
    HarnessFactory,
    LedgerReads,
    fast_policy,
    harnesses,
    migrated_engine,
)

SCHEMA = "dispatch_meta"
TOKEN = "EAAB-test-token-0123456789"
APP_SECRET = "app-secret-abcdef"

FAST = fast_policy(META_POLICY)


@pytest.fixture
async def sim() -> AsyncIterator[MetaSimulator]:
    simulator = MetaSimulator(tokens={TOKEN}, app_secrets={TOKEN: APP_SECRET})
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "meta-test").write_text(
        json.dumps({"access_token": TOKEN, "app_secret": APP_SECRET})
    )
    return directory


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url, SCHEMA) as engine:
        yield engine


Factory = HarnessFactory


@pytest.fixture
async def dispatch(
    engine: AsyncEngine, js: JetStreamContext, sim: MetaSimulator, credentials_dir: Path
) -> AsyncIterator[Factory]:
    """`await dispatch(**policy_overrides)`: a started harness on the real Meta adapter."""

    def build(**overrides: Any) -> MetaPlatform:
        transport = GraphEventsClient(sim.url, "v27.0", timeout=5.0)
        credentials = MetaCredentialFiles(CredentialStore(credentials_dir))
        return MetaPlatform(transport, credentials, FAST.with_overrides(**overrides))

    async with harnesses(engine, js, SCHEMA, build, durable="dispatch-meta") as make:
        yield make


statuses = LedgerReads(SCHEMA).statuses  # deliveries per status in the ledger


async def read_items(js: JetStreamContext, subject: str, batch_type: Any) -> list[Any]:
    """Every item of every batch message stored on `subject` so far (an ephemeral consumer)."""
    import nats.errors

    sub = await js.pull_subscribe(subject, durable=None)
    items: list[Any] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.3)
            except (TimeoutError, nats.errors.TimeoutError):
                return items
            for msg in msgs:
                items.extend(batch_type.FromString(msg.data).items)
                await msg.ack()
    finally:
        await sub.unsubscribe()


async def consumed(js: JetStreamContext, harness: DispatchHarness) -> bool:
    """True once the dispatcher's consumer has acked everything published so far."""
    info = await js.consumer_info(harness.spec.stream, harness.spec.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0
