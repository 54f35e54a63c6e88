"""Settings from the environment: typed, validated once, failing fast with the variable's name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hubkit.config import BaseSettings, env, load
from hubkit.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings):
    batch_size: int = 500
    linger_seconds: float = 0.05
    meta_graph_url: str = "https://graph.facebook.com"
    credentials_dir: Path | None = None
    sites: tuple[str, ...] = ()
    api_key: str = dataclasses.field(default="", metadata=env("PLATFORM_API_KEY"))


REQUIRED = {"CONVHUB_DATABASE_URL": "postgresql://x/y", "CONVHUB_NATS_URL": "nats://n:4222"}


def test_defaults_and_types() -> None:
    s = load(
        Settings,
        {
            **REQUIRED,
            "CONVHUB_BATCH_SIZE": "1000",
            "CONVHUB_DEV_NO_AUTH": "true",
            "CONVHUB_CREDENTIALS_DIR": "/secrets",
            "CONVHUB_SITES": "a, b,",
            "OTEL_SERVICE_NAME": "dispatch-meta",
            "PLATFORM_API_KEY": "k",
        },
    )
    assert s.batch_size == 1000 and s.linger_seconds == 0.05 and s.dev_no_auth is True
    assert s.credentials_dir == Path("/secrets") and s.sites == ("a", "b")
    assert s.service_name == "dispatch-meta" and s.api_key == "k" and s.grpc_port == 50051


def test_missing_required_variables_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        load(Settings, {"CONVHUB_NATS_URL": "nats://n"})
    assert "missing required environment variable CONVHUB_DATABASE_URL" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load(Settings, {})
    assert "CONVHUB_DATABASE_URL" in str(err.value) and "CONVHUB_NATS_URL" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CONVHUB_GRPC_PORT", "http", "CONVHUB_GRPC_PORT: expected an integer"),
        ("CONVHUB_LINGER_SECONDS", "soon", "CONVHUB_LINGER_SECONDS: expected a number"),
        ("CONVHUB_DEV_NO_AUTH", "maybe", "CONVHUB_DEV_NO_AUTH: expected a boolean"),
    ],
)
def test_bad_values_are_named(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load(Settings, {**REQUIRED, name: value})
