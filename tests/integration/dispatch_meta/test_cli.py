"""`convhub dlq list|replay` and `convhub delivery` against a running DispatchService."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from convhub.common.v1 import common_pb2
from convhub_cli.main import main
from convhub_sim.meta import MetaSimulator
from hubkit.dispatch.testing import dispatch_request
from hubkit.grpcx import GrpcServer, ServiceInterceptor, serving
from tests.support import wait_for

from .conftest import Factory, statuses

SECRET = "cli-secret-" + "x" * 32


async def convhub(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_operator_commands(
    dispatch: Factory,
    sim: MetaSimulator,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim.server_error(1)
    harness = await dispatch(linger=0.05, breaker_failures=50, retry_horizon=0.01)
    digest = hashlib.sha256(b"a@b.c").hexdigest()
    user = common_pb2.HashedUserData(meta=common_pb2.HashedIdentifiers(email=digest))
    await harness.publish(
        [
            dispatch_request(f"x{i}", user_data=user, action_source=7, value="9.99", currency="EUR")
            for i in range(3)
        ]
    )

    async def dead() -> bool:
        return await statuses(engine) == {"dead": 3}

    await wait_for(dead, what="three dead letters")

    server = GrpcServer(0, "127.0.0.1", interceptors=[ServiceInterceptor(SECRET)])
    harness.servicer.register(server)
    async with serving(server) as port:
        monkeypatch.setenv("CONVHUB_DISPATCH_META_ADDR", f"127.0.0.1:{port}")
        monkeypatch.setenv("CONVHUB_JWT_SECRET", SECRET)
        capsys.readouterr()

        assert await convhub("dlq", "list", "--platform", "meta") == 0
        listing = capsys.readouterr().out
        assert listing.count("passed after 1 failed attempt(s), last: transient 2") == 3

        assert await convhub("dlq", "replay", "--platform", "meta") == 2
        assert "say what to replay" in capsys.readouterr().err
        assert await convhub("dlq", "replay", "--platform", "meta", "--all", "--dry-run") == 0
        assert "matched 3 (dry run" in capsys.readouterr().out
        code = await convhub(
            "dlq", "replay", "--platform", "meta", "--error-class", "transient", "--site", "shop"
        )
        assert code == 0 and "matched 3, replayed 3" in capsys.readouterr().out

        async def confirmed() -> bool:
            return await statuses(engine) == {"confirmed": 3}

        await wait_for(confirmed, what="replayed and delivered")
        assert await convhub("delivery", "x1", "--platform", "meta") == 0
        shown = capsys.readouterr().out
        assert "meta 1234567890  CONFIRMED  attempts 2" in shown
        assert shown.count("HTTP 500") == 1 and "HTTP 200" in shown
        assert await convhub("delivery", "nope", "--platform", "meta") == 1
        assert await convhub("dlq", "list", "--platform", "meta") == 0
        assert "no dead letters" in capsys.readouterr().out
