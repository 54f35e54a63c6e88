"""`python -m ingest.migrate`: bring the ingest schema to head (the k8s Job, `make run`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import load
from hubkit.db.migrations import upgrade
from ingest.adapters.orm import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    database_url: str


def main() -> None:
    settings = load(MigrateSettings)
    upgrade(settings.database_url, MIGRATIONS, SCHEMA)


if __name__ == "__main__":
    main()
