"""TikTok Events API client, mapping and credentials."""
