"""`convhub up` (what `make run` calls): the whole system on loopback, stopped cleanly by Ctrl-C.

Starts an embedded PostgreSQL and NATS JetStream (unless CONVHUB_DATABASE_URL / CONVHUB_NATS_URL
name real ones), declares the streams, migrates and starts every service that is installed, plus
the local platform simulators (all, none or some: `--simulators`; a platform left out keeps the
CONVHUB_*_URL variables the environment gives it), then waits. Everything listens on 127.0.0.1.
Services run as child processes exactly as they run in Kubernetes: `python -m <package>.main`,
configured only by environment variables.

One `convhub up` per folder: it holds `.run/up.lock` (its pid inside) while it runs, and a second
one finds it held, says where the first one is, and exits 1 without touching its stack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from convhub_cli import demo, sites
from convhub_cli.stackfile import DEFAULT_PATH as STACK_FILE
from convhub_cli.stackfile import StackInfo
from convhub_sim import REGISTRY as SIMULATORS
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, free_port

RUN_DIR = Path(".run")
EXPORT_DIR = RUN_DIR / "exports"
LOOPBACK = "127.0.0.1"


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
    p.add_argument(
        "--simulators",
        type=simulator_names,
        default="all",
        metavar="all|none|NAME,...",
        help=f"platform simulators to start and point the services at (default all: "
        f"{', '.join(sorted(SIMULATORS))}); the platforms left out keep the CONVHUB_*_URL "
        "variables of the environment (a real platform, with your credentials)",
    )
    p.set_defaults(func=run)


def simulator_names(value: str) -> list[str]:
    if value == "all":
        return sorted(SIMULATORS)
    if value == "none":
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SIMULATORS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no simulator {', '.join(unknown)}: use all, none or some of "
            f"{', '.join(sorted(SIMULATORS))}"
        )
    return names


def run(args: argparse.Namespace) -> int:
    RUN_DIR.mkdir(exist_ok=True)
    lock = _claim(RUN_DIR)
    if lock is None:
        return 1
    with lock, contextlib.ExitStack() as stack:
        try:
            return _up(args, stack)
        except KeyboardInterrupt:
            _stopping("\ninterrupted while starting: stopping what started ...")
            return 130


def _up(args: argparse.Namespace, stack: contextlib.ExitStack) -> int:
    print(f"starting convhub (logs in {RUN_DIR}/)", flush=True)
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
        "CONVHUB_GRPC_HOST": LOOPBACK,  # the local stack is reachable from this machine only
        "PYTHONUNBUFFERED": "1",
        # Google's request statuses after seconds, not the real 30 minutes: the demo
        # shows Data Manager deliveries going from SENT to CONFIRMED.
        "CONVHUB_GOOGLE_STATUS_DELAY_SECONDS": "5",
    }
    # --- dispatchers, ingest and attribution: development credentials, one file per reference
    # (as a Kubernetes Secret volume mounts them); the demo sites name these references.
    # attribution's spend sync reads the ad accounts with the dispatchers' references, from
    # the same folder, at the same simulator URLs (base_env carries both to every service) ---
    credentials_dir = (RUN_DIR / "credentials").resolve()
    credentials_dir.mkdir(mode=0o700, exist_ok=True)
    for ref, content in {
        "demo-meta": '{"access_token": "dev-meta-token"}',
        "demo-tiktok": '{"access_token": "dev-tiktok-token"}',
        # The Google simulator takes any "dev-" refresh token.
        "demo-google": '{"client_id": "100000000001-demo.apps.googleusercontent.com",'
        ' "client_secret": "dev-google-secret", "refresh_token": "dev-google-refresh"}',
        # ingest: the webhook secrets of the demo sources and the HubSpot simulator's token.
        **sites.DEMO_SOURCE_SECRETS,
        sites.DEMO_HUBSPOT_TOKEN_REF: sites.DEMO_HUBSPOT_TOKEN,
    }.items():
        (credentials_dir / ref).write_text(content + "\n")
        (credentials_dir / ref).chmod(0o600)
    base_env["CONVHUB_CREDENTIALS_DIR"] = str(credentials_dir)
    # --- end of the dispatchers block ---
    children = stack.enter_context(_Children())
    for name in args.simulators:
        _, urls = SIMULATORS[name]
        port = free_port()
        children.start(
            f"sim-{name}",
            [sys.executable, "-m", "convhub_sim", name, "--port", str(port)],
            base_env,
        )
        info.simulators[name] = url = f"http://{LOOPBACK}:{port}"
        base_env.update({variable: url + path for variable, path in urls.items()})
        _step(f"{name} sim", f"started on {url}")
    for spec in (s for s in SERVICES if s.installed()):
        env = {**base_env, "OTEL_SERVICE_NAME": spec.name}
        if spec.migrates():
            _migrate(spec, env)
        port = free_port()
        env["CONVHUB_GRPC_PORT"] = str(port)
        if spec.name == "ingest":  # its webhook receiver (HTTP), beside gRPC
            webhook_port = free_port()
            env["CONVHUB_WEBHOOK_PORT"] = str(webhook_port)
            info.webhooks = f"http://{LOOPBACK}:{webhook_port}/webhooks"
        if spec.name == "attribution":
            if "ingest" in info.services:  # the reconcile job reads what ingest accepted
                env["CONVHUB_INGEST_ADDRESS"] = info.services["ingest"]
            env["CONVHUB_EXPORT_DIR"] = str(EXPORT_DIR.resolve())  # the export job's CSV files
        pid = children.start(spec.name, [sys.executable, "-m", f"{spec.package}.main"], env)
        info.services[spec.name] = f"{LOOPBACK}:{port}"
        _step(spec.name, f"{'migrated, ' if spec.migrates() else ''}started (pid {pid})")
    _wait_healthy(info, children)
    # --- router: demo site configurations (convhub_cli.sites), before any demo traffic ---
    if "router" in info.services:
        sites.upsert_demo_sites(info, [s.name for s in SERVICES if s.installed()])
    # --- end of the router block ---
    # Written once everything is healthy and configured: its presence means "ready". Ours to
    # delete at the end: we hold the lock.
    info.save(STACK_FILE)
    stack.callback(lambda: STACK_FILE.unlink(missing_ok=True))
    _print_banner(info, base_env, args.simulators)
    demo_stop = threading.Event()
    stack.callback(demo_stop.set)
    if "ingest" in info.services and not args.no_demo:
        demo.start(info, demo_stop)
    code = _wait(children, args.exit_after)
    demo_stop.set()  # before anything else is printed: the demo's line is done
    _stopping("\nstopping convhub ...")
    return code


def _claim(run_dir: Path) -> IO[str] | None:
    """Hold run_dir/up.lock, our pid inside, while we run; None (and why, printed) when another
    `convhub up` holds it. The OS lets go of the lock when its holder ends, however it ends, so a
    leftover file from a killed run never blocks a new start."""
    lock = open(run_dir / "up.lock", "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "?"
        lock.close()
        _already_running(owner)
        return None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def _already_running(owner: str) -> None:
    where = STACK_FILE.resolve()
    info = StackInfo.load(STACK_FILE) if STACK_FILE.is_file() else None
    err = sys.stderr
    print(f"convhub up: a stack is already running from this folder (pid {owner})", file=err)
    if info is None:
        print(f"  it is still starting; {where} appears once it is up", file=err)
    else:
        print(f"  stack file: {where}", file=err)
        for name, address in info.services.items():
            print(f"  {name:<16} grpc {address}", file=err)
    print(f"  use it as it is, or stop it first (Ctrl-C where it runs, or kill {owner})", file=err)


def _step(name: str, what: str) -> None:
    print(f"  {name:<16} {what}", flush=True)


def _embedded(stack: contextlib.ExitStack, cls: type[EmbeddedPostgres] | type[EmbeddedNats]) -> str:
    started = time.monotonic()
    server = cls()
    server.start()

    assert server.proc is not None
    pid = server.proc.pid

    def stop() -> None:
        server.close()
        _step(server.name, f"stopped (pid {pid})")

    stack.callback(stop)
    _step(
        server.name,
        f"{server.url} (embedded, pid {pid}, ready in {time.monotonic() - started:.1f} s)",
    )
    return server.url


def _migrate(spec: ServiceSpec, env: dict[str, str]) -> None:
    log = RUN_DIR / f"{spec.name}.log"
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", f"{spec.package}.migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise SystemExit(f"migrating {spec.name} failed (exit {done.returncode}); see {log}")


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

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> int:
        log = open(RUN_DIR / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child's lifetime
        self.procs[name] = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.procs[name].pid

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
                _step(name, "did not drain in 20 s: killed")
                proc.kill()
                proc.wait()
            graceful = proc.returncode in (0, -signal.SIGTERM)
            _step(
                name, f"stopped (pid {proc.pid}{'' if graceful else f', exit {proc.returncode}'})"
            )


def _wait_healthy(info: StackInfo, children: _Children, timeout: float = 60.0) -> None:
    """Wait until every service answers SERVING, naming each as it does."""
    from hubkit.grpcx import check_health

    async def statuses() -> dict[str, object]:
        answers = await asyncio.gather(
            *(check_health(a, timeout=1.0) for a in info.services.values()), return_exceptions=True
        )
        return dict(zip(info.services, answers, strict=True))

    print(f"  {'health':<16} waiting for {len(info.services)} services:", end="", flush=True)
    started = time.monotonic()
    serving: set[str] = set()
    while time.monotonic() < started + timeout:
        crashed = list(children.exited())
        if crashed:
            print(flush=True)
            raise SystemExit(f"service(s) exited at start: {crashed}; see {RUN_DIR}/<name>.log")
        for name, status in asyncio.run(statuses()).items():
            if status == "SERVING" and name not in serving:
                serving.add(name)
                print(f" {name}", end="", flush=True)
        if len(serving) == len(info.services):
            print(f" (all serving in {time.monotonic() - started:.1f} s)", flush=True)
            return
        time.sleep(0.3)
    print(flush=True)
    raise SystemExit(f"services not healthy after {timeout}s; see {RUN_DIR}/<name>.log")


def convhub_command() -> str:
    """How to type this convhub: `convhub` when the shell finds this one, else its path (relative
    to the working folder when inside it)."""
    exe = Path(sys.executable).parent / "convhub"
    found = shutil.which("convhub")
    if found and Path(found).resolve() == exe.resolve():
        return "convhub"
    with contextlib.suppress(ValueError):
        return str(exe.relative_to(Path.cwd()))
    return str(exe)


def _print_banner(info: StackInfo, env: dict[str, str], simulated: list[str]) -> None:
    print(f"\nconvhub is up on {LOOPBACK} (pid {os.getpid()}, {STACK_FILE.resolve()})", flush=True)
    print(f"  {'postgres':<16} {info.database_url}")
    print(f"  {'nats':<16} {info.nats_url}")
    for name, address in info.services.items():
        print(f"  {name:<16} grpc {address:<21} log: {RUN_DIR}/{name}.log")
    if info.webhooks:
        print(f"  {'webhooks':<16} {info.webhooks}/<shopify|woocommerce|hubspot>/<site_id>")
    if "attribution" in info.services:
        print(f"  {'exports':<16} {EXPORT_DIR}/<site_id>/ (the attribution export job's files)")
    for name, url in info.simulators.items():
        print(f"  {name + ' sim':<16} {url}")
    for name, (_, urls) in SIMULATORS.items():
        if name not in simulated:
            given = [f"{v}={env[v]}" for v in urls if env.get(v)]
            print(f"  {name:<16} not simulated: {', '.join(given) or 'the platform itself'}")
    if not info.services:
        print("  (no services installed yet)")
    cmd = convhub_command()
    print(f"\nTry (from this folder; `{cmd} --help` lists every command):")
    print(f"  {cmd} health")
    print(f"  {cmd} send --site demo-direct --order-id o-1 --value 9.99 --currency EUR")
    print(f"  {cmd} status <conversion_id>")
    print(f"  {cmd} sites list")
    print(f"  {cmd} sources                  # webhooks from Shopify, WooCommerce and HubSpot")
    if "attribution" in info.services:
        print(f"  {cmd} attribution roas --site demo-direct --by campaign")
        print(f"  {cmd} attribution jobs         # the scheduled jobs' last runs")
    print(f"  {cmd} dlq list")
    print("Ctrl-C stops everything.\n", flush=True)


def _wait(children: _Children, exit_after: float | None) -> int:
    stop = {"requested": False}

    def request_stop(*_: object) -> None:
        stop["requested"] = True

    def hung_up(*_: object) -> None:
        # The terminal is gone (its window closed): stop everything as Ctrl-C does, silently,
        # so no embedded server outlives the stack.
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the run
        request_stop()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, hung_up)
    deadline = time.monotonic() + exit_after if exit_after is not None else None
    try:
        while not stop["requested"]:
            crashed = list(children.exited())
            if crashed:
                print(f"\nservice(s) exited: {crashed}; see {RUN_DIR}/<name>.log", flush=True)
                return 1
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0


def _stopping(message: str) -> None:
    """From here on the stack only stops: a second Ctrl-C must not cut its cleanup short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    print(message, flush=True)
