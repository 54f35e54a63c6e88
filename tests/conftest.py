"""Suite-wide fixtures: real PostgreSQL and NATS JetStream, embedded, on free loopback ports.

One server of each per test session; every test gets its own database and a JetStream with no
streams left over from another test. Tests that kill or restart a server ask for their own.
"""

from __future__ import annotations

import os

# gRPC's fork handlers, on by default, can crash a child forked while gRPC threads run: as root,
# hubkit.embedded starts PostgreSQL with fork() (vfork is ruled out by the change of user), and
# about one restart in five of a server from a test that already used gRPC died with SIGSEGV
# before listening. Set before anything imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from hubkit.bus import connect
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def nats_server() -> Iterator[EmbeddedNats]:
    with EmbeddedNats() as server:
        yield server


@pytest.fixture
def database_url(postgres_server: EmbeddedPostgres) -> str:
    """A fresh, empty database for this test."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A private server this test may kill and restart."""
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture
def own_nats() -> Iterator[EmbeddedNats]:
    """A private server this test may kill and restart."""
    with EmbeddedNats() as server:
        yield server


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await connect(nats_url, name="tests")
    yield client
    js = client.jetstream()
    # Leave the shared server as we found it: no streams (KV buckets are streams too).
    for info in await js.streams_info():
        await js.delete_stream(info.config.name)
    await client.close()


@pytest.fixture
def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()
