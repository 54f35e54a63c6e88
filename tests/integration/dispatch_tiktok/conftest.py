"""dispatch-tiktok against the TikTok simulator, a migrated ledger, real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub_sim.tiktok import TikTokSimulator
from dispatch_tiktok.adapters.credentials import TikTokCredentialFiles
from dispatch_tiktok.adapters.track_client import TrackClient
from dispatch_tiktok.app.platform import TIKTOK_POLICY, TikTokPlatform
from hubkit.db import make_engine
from hubkit.dispatch import CredentialStore, DispatchPolicy, ledger_tables
from hubkit.dispatch.migrations import upgrade
from hubkit.dispatch.testing import DispatchHarness, dispatch_request
from hubkit.vocabulary import Platform

SCHEMA = "dispatch_tiktok"
TOKEN = "tt-test-token-0123456789"
PIXEL = "C4ABCDEFGHIJKLMN1234"

FAST = TIKTOK_POLICY.with_overrides(
    linger=0.2,
    retry_schedule=(0.05, 0.1, 0.2, 0.4),
    retry_jitter=0.1,
    max_retry_delay=2.0,
    breaker_open_seconds=1.0,
    resync_seconds=0.5,
    lease_seconds=5.0,
    drain_seconds=2.0,
    requests_per_second=200,
    burst=50,
)


def requests(prefix: str, count: int, **fields: Any) -> list[events_pb2.DispatchRequested]:
    out = []
    for i in range(count):
        email = hashlib.sha256(f"{prefix}{i}@example.com".encode()).hexdigest()
        phone = hashlib.sha256(f"+4915112345{i:03d}".encode()).hexdigest()
        user = common_pb2.HashedUserData(
            tiktok=common_pb2.HashedIdentifiers(email=email, phone=phone)
        )
        defaults: dict[str, Any] = {
            "platform": Platform.TIKTOK,
            "account_id": PIXEL,
            "credentials_ref": "tt",
            "user_data": user,
            "value": "19.99",
            "currency": "EUR",
            "event_time": datetime.now(UTC) - timedelta(minutes=1),
            "page_url": "https://shop.example/thanks",
        }
        out.append(dispatch_request(f"{prefix}{i}", **{**defaults, **fields}))
    return out


@pytest.fixture
async def sim() -> AsyncIterator[TikTokSimulator]:
    simulator = TikTokSimulator(tokens={TOKEN}, pixels={PIXEL})
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir()
    (directory / "tt").write_text(json.dumps({"access_token": TOKEN}))
    return directory


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, database_url, SCHEMA)
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


Factory = Callable[..., Awaitable[DispatchHarness]]


@pytest.fixture
async def dispatch(
    engine: AsyncEngine, js: JetStreamContext, sim: TikTokSimulator, credentials_dir: Path
) -> AsyncIterator[Factory]:
    """`await dispatch(**policy_overrides)`: a started harness on the real TikTok adapter."""
    started: list[DispatchHarness] = []

    async def make(**overrides: Any) -> DispatchHarness:
        policy: DispatchPolicy = FAST.with_overrides(**overrides)
        platform = TikTokPlatform(
            TrackClient(sim.url, timeout=5.0),
            TikTokCredentialFiles(CredentialStore(credentials_dir)),
            policy,
        )
        harness = DispatchHarness(
            platform, engine, js, ledger_tables(MetaData(), SCHEMA), durable="dispatch-tiktok"
        )
        await harness.start()
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.stop()
        await harness.adapter.close()


async def statuses(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT status, count(*) FROM {SCHEMA}.deliveries GROUP BY status")
        )
        return {status: count for status, count in rows}


async def settled(engine: AsyncEngine, expected: dict[str, int]) -> bool:
    return await statuses(engine) == expected


async def scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql.format(s=SCHEMA)))).scalar()
