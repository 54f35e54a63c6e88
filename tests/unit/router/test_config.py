"""Router settings from the environment: defaults, the sGTM dispatcher's policy, refusals."""

from __future__ import annotations

import pytest

from hubkit.config import load
from hubkit.errors import ConfigError
from router.config import SGTM_POLICY, Settings

REQUIRED = {"CONVHUB_DATABASE_URL": "postgresql://db/x", "CONVHUB_NATS_URL": "nats://n:4222"}


def test_defaults_and_the_sgtm_dispatchers_policy_under_the_common_names() -> None:
    settings = load(
        Settings,
        REQUIRED
        | {
            "CONVHUB_DISPATCH_RETRY_SCHEDULE": "0.5, 1,2",
            "CONVHUB_DISPATCH_RETRY_HORIZON_SECONDS": "600",
        },
    )
    policy = settings.sgtm_policy()
    assert (policy.retry_schedule, policy.retry_horizon) == ((0.5, 1.0, 2.0), 600.0)
    assert settings.service_name == "router" and settings.retention_days == 30
    assert load(Settings, REQUIRED).sgtm_policy() == SGTM_POLICY


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONVHUB_DISPATCH_RETRY_SCHEDULE", "1,soon", "CONVHUB_DISPATCH_RETRY_SCHEDULE"),
        ("CONVHUB_DISPATCH_RETRY_SCHEDULE", "-1", "retry_schedule"),
        ("CONVHUB_DISPATCH_MAX_IN_FLIGHT", "0", "max_in_flight"),
        ("CONVHUB_RETENTION_DAYS", "3", "CONVHUB_RETENTION_DAYS"),
        ("CONVHUB_HTTP_TIMEOUT_SECONDS", "0", "must be positive"),
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
