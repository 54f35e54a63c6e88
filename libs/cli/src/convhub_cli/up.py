"""`convhub up` (what `make run` calls): the whole system on loopback, stopped cleanly by Ctrl-C.

Starts an embedded PostgreSQL and NATS JetStream (unless CONVHUB_DATABASE_URL / CONVHUB_NATS_URL
name real ones), declares the streams, migrates and starts every service that is installed, plus
the local platform simulators, then waits. Services run as child processes exactly as they run in
Kubernetes: `python -m <package>.main`, configured only by environment variables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from convhub_cli import demo, sites
from convhub_cli.stackfile import StackInfo
from convhub_sim import REGISTRY as SIMULATORS
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, free_port

RUN_DIR = Path(".run")


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # the deployable's name everywhere (k8s, OTel service.name, NATS durable)
    package: str  # its Python package: `python -m <package>.main`, `python -m <package>.migrate`

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None

    def migrates(self) -> bool:
        return importlib.util.find_spec(f"{self.package}.migrate") is not None


SERVICES = (
    ServiceSpec("ingest", "ingest"),
    ServiceSpec("router", "router"),
    ServiceSpec("dispatch-google", "dispatch_google"),
    ServiceSpec("dispatch-meta", "dispatch_meta"),
    ServiceSpec("dispatch-tiktok", "dispatch_tiktok"),
    ServiceSpec("attribution", "attribution"),
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="run the whole system locally (what `make run` does)")
    p.add_argument(
        "--exit-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop by itself after this long (for smoke tests)",
    )
    p.add_argument(
        "--no-demo",
        action="store_true",
        help="send no demo conversions (they show the flow end to end)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("CONVHUB_DATABASE_URL") or _embedded(stack, EmbeddedPostgres)
        nats_url = os.environ.get("CONVHUB_NATS_URL") or _embedded(stack, EmbeddedNats)
        info = StackInfo(
            database_url=database_url, nats_url=nats_url, jwt_secret=secrets.token_urlsafe(48)
        )
        asyncio.run(_declare_topology(nats_url))
        base_env = {
            **os.environ,
            "CONVHUB_DATABASE_URL": database_url,
            "CONVHUB_NATS_URL": nats_url,
            "CONVHUB_JWT_SECRET": info.jwt_secret,
            "PYTHONUNBUFFERED": "1",
            # Google's request statuses after seconds, not the real 30 minutes: the demo
            # shows Data Manager deliveries going from SENT to CONFIRMED.
            "CONVHUB_GOOGLE_STATUS_DELAY_SECONDS": "5",
        }
        # --- dispatchers: development credentials, one file per reference (as a Kubernetes
        # Secret volume mounts them); the demo sites name these references ---
        credentials_dir = (RUN_DIR / "credentials").resolve()
        credentials_dir.mkdir(mode=0o700, exist_ok=True)
        for ref, content in {
            "demo-meta": '{"access_token": "dev-meta-token"}',
            "demo-tiktok": '{"access_token": "dev-tiktok-token"}',
            # The Google simulator takes any "dev-" refresh token.
            "demo-google": '{"client_id": "100000000001-demo.apps.googleusercontent.com",'
            ' "client_secret": "dev-google-secret", "refresh_token": "dev-google-refresh"}',
        }.items():
            (credentials_dir / ref).write_text(content + "\n")
            (credentials_dir / ref).chmod(0o600)
        base_env["CONVHUB_CREDENTIALS_DIR"] = str(credentials_dir)
        # --- end of the dispatchers block ---
        children = stack.enter_context(_Children())
        for name, (_, urls) in SIMULATORS.items():
            port = free_port()
            children.start(
                f"sim-{name}",
                [sys.executable, "-m", "convhub_sim", name, "--port", str(port)],
                base_env,
            )
            info.simulators[name] = url = f"http://127.0.0.1:{port}"
            base_env.update({variable: url + path for variable, path in urls.items()})
        for spec in (s for s in SERVICES if s.installed()):
            env = {**base_env, "OTEL_SERVICE_NAME": spec.name}
            if spec.migrates():
                subprocess.run(
                    [sys.executable, "-m", f"{spec.package}.migrate"], env=env, check=True
                )
            port = free_port()
            env["CONVHUB_GRPC_PORT"] = str(port)
            children.start(spec.name, [sys.executable, "-m", f"{spec.package}.main"], env)
            info.services[spec.name] = f"127.0.0.1:{port}"
        _wait_healthy(info, children)
        # --- router: demo site configurations (convhub_cli.sites), before any demo traffic ---
        if "router" in info.services:
            sites.upsert_demo_sites(info, [s.name for s in SERVICES if s.installed()])
        # --- end of the router block ---
        # Written once everything is healthy and configured: its presence means "ready".
        info.save()
        stack.callback(lambda: RUN_DIR.joinpath("stack.json").unlink(missing_ok=True))
        _print_banner(info)
        demo_stop = threading.Event()
        stack.callback(demo_stop.set)
        if "ingest" in info.services and not args.no_demo:
            demo.start(info, demo_stop)
        return _wait(children, args.exit_after)


def _embedded(stack: contextlib.ExitStack, cls: type[EmbeddedPostgres] | type[EmbeddedNats]) -> str:
    server = cls()
    server.start()
    stack.callback(server.close)
    print(f"  started embedded {server.name} on {server.url}", flush=True)
    return server.url


async def _declare_topology(nats_url: str) -> None:
    from hubkit.bus import SITES_BUCKET, connect, ensure_kv, ensure_streams

    nc = await connect(nats_url, name="convhub-up")
    js = nc.jetstream()
    await ensure_streams(js)
    await ensure_kv(js, SITES_BUCKET)
    await nc.drain()


class _Children:
    """Child processes, stopped in reverse start order with SIGTERM (their graceful drain)."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = open(RUN_DIR / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child's lifetime
        self.procs[name] = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def exited(self) -> Iterator[tuple[str, int]]:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                yield name, proc.returncode

    def __enter__(self) -> _Children:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs.items()):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                print(f"  {name} did not drain in 20 s: killed", flush=True)
                proc.kill()
            print(f"  stopped {name}", flush=True)


