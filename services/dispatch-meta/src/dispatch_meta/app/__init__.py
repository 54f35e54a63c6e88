"""The Meta platform adapter of the dispatch machinery."""
