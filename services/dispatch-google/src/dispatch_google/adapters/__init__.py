"""Data Manager and Google Ads API clients, mapping and credentials."""
