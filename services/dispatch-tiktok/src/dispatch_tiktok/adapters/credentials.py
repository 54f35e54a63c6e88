"""TikTok access tokens from the credentials directory: {"access_token": "..."} or the token."""

from __future__ import annotations

from hubkit.dispatch.credentials import CredentialsMissing, CredentialStore


class TikTokCredentialFiles:
    """Long-lived per-pixel tokens (Events Manager issues them); re-read when a Secret rotates."""

    def __init__(self, store: CredentialStore) -> None:
        self._store = store

    def access_token(self, ref: str) -> str:
        token = self._store.read_json(ref).get("access_token")
        if not isinstance(token, str) or not token.strip():
            raise CredentialsMissing(f"credentials reference {ref!r} has no access_token")
        return token.strip()
