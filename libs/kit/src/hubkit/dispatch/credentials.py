"""Platform credentials from CONVHUB_CREDENTIALS_DIR: one file per reference (a Secret volume)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubkit.dispatch.model import ErrorClass, PlatformError

# A reference is a plain file name: never a path, never hidden (Secret volumes keep ..data there).
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class CredentialsMissing(Exception):
    """The reference is unusable; `.error` is the CONFIG error to fail the events with."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = PlatformError(ErrorClass.CONFIG, "CREDENTIALS", message)


@dataclass(frozen=True)
class _Cached:
    mtime_ns: int
    size: int
    text: str


class CredentialStore:
    """Reads a reference's file, re-reading it when it changes (Kubernetes rotates Secrets).

    Contents are never logged; errors name the reference only.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, _Cached] = {}

    def read(self, ref: str) -> str:
        if not ref:
            raise CredentialsMissing("no credentials reference configured for this destination")
        if not _REF.match(ref):
            raise CredentialsMissing(f"invalid credentials reference {ref!r}")
        path = self.directory / ref
        try:
            stat = path.stat()
            cached = self._cache.get(ref)
            if cached and (cached.mtime_ns, cached.size) == (stat.st_mtime_ns, stat.st_size):
                return cached.text
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise CredentialsMissing(f"credentials reference {ref!r} not found") from None
        except OSError as exc:
            raise CredentialsMissing(
                f"credentials reference {ref!r} unreadable: {exc.strerror}"
            ) from None
        if not text:
            raise CredentialsMissing(f"credentials reference {ref!r} is empty")
        self._cache[ref] = _Cached(stat.st_mtime_ns, stat.st_size, text)
        return text

    def read_json(self, ref: str) -> dict[str, Any]:
        """The reference as a JSON object; a bare string counts as {"access_token": <it>}."""
        text = self.read(ref)
        if not text.startswith("{"):
            return {"access_token": text}
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise CredentialsMissing(f"credentials reference {ref!r} is not valid JSON") from None
        if not isinstance(value, dict):
            raise CredentialsMissing(f"credentials reference {ref!r} is not a JSON object")
        return value
