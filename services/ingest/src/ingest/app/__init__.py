"""Ingest use cases, on the ports of ingest.ports."""
