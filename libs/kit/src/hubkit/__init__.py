"""hubkit: the shared kit every convhub service stands on (config, gRPC, auth, bus, db, resilience, pii, telemetry)."""
