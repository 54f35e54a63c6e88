"""Settings every dispatcher reads (CONVHUB_DISPATCH_*), and the policy they produce over the
destination's defaults. The router's sGTM dispatcher reads the same names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hubkit.config import BaseSettings
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class DispatchKnobs:
    """The CONVHUB_DISPATCH_* policy overrides (and the platform HTTP timeout) of any process
    hosting a dispatcher; unset fields keep the destination's default."""

    http_timeout_seconds: float = 15.0
    dispatch_batch_size: int | None = None
    dispatch_linger_seconds: float | None = None
    dispatch_retry_schedule: str | None = None  # "1,2,4,8,16"
    dispatch_retry_jitter: float | None = None
    dispatch_retry_horizon_seconds: float | None = None
    dispatch_breaker_failures: int | None = None
    dispatch_breaker_open_seconds: float | None = None
    dispatch_requests_per_second: float | None = None
    dispatch_burst: int | None = None
    dispatch_max_in_flight: int | None = None
    dispatch_lease_seconds: float | None = None
    dispatch_drain_seconds: float | None = None
    dispatch_resync_seconds: float | None = None

    def policy(self, defaults: DispatchPolicy, hard_max_batch: int | None = None) -> DispatchPolicy:
        """The platform's policy with this environment's overrides; ConfigError if unusable."""
        schedule = None
        if self.dispatch_retry_schedule is not None:
            try:
                schedule = tuple(
                    float(p) for p in self.dispatch_retry_schedule.split(",") if p.strip()
                )
            except ValueError:
                raise ConfigError(
                    "CONVHUB_DISPATCH_RETRY_SCHEDULE: expected comma-separated seconds"
                ) from None
        size = self.dispatch_batch_size
        if size is not None and hard_max_batch is not None and size > hard_max_batch:
            raise ConfigError(
                f"CONVHUB_DISPATCH_BATCH_SIZE: the platform takes at most {hard_max_batch}"
            )
        try:
            return defaults.with_overrides(
                batch_size=size,
                linger=self.dispatch_linger_seconds,
                retry_schedule=schedule,
                retry_jitter=self.dispatch_retry_jitter,
                retry_horizon=self.dispatch_retry_horizon_seconds,
                breaker_failures=self.dispatch_breaker_failures,
                breaker_open_seconds=self.dispatch_breaker_open_seconds,
                requests_per_second=self.dispatch_requests_per_second,
                burst=self.dispatch_burst,
                max_in_flight_per_account=self.dispatch_max_in_flight,
                lease_seconds=self.dispatch_lease_seconds,
                drain_seconds=self.dispatch_drain_seconds,
                resync_seconds=self.dispatch_resync_seconds,
            )
        except ValueError as exc:
            raise ConfigError(f"dispatch policy: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class DispatchSettings(BaseSettings, DispatchKnobs):
    """CONVHUB_* variables of a dispatcher service."""

    credentials_dir: Path
    db_schema: str
    consumer_concurrency: int = 4
