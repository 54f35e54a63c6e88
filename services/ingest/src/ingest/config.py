"""Ingest's settings, read once from the environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import BaseSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings):
    service_name: str = dataclasses.field(default="ingest", metadata={"env": "OTEL_SERVICE_NAME"})
    max_batch: int = 1000
    max_event_age_days: int = 90
    future_skew_seconds: int = 300
    site_rate_per_second: float = 20000.0
    caller_rate_per_second: float = 50000.0
    inbound_concurrency: int = 8
    # Webhooks from shops and CRMs (POST /webhooks/<source>/<site_id>). 0 picks a free port
    # (logged): the Kubernetes manifests and `convhub up` set one.
    webhook_port: int = 0
    webhook_max_body_bytes: int = 2 * 1024 * 1024
    # The URL the platforms call (scheme and host before /webhooks/...), when a proxy or ingress
    # stands between: HubSpot signs it. Empty: the URL as ingest sees it.
    webhook_public_url: str = ""
    # Webhook secrets and the HubSpot token, one file per credentials reference.
    credentials_dir: Path | None = None
    hubspot_api_url: str = "https://api.hubapi.com"
    hubspot_requests_per_second: float = 4.0
    # Deals read by the first HubSpot sync of a site (later ones start at the watermark).
    hubspot_first_sync_days: int = 30
