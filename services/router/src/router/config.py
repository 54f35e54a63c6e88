"""Router settings, read once from CONVHUB_* variables (see README.md for each one)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import BaseSettings, env
from hubkit.dispatch.config import DispatchKnobs
from hubkit.dispatch.policy import DispatchPolicy
from hubkit.errors import ConfigError

# A container is the site's own server: modest rates, a few requests in flight per host.
SGTM_POLICY = DispatchPolicy(
    batch_size=100,
    linger=0.1,
    requests_per_second=50,
    burst=50,
    max_in_flight_per_account=4,
    split_on_rejection=False,  # a container's 4xx is about the whole body; it names no event
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings, DispatchKnobs):
    """The router's own settings, plus the sGTM dispatcher's CONVHUB_DISPATCH_* knobs (the same
    names every dispatcher reads) and CONVHUB_HTTP_TIMEOUT_SECONDS for the container calls."""

    service_name: str = dataclasses.field(default="router", metadata=env("OTEL_SERVICE_NAME"))
    # One file per credentials reference (a Kubernetes Secret volume).
    credentials_dir: Path | None = None
    consumer_concurrency: int = 8
    consumer_fetch_batch: int = 16
    # Unacknowledged messages of a crashed router are redelivered after this long.
    consumer_ack_wait_seconds: float = 30.0
    # Messages of convhub.dispatch.sgtm.> handled at once by the sGTM dispatcher's intake.
    sgtm_consumer_concurrency: int = 4
    # Plain http:// sGTM URLs for non-loopback hosts (in-cluster containers); https otherwise.
    sgtm_allow_http: bool = False
    release_interval_seconds: float = 5.0
    mirror_interval_seconds: float = 10.0
    mirror_resync_seconds: float = 300.0
    # Routed decisions are kept this long (0: forever). Must outlast the conversions stream
    # (7 days) so a redelivery always finds its decision.
    retention_days: int = 30

    def __post_init__(self) -> None:
        positive = {
            "CONVHUB_HTTP_TIMEOUT_SECONDS": self.http_timeout_seconds,
            "CONVHUB_SGTM_CONSUMER_CONCURRENCY": self.sgtm_consumer_concurrency,
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
        self.sgtm_policy()  # refuses unusable CONVHUB_DISPATCH_* values at start

    def sgtm_policy(self) -> DispatchPolicy:
        return self.policy(SGTM_POLICY)
