"""Meta's rules as pure functions: event names, limits, fbc, error classification."""
