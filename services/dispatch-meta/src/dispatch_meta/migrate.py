"""`python -m dispatch_meta.migrate`: bring the dispatch_meta schema (the ledger) to head."""

from __future__ import annotations

from dispatch_meta.config import MigrateSettings
from hubkit.dispatch.migrations import main

if __name__ == "__main__":
    main(MigrateSettings)
