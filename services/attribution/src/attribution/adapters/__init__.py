"""Adapters of attribution: PostgreSQL, NATS, gRPC, the site settings mirror."""
