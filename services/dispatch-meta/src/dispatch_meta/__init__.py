"""dispatch-meta: delivers convhub conversions to the Meta Conversions API."""
