"""Adapters of the router: gRPC, NATS, PostgreSQL, the JetStream KV mirror, HTTP to sGTM."""
