"""Router settings, read once from CONVHUB_* variables (see README.md for each one)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import BaseSettings, env
from hubkit.errors import ConfigError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings):
    service_name: str = dataclasses.field(default="router", metadata=env("OTEL_SERVICE_NAME"))
    # One file per credentials reference (a Kubernetes Secret volume).
    credentials_dir: Path | None = None
    consumer_concurrency: int = 8
    consumer_fetch_batch: int = 16
    # Unacknowledged messages of a crashed router are redelivered after this long.
    consumer_ack_wait_seconds: float = 30.0
    # Seconds between attempts after each retryable failure; its length is the retry budget.
    sgtm_retry_schedule: tuple[str, ...] = ("1", "2", "4", "8", "16")
    sgtm_http_timeout: float = 10.0
    sgtm_breaker_failures: int = 5
    sgtm_breaker_reset_seconds: float = 60.0
    sgtm_max_in_flight_per_host: int = 4
    sgtm_claim_limit: int = 500
    sgtm_lease_seconds: float = 30.0
    sgtm_poll_interval: float = 1.0
    # Plain http:// sGTM URLs for non-loopback hosts (in-cluster containers); https otherwise.
    sgtm_allow_http: bool = False
    release_interval_seconds: float = 5.0
    mirror_interval_seconds: float = 10.0
    mirror_resync_seconds: float = 300.0
    # Routed decisions and settled sGTM deliveries are kept this long (0: forever). Must outlast
    # the conversions stream (7 days) so a redelivery always finds its decision.
    retention_days: int = 30

    def __post_init__(self) -> None:
        try:
            schedule = self.retry_schedule
        except ValueError:
            raise ConfigError(
                "CONVHUB_SGTM_RETRY_SCHEDULE: expected comma-separated seconds, e.g. 1,2,4,8,16"
            ) from None
        if not schedule or any(d < 0 for d in schedule):
            raise ConfigError("CONVHUB_SGTM_RETRY_SCHEDULE: needs at least one delay, none < 0")
        positive = {
            "CONVHUB_SGTM_HTTP_TIMEOUT": self.sgtm_http_timeout,
            "CONVHUB_SGTM_LEASE_SECONDS": self.sgtm_lease_seconds,
            "CONVHUB_SGTM_MAX_IN_FLIGHT_PER_HOST": self.sgtm_max_in_flight_per_host,
            "CONVHUB_SGTM_CLAIM_LIMIT": self.sgtm_claim_limit,
            "CONVHUB_SGTM_BREAKER_FAILURES": self.sgtm_breaker_failures,
            "CONVHUB_CONSUMER_CONCURRENCY": self.consumer_concurrency,
            "CONVHUB_CONSUMER_ACK_WAIT_SECONDS": self.consumer_ack_wait_seconds,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"{name}: must be positive")
        if 0 < self.retention_days < 8:
            raise ConfigError(
                "CONVHUB_RETENTION_DAYS must be 0 (forever) or at least 8: decisions must outlast "
                "the 7 days a conversion can be redelivered"
            )
        if self.sgtm_lease_seconds <= self.sgtm_http_timeout:
            raise ConfigError(
                "CONVHUB_SGTM_LEASE_SECONDS must exceed CONVHUB_SGTM_HTTP_TIMEOUT: a lease must "
                "outlive the request it covers"
            )

    @property
    def retry_schedule(self) -> tuple[float, ...]:
        return tuple(float(d) for d in self.sgtm_retry_schedule)
