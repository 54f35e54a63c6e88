"""dispatch-google against the Google simulator (OAuth, Data Manager, Ads API), a migrated
ledger, real NATS and PostgreSQL."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub.dispatch.v1 import dispatch_pb2_grpc
from convhub.events.v1 import events_pb2
from convhub_sim.google import GoogleSimulator
from dispatch_google.adapters.ads_client import AdsClient
from dispatch_google.adapters.dm_client import DataManagerClient
from dispatch_google.app.platform import GOOGLE_POLICY, GooglePlatform
from hubkit.auth import Scope, issue_token
from hubkit.dispatch import CredentialStore, DispatchPolicy
from hubkit.dispatch.google_credentials import GoogleCredentialFiles
from hubkit.dispatch.google_oauth import OAuthClient
from hubkit.dispatch.testing import (
    DispatchHarness,
    HarnessFactory,
    LedgerReads,
    dispatch_request,
    fast_policy,
    harnesses,
    migrated_engine,
)
from hubkit.dispatch.tokens import TokenProvider
from hubkit.grpcx import GrpcServer, ServiceInterceptor, auth_metadata, serving
from hubkit.vocabulary import Platform

SCHEMA = "dispatch_google"
CUSTOMER = "1234567890"
ACTION = f"customers/{CUSTOMER}/conversionActions/987654"
SECRET = "google-test-secret-" + "g" * 30
ADMIN = auth_metadata(issue_token(SECRET, subject="ops", sites=["*"], scopes=[Scope.ADMIN]))

FAST = fast_policy(GOOGLE_POLICY, max_retry_delay=2.0)


def requests(prefix: str, count: int, **fields: Any) -> list[events_pb2.DispatchRequested]:
    """Conversions for Google: hashed email and phone (Google's rules), a gclid, a value."""
    ads = fields.pop("ads", False)
    out = []
    for i in range(count):
        email = hashlib.sha256(f"{prefix}{i}@example.com".encode()).hexdigest()
        phone = hashlib.sha256(f"+4915112345{i:03d}".encode()).hexdigest()
        user = common_pb2.HashedUserData(
            google=common_pb2.HashedIdentifiers(email=email, phone=phone)
        )
        defaults: dict[str, Any] = {
            "platform": Platform.GOOGLE,
            "account_id": CUSTOMER,
            "credentials_ref": "g",
            "user_data": user,
            "value": "19.99",
            "currency": "EUR",
            "event_time": datetime.now(UTC) - timedelta(minutes=5),
            "click_ids": common_pb2.ClickIds(gclid=f"Cj0KCQ{prefix}{i}"),
        }
        request = dispatch_request(f"{prefix}{i}", **{**defaults, **fields})
        request.target.conversion_action = ACTION
        if ads:
            request.target.google_api = common_pb2.GOOGLE_API_ADS
        out.append(request)
    return out


@pytest.fixture
async def sim() -> AsyncIterator[GoogleSimulator]:
    simulator = GoogleSimulator(status_delay=0.3)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "credentials"
    directory.mkdir()
    creds = {
        "client_id": "100000000042-test.apps.googleusercontent.com",
        "client_secret": "test-secret",
        "refresh_token": "dev-refresh-token",
        "developer_token": "dev-developer-token",
    }
    (directory / "g").write_text(json.dumps(creds))
    return directory


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url, SCHEMA) as engine:
        yield engine


Factory = HarnessFactory


def platform_for(sim: GoogleSimulator, credentials_dir: Path, **overrides: Any) -> GooglePlatform:
    status_delay = overrides.pop("status_delay", 0.2)
    policy: DispatchPolicy = FAST.with_overrides(**overrides)
    credentials = GoogleCredentialFiles(CredentialStore(credentials_dir))
    oauth = OAuthClient(f"{sim.url}/token", credentials.credentials, timeout=5.0)
    return GooglePlatform(
        DataManagerClient(sim.url, timeout=5.0),
        AdsClient(sim.url, timeout=5.0),
        credentials,
        TokenProvider(oauth.fetch),
        policy,
        status_delay=status_delay,
        on_close=oauth.close,
    )


@pytest.fixture
async def dispatch(
    engine: AsyncEngine, js: JetStreamContext, sim: GoogleSimulator, credentials_dir: Path
) -> AsyncIterator[HarnessFactory]:
    """`await dispatch(**policy_overrides)`: a started harness on the real Google adapter."""

    def build(**overrides: Any) -> GooglePlatform:
        return platform_for(sim, credentials_dir, **overrides)

    async with harnesses(engine, js, SCHEMA, build, durable="dispatch-google") as make:
        yield make


@contextlib.asynccontextmanager
async def stub_of(
    harness: DispatchHarness,
) -> AsyncIterator[dispatch_pb2_grpc.DispatchServiceStub]:
    server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
    harness.servicer.register(server)
    async with serving(server) as port, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield dispatch_pb2_grpc.DispatchServiceStub(ch)


ledger = LedgerReads(SCHEMA)
statuses, settled, scalar, rows = ledger.statuses, ledger.settled, ledger.scalar, ledger.rows


def ingest_bodies(sim: GoogleSimulator) -> list[dict[str, Any]]:
    return [r.json() for r in sim.requests if r.path == "/v1/events:ingest"]


def upload_bodies(sim: GoogleSimulator) -> list[dict[str, Any]]:
    return [r.json() for r in sim.requests if r.path.endswith(":uploadClickConversions")]
