"""convhub attribution service: touchpoints, journeys and multi-touch attribution of conversions."""
