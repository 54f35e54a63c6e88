"""`make run` end to end: `convhub up` brings the whole system up, conversions flow to every
destination of the demo sites, and Ctrl-C brings everything down."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from pathlib import Path

import grpc
import pytest

from convhub.common.v1 import common_pb2
from convhub.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from convhub_cli.demo import _conversion
from convhub_cli.stackfile import StackInfo
from hubkit.auth import Scope, issue_token
from hubkit.grpcx import auth_metadata

pytestmark = pytest.mark.slow
CONVHUB = str(Path(sys.executable).parent / "convhub")
CONFIRMED = common_pb2.DELIVERY_STATUS_CONFIRMED


async def read_until(stream: asyncio.StreamReader, marker: str, within: float) -> str:
    seen = ""
    deadline = time.monotonic() + within
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in time; output so far:\n{seen}"
        line = await asyncio.wait_for(stream.readline(), remaining)
        assert line, f"convhub up ended early; output:\n{seen}"
        seen += line.decode()
    return seen


def listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


async def test_stack_flows_end_to_end_and_stops_cleanly(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        CONVHUB,
        "up",
        "--no-demo",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        banner = await read_until(proc.stdout, "Ctrl-C stops everything", within=120)
        assert "demo-direct" in banner and "demo-sgtm" in banner
        info = StackInfo.load(tmp_path / ".run" / "stack.json")
        assert info is not None and {"ingest", "router", "dispatch-meta"} <= set(info.services)
        metadata = auth_metadata(
            issue_token(info.jwt_secret, subject="e2e", sites=["*"], scopes=list(Scope))
        )
        async with grpc.aio.insecure_channel(info.services["ingest"]) as channel:
            stub = ingest_pb2_grpc.IngestServiceStub(channel)
            batch = [
                _conversion(site, n)
                for n, site in enumerate(["demo-direct", "demo-sgtm"] * 3, start=1)
            ]
            results = (
                await stub.IngestBatch(
                    ingest_pb2.IngestBatchRequest(conversions=batch), metadata=metadata
                )
            ).results
            assert all(r.status == ingest_pb2.INGEST_STATUS_ACCEPTED for r in results)

            async def delivered(conversion_id: str) -> ingest_pb2.GetConversionResponse | None:
                got = await stub.GetConversion(
                    ingest_pb2.GetConversionRequest(conversion_id=conversion_id), metadata=metadata
                )
                done = (
                    got.routing.routed
                    and got.deliveries
                    and all(d.status == CONFIRMED for d in got.deliveries)
                )
                return got if done else None

            for r in results:
                deadline = time.monotonic() + 60
                while (got := await delivered(r.conversion_id)) is None:
                    assert time.monotonic() < deadline, f"{r.conversion_id} not delivered"
                    await asyncio.sleep(0.2)
                platforms = {d.destination.platform for d in got.deliveries}
                expected = (
                    {common_pb2.PLATFORM_SGTM}
                    if got.conversion.site_id == "demo-sgtm"
                    else {common_pb2.PLATFORM_META}
                )
                assert expected <= platforms
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in `make run` sends
        code = await asyncio.wait_for(proc.wait(), 90)
    assert code == 0
    assert not any(listening(a) for a in info.services.values())
    assert not (tmp_path / ".run" / "stack.json").exists()
