"""Attribution's settings, read once from the environment."""

from __future__ import annotations

import dataclasses

from hubkit.config import BaseSettings


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings(BaseSettings):
    service_name: str = dataclasses.field(
        default="attribution", metadata={"env": "OTEL_SERVICE_NAME"}
    )
