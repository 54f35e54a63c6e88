"""`python -m attribution.migrate`: bring the attribution schema to head (the k8s Job)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from attribution.adapters.orm import SCHEMA
from hubkit.config import load
from hubkit.db.migrations import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    database_url: str


def main() -> None:
    upgrade(load(MigrateSettings).database_url, MIGRATIONS, SCHEMA)


if __name__ == "__main__":
    main()
