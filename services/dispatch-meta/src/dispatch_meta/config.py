"""dispatch-meta settings: the shared dispatcher settings plus the Graph API endpoint."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hubkit.config import env
from hubkit.dispatch.config import DispatchSettings
from hubkit.errors import ConfigError

_VERSION = re.compile(r"^v\d+\.\d+$")


@dataclass(frozen=True, kw_only=True)
class Settings(DispatchSettings):
    service_name: str = field(default="dispatch-meta", metadata=env("OTEL_SERVICE_NAME"))
    db_schema: str = "dispatch_meta"
    meta_graph_url: str = "https://graph.facebook.com"
    meta_api_version: str = "v27.0"  # v25.0 expires 2027-02-23 (docs/platforms.md §1.1)
    meta_partner_agent: str = "convhub"

    def __post_init__(self) -> None:
        if not _VERSION.match(self.meta_api_version):
            raise ConfigError("CONVHUB_META_API_VERSION: expected a Graph version like v27.0")
        if not self.meta_graph_url.startswith(("http://", "https://")):
            raise ConfigError("CONVHUB_META_GRAPH_URL: expected an http(s) URL")


@dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    """What `python -m dispatch_meta.migrate` needs (a Kubernetes Job has nothing else)."""

    database_url: str
    db_schema: str = "dispatch_meta"
