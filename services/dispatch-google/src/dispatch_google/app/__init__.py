"""The PlatformAdapter the dispatch engine drives."""
