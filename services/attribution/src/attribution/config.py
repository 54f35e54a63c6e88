"""Attribution's settings, read once from the environment."""

from __future__ import annotations

import dataclasses

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
