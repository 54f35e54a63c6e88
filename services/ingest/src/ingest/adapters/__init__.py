"""Ingest adapters: gRPC, NATS, PostgreSQL, the site-policy KV watcher."""
