"""Router settings from the environment: defaults, the retry schedule, refused combinations."""

from __future__ import annotations

import pytest

from hubkit.config import load
from hubkit.errors import ConfigError
from router.config import Settings

REQUIRED = {"CONVHUB_DATABASE_URL": "postgresql://db/x", "CONVHUB_NATS_URL": "nats://n:4222"}


def test_defaults_and_schedule() -> None:
    settings = load(Settings, REQUIRED | {"CONVHUB_SGTM_RETRY_SCHEDULE": "0.5, 1,2"})
    assert settings.retry_schedule == (0.5, 1.0, 2.0)
    assert settings.service_name == "router" and settings.retention_days == 30
    assert load(Settings, REQUIRED).retry_schedule == (1, 2, 4, 8, 16)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONVHUB_SGTM_RETRY_SCHEDULE", "1,soon", "CONVHUB_SGTM_RETRY_SCHEDULE"),
        ("CONVHUB_SGTM_RETRY_SCHEDULE", "-1", "CONVHUB_SGTM_RETRY_SCHEDULE"),
        ("CONVHUB_SGTM_LEASE_SECONDS", "5", "must exceed CONVHUB_SGTM_HTTP_TIMEOUT"),
        ("CONVHUB_RETENTION_DAYS", "3", "CONVHUB_RETENTION_DAYS"),
        ("CONVHUB_SGTM_MAX_IN_FLIGHT_PER_HOST", "0", "must be positive"),
    ],
)
def test_unusable_values_stop_the_service_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(Settings, REQUIRED | {variable: value})


def test_missing_required_variables_are_named() -> None:
    with pytest.raises(ConfigError, match="CONVHUB_DATABASE_URL"):
        load(Settings, {"CONVHUB_NATS_URL": "nats://n"})
