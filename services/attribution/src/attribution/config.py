"""Attribution's settings, read once from the environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import BaseSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings):
    service_name: str = dataclasses.field(
        default="attribution", metadata={"env": "OTEL_SERVICE_NAME"}
    )
    # Ingest's gRPC address: the reconciliation job compares its conversions with ours.
    ingest_address: str = "ingest:50051"
    # Where the export job writes its files (a volume, or a bucket mounted as one); empty: the
    # export job fails saying so.
    export_dir: str = ""
    # The jobs' watermarks stay this far behind now: a write in flight is never passed over.
    jobs_settle_seconds: float = 5.0
    # Spend sync: the ad platforms' reporting APIs (named as the dispatchers name them, so
    # `convhub up` points them at the simulators) and the credentials directory the
    # dispatchers read (the same files and references); unset: no spend sync.
    credentials_dir: Path | None = None
    google_ads_url: str = "https://googleads.googleapis.com"
    google_oauth_url: str = "https://oauth2.googleapis.com/token"
    google_ads_api_version: str = "v26"
    meta_graph_url: str = "https://graph.facebook.com"
    meta_api_version: str = "v27.0"
    tiktok_api_url: str = "https://business-api.tiktok.com"
    # Pacing of the reporting calls, per platform and replica (a token bucket each).
    google_spend_requests_per_second: float = 5.0
    meta_spend_requests_per_second: float = 2.0
    tiktok_spend_requests_per_second: float = 5.0
    # Each platform's circuit breaker: open after this many failures in a row, for this long.
    spend_breaker_failures: int = 5
    spend_breaker_open_seconds: float = 60.0
    spend_http_timeout_seconds: float = 30.0
    # Meta's usage headers at or above this percentage hold the next call for Meta's estimate
    # (else the pause); a hold longer than the wait limit is reported as unavailable instead.
    meta_usage_threshold_percent: float = 90.0
    meta_usage_pause_seconds: float = 60.0
    meta_usage_max_wait_seconds: float = 300.0
