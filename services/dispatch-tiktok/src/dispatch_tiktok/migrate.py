"""`python -m dispatch_tiktok.migrate`: bring the dispatch_tiktok schema (the ledger) to head."""

from __future__ import annotations

from dispatch_tiktok.config import MigrateSettings
from hubkit.dispatch.migrations import main

if __name__ == "__main__":
    main(MigrateSettings)
