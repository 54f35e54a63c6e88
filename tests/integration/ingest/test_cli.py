"""The `convhub` command against a running ingest: token, health, send, status."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import jwt

from .conftest import SECRET, RunningIngest

CONVHUB = str(Path(sys.executable).parent / "convhub")


async def convhub(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        CONVHUB,
        *args,
        env={**os.environ, **env, "CONVHUB_STACK_FILE": "/nonexistent"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def stack_env(service: RunningIngest) -> dict[str, str]:
    return {
        "CONVHUB_JWT_SECRET": SECRET,
        "CONVHUB_INGEST_ADDR": f"127.0.0.1:{service.settings.grpc_port}",
    }


async def test_token_mints_a_scoped_jwt() -> None:
    code, out, _ = await convhub(
        "token", "--site", "shop-1", "--scope", "ingest", env={"CONVHUB_JWT_SECRET": SECRET}
    )
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"], audience="convhub-api")
    assert code == 0 and claims["sites"] == ["shop-1"] and claims["scopes"] == ["ingest"]
    assert claims["iss"] == "convhub"
    code, _, err = await convhub("token", env={"CONVHUB_JWT_SECRET": ""})
    assert code == 2 and "no JWT secret" in err


async def test_health_send_and_status(ingest_service: RunningIngest, tmp_path: Path) -> None:
    env = stack_env(ingest_service)
    code, out, _ = await convhub(
        "health", "--target", f"ingest={env['CONVHUB_INGEST_ADDR']}", env=env
    )
    assert code == 0 and "SERVING" in out

    code, out, _ = await convhub(
        "send",
        "--site",
        "shop-1",
        "--order-id",
        "cli-1",
        "--value",
        "10.00",
        "--currency",
        "EUR",
        "--email",
        "cli.person@example.org",
        "--wait",
        "0",  # no router here to wait for
        env=env,
    )
    assert code == 0, out
    line = out.strip().split("\t")
    assert line[:2] == ["shop-1/cli-1", "ACCEPTED"]

    code, out, _ = await convhub("status", line[2], "--json", env=env)
    shown = json.loads(out)
    assert code == 0 and shown["conversion"]["order_id"] == "cli-1"
    assert "cli.person@example.org" not in out  # hashed identifiers only

    jsonl = tmp_path / "conversions.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                {
                    "siteId": "shop-1",
                    "orderId": "cli-2",
                    "eventType": "lead",
                    "eventTime": "2026-01-01T00:00:00Z",
                },
                {
                    "siteId": "shop-1",
                    "orderId": "cli-1",
                    "eventType": "purchase",
                    "value": "10.00",
                    "currency": "EUR",
                    "eventTime": "2030-01-01T00:00:00Z",
                },
            ]
        )
    )
    code, out, _ = await convhub("send", "--file", str(jsonl), env=env)
    statuses = [row.split("\t")[1] for row in out.strip().splitlines()]
    assert statuses == ["REJECTED", "REJECTED"] and code == 1  # too old; in the future


async def test_service_without_required_config_stops_naming_the_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVHUB_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingest.main", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "missing required environment variable CONVHUB_DATABASE_URL" in err.decode()
    assert "Traceback" not in err.decode()
    # With everything but a JWT secret it refuses to start too (fail closed).
    env |= {"CONVHUB_DATABASE_URL": "postgresql://127.0.0.1:1/x", "CONVHUB_NATS_URL": "nats://x"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ingest.main", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2 and "no JWT secret configured" in err.decode()
