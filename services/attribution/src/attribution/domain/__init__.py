"""The pure attribution core: journeys, rule-based credit and data-driven models (stdlib + numpy,
no I/O, no clock: every time is passed in)."""
