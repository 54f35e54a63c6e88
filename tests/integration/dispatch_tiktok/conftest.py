"""dispatch-tiktok against the TikTok simulator, a migrated ledger, real NATS and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.events.v1 import events_pb2
from convhub_sim.tiktok import TikTokSimulator
from dispatch_tiktok.adapters.credentials import TikTokCredentialFiles
from dispatch_tiktok.adapters.track_client import TrackClient
from dispatch_tiktok.app.platform import TIKTOK_POLICY, TikTokPlatform
from hubkit.dispatch import CredentialStore
from hubkit.dispatch.testing import (
    HarnessFactory,
    LedgerReads,
    dispatch_request,
    fast_policy,
    harnesses,
    migrated_engine,
)
from hubkit.vocabulary import Platform

SCHEMA = "dispatch_tiktok"
TOKEN = "tt-test-token-0123456789"
PIXEL = "C4ABCDEFGHIJKLMN1234"

FAST = fast_policy(TIKTOK_POLICY, max_retry_delay=2.0)


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
    async with migrated_engine(database_url, SCHEMA) as engine:
        yield engine


Factory = HarnessFactory


@pytest.fixture
async def dispatch(
    engine: AsyncEngine, js: JetStreamContext, sim: TikTokSimulator, credentials_dir: Path
) -> AsyncIterator[Factory]:
    """`await dispatch(**policy_overrides)`: a started harness on the real TikTok adapter."""

    def build(**overrides: Any) -> TikTokPlatform:
        return TikTokPlatform(
            TrackClient(sim.url, timeout=5.0),
            TikTokCredentialFiles(CredentialStore(credentials_dir)),
            FAST.with_overrides(**overrides),
        )

    async with harnesses(engine, js, SCHEMA, build, durable="dispatch-tiktok") as make:
        yield make


ledger = LedgerReads(SCHEMA)
statuses, settled, scalar = ledger.statuses, ledger.settled, ledger.scalar
