"""`python -m dispatch_google.migrate`: bring the dispatch_google schema (the ledger) to head."""

from __future__ import annotations

from dispatch_google.config import MigrateSettings
from hubkit.dispatch.migrations import main

if __name__ == "__main__":
    main(MigrateSettings)
