"""Credentials by reference: one file per reference in CONVHUB_CREDENTIALS_DIR (a Secret volume)."""

from __future__ import annotations

import time
from pathlib import Path


class MissingCredentials(Exception):
    """The reference names no readable file. The message names the reference, never a value."""


class CredentialsDirectory:
    """Reads `<dir>/<reference>`, trimmed; cached briefly so rotated Secrets are picked up."""

    def __init__(self, directory: Path | None, ttl: float = 60.0) -> None:
        self._dir = directory
        self._ttl = ttl
        self._cache: dict[str, tuple[float, str]] = {}

    def read(self, reference: str) -> str:
        cached = self._cache.get(reference)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        value = self._load(reference)
        self._cache[reference] = (now, value)
        return value

    def _load(self, reference: str) -> str:
        if self._dir is None:
            raise MissingCredentials(
                f"credentials reference '{reference}': CONVHUB_CREDENTIALS_DIR is not set"
            )
        # References are validated file names; refuse anything that could leave the directory.
        if "/" in reference or reference in ("", ".", ".."):
            raise MissingCredentials(f"credentials reference '{reference}' is not a file name")
        try:
            value = (self._dir / reference).read_text(encoding="utf-8").strip()
        except OSError:
            raise MissingCredentials(
                f"credentials reference '{reference}' not found in the credentials directory"
            ) from None
        if not value:
            raise MissingCredentials(f"credentials reference '{reference}' is empty")
        return value
