"""dispatch-google settings: the shared dispatcher settings plus Google's endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubkit.config import env
from hubkit.dispatch.config import DispatchSettings
from hubkit.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Settings(DispatchSettings):
    service_name: str = field(default="dispatch-google", metadata=env("OTEL_SERVICE_NAME"))
    db_schema: str = "dispatch_google"
    google_data_manager_url: str = "https://datamanager.googleapis.com"
    google_oauth_url: str = "https://oauth2.googleapis.com/token"
    google_ads_url: str = "https://googleads.googleapis.com"
    google_ads_api_version: str = "v26"
    # First ask for a Data Manager request's status this long after it was accepted (Google
    # advises 30 minutes), then back off.
    google_status_delay_seconds: float = 1800.0
    # This replica's share of each Cloud project's Data Manager quota (300/min per project):
    # with N replicas, 300 / N.
    google_project_requests_per_minute: float = 300.0

    def __post_init__(self) -> None:
        for name in ("google_data_manager_url", "google_oauth_url", "google_ads_url"):
            if not getattr(self, name).startswith(("http://", "https://")):
                raise ConfigError(f"CONVHUB_{name.upper()}: expected an http(s) URL")
        if not self.google_ads_api_version.startswith("v"):
            raise ConfigError("CONVHUB_GOOGLE_ADS_API_VERSION: expected e.g. v26")
        if self.google_status_delay_seconds < 0:
            raise ConfigError("CONVHUB_GOOGLE_STATUS_DELAY_SECONDS: must not be negative")
        if self.google_project_requests_per_minute <= 0:
            raise ConfigError("CONVHUB_GOOGLE_PROJECT_REQUESTS_PER_MINUTE: must be positive")


@dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    """What `python -m dispatch_google.migrate` needs (a Kubernetes Job has nothing else)."""

    database_url: str
    db_schema: str = "dispatch_google"
