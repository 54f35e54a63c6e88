"""Ingest's settings, read once from the environment."""

from __future__ import annotations

import dataclasses

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
