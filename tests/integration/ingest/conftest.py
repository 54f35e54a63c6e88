"""An ingest service running in-process against the suite's real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest

from convhub.ingest.v1 import ingest_pb2_grpc
from hubkit.auth import Scope, issue_token
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from hubkit.grpcx import auth_metadata
from ingest.adapters.orm import SCHEMA
from ingest.config import Settings
from ingest.main import main
from ingest.migrate import MIGRATIONS
from tests.support import wait_serving

SECRET = "test-secret-that-is-long-enough-for-hs256!"


def token(sites: list[str], scopes: list[Scope] | None = None) -> tuple[tuple[str, str], ...]:
    return auth_metadata(
        issue_token(
            SECRET, subject="tests", sites=sites, scopes=scopes or [Scope.INGEST, Scope.READ]
        )
    )


@dataclass
class RunningIngest:
    settings: Settings
    stub: ingest_pb2_grpc.IngestServiceStub
    stop: asyncio.Event
    task: asyncio.Task[None]


async def start_ingest(settings: Settings) -> RunningIngest:
    stop = asyncio.Event()
    task = asyncio.create_task(main(settings, stop))
    target = f"127.0.0.1:{settings.grpc_port}"
    await wait_serving(target, alive=lambda: task.result() if task.done() else None)
    channel = grpc.aio.insecure_channel(target)
    return RunningIngest(settings, ingest_pb2_grpc.IngestServiceStub(channel), stop, task)


def ingest_settings(database_url: str, nats_url: str, **overrides: object) -> Settings:
    base = Settings(
        database_url=database_url,
        nats_url=nats_url,
        grpc_port=free_port(),
        jwt_secret=SECRET,
        shutdown_grace_seconds=0.5,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def migrated_db(database_url: str) -> str:
    await asyncio.to_thread(upgrade, database_url, MIGRATIONS, SCHEMA)
    return database_url


@pytest.fixture
async def ingest_service(migrated_db: str, nats_url: str, js) -> AsyncIterator[RunningIngest]:  # type: ignore[no-untyped-def]
    running = await start_ingest(ingest_settings(migrated_db, nats_url))
    yield running
    running.stop.set()
    await running.task
