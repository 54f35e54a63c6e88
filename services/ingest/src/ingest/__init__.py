"""convhub ingest: the front door that accepts, dedupes, protects and persists conversions."""
