"""convhub dispatcher for the TikTok Events API (v1.3 event/track) on hubkit.dispatch."""
