"""`convhub` as an operator runs it: the installed command, in a folder of a checkout whose
`.run/stack.json` names services the test started (as `make run` leaves it).

`checkout` is that folder with ingest (its webhook receiver on, secrets read from `credentials`,
HubSpot's CRM API the `hubspot` simulator) and the router, real and in-process on the suite's
PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from convhub_cli.stackfile import StackInfo
from convhub_sim.sources import HubSpotSimulator
from hubkit.db.migrations import upgrade
from hubkit.embedded import free_port
from ingest.adapters.orm import SCHEMA as INGEST_SCHEMA
from ingest.config import Settings as IngestSettings
from ingest.main import main as ingest_main
from ingest.migrate import MIGRATIONS as INGEST_MIGRATIONS
from router.config import Settings as RouterSettings
from router.main import main as router_main
from router.migrate import migrate as migrate_router
from tests.support import wait_serving

CONVHUB = str(Path(sys.executable).parent / "convhub")
SECRET = "cli-stack-test-secret-that-is-long-enough-for-hs256"
HUBSPOT_TOKEN = "pat-cli-test"


async def convhub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Exit status, stdout and stderr; no CONVHUB_* setting but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONVHUB_")}
    proc = await asyncio.create_subprocess_exec(
        CONVHUB,
        *args,
        cwd=cwd,
        env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def write_stack(checkout: Path, services: dict[str, str], webhooks: str = "") -> Path:
    path = checkout / ".run" / "stack.json"
    StackInfo(
        database_url="", nats_url="", jwt_secret=SECRET, services=services, webhooks=webhooks
    ).save(path)
    return path


def one_line(err: str) -> str:
    """The error, after checking it is a single line with no traceback."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


async def start(main: Callable[..., Awaitable[None]], settings: Any) -> tuple[Any, Any]:
    stop = asyncio.Event()
    task = asyncio.create_task(main(settings, stop))
    await wait_serving(
        f"127.0.0.1:{settings.grpc_port}", alive=lambda: task.result() if task.done() else None
    )
    return stop, task


@pytest.fixture
async def hubspot() -> AsyncIterator[HubSpotSimulator]:
    """The HubSpot CRM API the checkout's ingest reads deals from (token HUBSPOT_TOKEN)."""
    async with HubSpotSimulator(access_token=HUBSPOT_TOKEN) as simulator:
        yield simulator


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    """ingest's CONVHUB_CREDENTIALS_DIR: a test writes the secrets its sites name."""
    folder = tmp_path / "credentials"
    folder.mkdir()
    return folder


@pytest.fixture
async def checkout(
    database_url: str,
    nats_url: str,
    js: Any,
    tmp_path: Path,
    hubspot: HubSpotSimulator,
    credentials: Path,
) -> AsyncIterator[Path]:
    """A folder inside a checkout whose stack runs ingest and the router."""
    await asyncio.to_thread(upgrade, database_url, INGEST_MIGRATIONS, INGEST_SCHEMA)
    await asyncio.to_thread(migrate_router, database_url)
    common = {"database_url": database_url, "nats_url": nats_url, "jwt_secret": SECRET}
    common["shutdown_grace_seconds"] = 0.5
    webhook_port = free_port()
    ingest = IngestSettings(
        grpc_port=free_port(),
        webhook_port=webhook_port,
        credentials_dir=credentials,
        hubspot_api_url=hubspot.url,
        **common,
    )
    router = RouterSettings(grpc_port=free_port(), **common)
    running = [await start(ingest_main, ingest), await start(router_main, router)]
    write_stack(
        tmp_path,
        {"ingest": f"127.0.0.1:{ingest.grpc_port}", "router": f"127.0.0.1:{router.grpc_port}"},
        webhooks=f"http://127.0.0.1:{webhook_port}/webhooks",
    )
    subfolder = tmp_path / "docs"
    subfolder.mkdir()
    yield subfolder
    for stop, task in reversed(running):
        stop.set()
        await task
