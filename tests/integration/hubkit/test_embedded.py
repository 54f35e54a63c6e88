"""hubkit.embedded cannot be fooled: a server is started only when the child itself listens on
its port; a child that exited is never ready; a first start whose port was taken moves to a new
one; as root, PostgreSQL runs from a checkout in a private folder."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubkit import embedded
from hubkit.embedded import EmbeddedNats, EmbeddedPostgres, PortTaken, free_port

SERVERS = [EmbeddedNats, EmbeddedPostgres]


@pytest.fixture
def stranger() -> Iterator[int]:
    """Another process's listener on a loopback port: it accepts connections, it is not ours."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def answers(server: EmbeddedNats | EmbeddedPostgres) -> bool:
    if isinstance(server, EmbeddedPostgres):
        server.create_database("probe")  # raises unless PostgreSQL answers
        return True
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        return s.recv(4096).startswith(b"INFO ")  # what nats-server says first


@pytest.mark.parametrize("cls", SERVERS, ids=lambda c: c.name)
def test_a_stranger_on_a_given_port_is_never_taken_for_the_server(
    cls: type[EmbeddedNats | EmbeddedPostgres], stranger: int
) -> None:
    server = cls(port=stranger)
    try:
        with pytest.raises(PortTaken, match=str(stranger)):
            server.start(timeout=20)
        assert server.proc is not None and server.proc.poll() is not None
    finally:
        server.close()


@pytest.mark.parametrize("cls", SERVERS, ids=lambda c: c.name)
def test_a_first_start_that_lost_its_port_moves_to_a_new_one(
    cls: type[EmbeddedNats | EmbeddedPostgres], stranger: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = iter([stranger])  # the "free" port is taken before the child binds it
    monkeypatch.setattr(embedded, "free_port", lambda: next(ports, None) or free_port())
    with cls() as server:
        assert server.port != stranger and f":{server.port}" in server.url
        assert answers(server)


def test_a_killed_postgres_leaves_nothing_that_passes_for_ready(stranger: int) -> None:
    """After kill -9 its postmaster.pid still says "ready" on the port: a restart whose child
    could not bind (a stranger took the port) must fail, not return."""
    with EmbeddedPostgres() as server:
        server.kill()
        assert "ready" in (server.data / "postmaster.pid").read_text()
        with socket.socket() as s:
            s.bind(("127.0.0.1", server.port))
            s.listen()
            with pytest.raises(PortTaken):
                server.start(timeout=20)
        server.start()  # the port is back: the same URL works again
        assert answers(server)


def test_an_exited_child_is_never_ready(tmp_path: Path) -> None:
    class Quits(embedded._Process):
        name = "quits"

        def _command(self) -> list[str]:
            return [sys.executable, "-c", "raise SystemExit(3)"]

        def _listening(self, pid: int) -> bool:
            # A readiness sign that shows up just as the child dies (a stale file would).
            return self.proc is not None and self.proc.poll() is not None

    with pytest.raises(RuntimeError, match="exited with 3 before listening"):
        Quits(root=tmp_path).start(timeout=10)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_as_root_postgres_runs_from_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pgserver's binaries inside a 0700 folder (a checkout under /root or in `mktemp -d`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver._commands as pg

    site = Path(pg.POSTGRES_BIN_PATH).parents[2]  # .../site-packages
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    for part in ("pgserver/pginstall", "pgserver.libs"):
        if (site / part).exists():
            shutil.copytree(site / part, private / part, ignore=shutil.ignore_patterns("include"))
    monkeypatch.setattr(pg, "POSTGRES_BIN_PATH", str(private / "pgserver/pginstall/bin"))
    with EmbeddedPostgres() as server:
        assert answers(server)
        assert not server.bin.is_relative_to(private)
    assert private.stat().st_mode & 0o777 == 0o700  # left private
