"""Helpers the service tests share: a service as a real process, waiting for SERVING, and
waiting for a condition."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from hubkit.grpcx import check_health


async def wait_for(
    predicate: Callable[[], Any],
    within: float = 20.0,
    what: str = "condition",
    *,
    interval: float = 0.02,
) -> Any:
    """Poll `predicate` (sync or async) every `interval` seconds until it returns something
    true, and return that; fail after `within` seconds. The one wait helper of the suite."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {within}s")
        await asyncio.sleep(interval)


async def wait_serving(
    target: str, *, within: float = 60.0, alive: Callable[[], None] = lambda: None
) -> None:
    """Until `target` answers SERVING; `alive()` raises when the service died meanwhile."""

    async def serving() -> bool:
        alive()
        try:
            return await check_health(target, timeout=0.5) == "SERVING"
        except grpc.aio.AioRpcError:
            return False

    await wait_for(serving, within=within, what=f"{target} SERVING", interval=0.05)


class ServiceProcess:
    """A service as Kubernetes runs it: `python -m <package>.main`, configured by its env."""

    def __init__(self, package: str, env: dict[str, str], log: Path | None = None) -> None:
        self.package = package
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.env['CONVHUB_GRPC_PORT']}"

    async def start(self) -> None:
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"{self.package}.main"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        await wait_serving(self.address, alive=self._alive)

    def _alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.log.read_text()[-2000:] if self.log else ""
            raise AssertionError(f"{self.package} exited with {self.proc.returncode}: {tail}")

    def kill(self) -> None:
        """SIGKILL: no drain, no flush."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def dispatcher_env(
    database_url: str, nats_url: str, credentials_dir: Path, *, batch: int, **extra: str
) -> dict[str, str]:
    """A dispatcher process's environment for crash tests: embedded servers, no auth, small
    batches, short leases and quick retries; `extra` adds the platform's URLs and the rest."""
    from hubkit.embedded import free_port

    return {
        **os.environ,
        "CONVHUB_DATABASE_URL": database_url,
        "CONVHUB_NATS_URL": nats_url,
        "CONVHUB_GRPC_PORT": str(free_port()),
        "CONVHUB_DEV_NO_AUTH": "1",
        "CONVHUB_CREDENTIALS_DIR": str(credentials_dir),
        "CONVHUB_DISPATCH_BATCH_SIZE": str(batch),
        "CONVHUB_DISPATCH_LINGER_SECONDS": "0.05",
        "CONVHUB_DISPATCH_LEASE_SECONDS": "2",
        "CONVHUB_DISPATCH_RESYNC_SECONDS": "0.3",
        "CONVHUB_DISPATCH_MAX_IN_FLIGHT": "2",
        "CONVHUB_HTTP_TIMEOUT_SECONDS": "5",
        "OTEL_SDK_DISABLED": "true",
        "CONVHUB_LOG_LEVEL": "WARNING",
        **extra,
    }
