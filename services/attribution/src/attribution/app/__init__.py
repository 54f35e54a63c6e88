"""Use cases of attribution."""
