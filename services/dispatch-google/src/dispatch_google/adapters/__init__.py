"""Data Manager and Google Ads API clients (the OAuth grant and credentials files are the
kit's: hubkit.dispatch.google_oauth, hubkit.dispatch.google_credentials)."""
