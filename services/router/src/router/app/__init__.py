"""Use cases of the router, written against its ports."""
