"""dispatch-tiktok settings: the shared dispatcher settings plus the Business API endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubkit.config import env
from hubkit.dispatch.config import DispatchSettings
from hubkit.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Settings(DispatchSettings):
    service_name: str = field(default="dispatch-tiktok", metadata=env("OTEL_SERVICE_NAME"))
    db_schema: str = "dispatch_tiktok"
    tiktok_api_url: str = "https://business-api.tiktok.com"
    tiktok_partner_name: str = ""

    def __post_init__(self) -> None:
        if not self.tiktok_api_url.startswith(("http://", "https://")):
            raise ConfigError("CONVHUB_TIKTOK_API_URL: expected an http(s) URL")


@dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    """What `python -m dispatch_tiktok.migrate` needs (a Kubernetes Job has nothing else)."""

    database_url: str
    db_schema: str = "dispatch_tiktok"
