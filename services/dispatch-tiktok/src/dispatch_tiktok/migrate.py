"""`python -m dispatch_tiktok.migrate`: bring the dispatch_tiktok schema (the ledger) to head."""

from __future__ import annotations

import sys

from dispatch_tiktok.config import MigrateSettings
from hubkit.config import load
from hubkit.dispatch.migrations import upgrade
from hubkit.errors import ConfigError


def main() -> None:
    try:
        settings = load(MigrateSettings)
    except ConfigError as exc:
        print(f"dispatch-tiktok migrate: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    upgrade(settings.database_url, settings.db_schema)


if __name__ == "__main__":
    main()