def _wait_healthy(info: StackInfo, children: _Children, timeout: float = 60.0) -> None:
    from hubkit.grpcx import check_health

    async def all_serving() -> bool:
        statuses = await asyncio.gather(
            *(check_health(a, timeout=1.0) for a in info.services.values()), return_exceptions=True
        )
        return all(s == "SERVING" for s in statuses)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crashed = list(children.exited())
        if crashed:
            raise SystemExit(f"service(s) exited at start: {crashed}; see {RUN_DIR}/<name>.log")
        if asyncio.run(all_serving()):
            return
        time.sleep(0.3)
    raise SystemExit(f"services not healthy after {timeout}s; see {RUN_DIR}/<name>.log")


def _print_banner(info: StackInfo) -> None:
    print("\nconvhub is up", flush=True)
    print(f"  {'postgres':<16} {info.database_url}")
    print(f"  {'nats':<16} {info.nats_url}")
    for name, address in info.services.items():
        print(f"  {name:<16} grpc {address:<21} log: {RUN_DIR}/{name}.log")
    for name, url in info.simulators.items():
        print(f"  {name + ' sim':<16} {url}")
    if not info.services:
        print("  (no services installed yet)")
    print(f"\n  ({Path(sys.executable).parent / 'convhub'} is the convhub command)")
    print("  convhub health          check every service")
    print("  convhub token           mint a JWT for this stack")
    print("  convhub send --site demo-direct --order-id o-1 --value 9.99 --currency EUR")
    print("  convhub status <conversion_id>    convhub sites list    convhub dlq list")
    print("Ctrl-C stops everything.\n", flush=True)


def _wait(children: _Children, exit_after: float | None) -> int:
    stop = {"requested": False}

    def request_stop(*_: object) -> None:
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    deadline = time.monotonic() + exit_after if exit_after is not None else None
    try:
        while not stop["requested"]:
            crashed = list(children.exited())
            if crashed:
                print(f"service(s) exited: {crashed}; stopping the stack", flush=True)
                return 1
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    print("\nstopping convhub ...", flush=True)
    return 0
