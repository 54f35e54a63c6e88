"""hubkit: the shared kit every convhub service stands on.

config, service runtime, gRPC (grpcx), auth, bus, db, resilience, pii, telemetry, embedded servers.
"""
