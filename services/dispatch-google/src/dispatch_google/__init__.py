"""convhub dispatcher for Google (Data Manager events:ingest, Ads API) on hubkit.dispatch."""
