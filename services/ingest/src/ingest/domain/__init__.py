"""Pure ingest rules: validation, consent, hashing, dedupe keys. Stdlib and hubkit.pii only."""
