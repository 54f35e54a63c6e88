"""`python -m router.migrate`: bring the router schema and its sGTM dispatcher's ledger to head
(the k8s Job, `make run`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hubkit.config import load
from hubkit.db.migrations import upgrade
from hubkit.dispatch import migrations as ledger
from router.adapters.orm import SCHEMA, SGTM_SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MigrateSettings:
    database_url: str


def migrate(database_url: str) -> None:
    # The ledger first: router revision 0002 moves the old forwarder's pending rows into it.
    ledger.upgrade(database_url, SGTM_SCHEMA)
    upgrade(database_url, MIGRATIONS, SCHEMA)


def main() -> None:
    migrate(load(MigrateSettings).database_url)


if __name__ == "__main__":
    main()
