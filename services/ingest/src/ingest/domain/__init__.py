"""Pure ingest rules: validation, consent, hashing, dedupe keys. Stdlib, hubkit.pii and
hubkit.vocabulary only."""
